"""Studio v2 in real Chromium (issue 18's benchmarks), used by ``studio_bench.py``:

- the experiment page usable: navigation start to the runs table rendered with its
  script running (goal <= 2 s), 1,000 runs x 20 metrics;
- a 50-series overlay drawn: ``/compare`` with 50 runs on one metric, navigation to every
  series on the canvas, and the draw alone (goal <= 500 ms);
- ``run.log`` -> pixel: an SDK run (``Experiment.start_logging``) logs while its page is
  open; from the call to the frame after the point reached the chart (goal p95 <= 1 s).

The store is filled with ``Store.append_metrics`` (bulk), not ``run.log``, so it builds in
minutes; the 50 overlaid runs carry ``--overlay-steps`` points on their metric.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

from runyard.entities import MetricColumns, RunKind, RunStatus
from runyard.store.base import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
BATCH = 200_000


@dataclass(frozen=True)
class Sizes:
    runs: int = 1_000
    metrics: int = 20
    steps: int = 1_000  # per metric of every run
    overlay_steps: int = 100_000  # the 50 overlaid runs' first metric
    samples: int = 30  # run.log -> pixel measurements
    overlay_runs: int = 50
    repeats: int = 5  # page loads per figure


def populate(store: Store, sizes: Sizes) -> tuple[str, list[str]]:
    """The experiment (its id) and the ids of the runs to overlay."""
    exp = store.get_or_create_experiment("bench-studio-v2")
    now = time.time()
    steps = list(range(sizes.steps))
    stamps = [now + s for s in steps]
    overlay: list[str] = []
    t0 = time.perf_counter()
    points = 0
    for i in range(sizes.runs):
        run = store.create_run(
            exp.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.RUNNING,
            tags={"model": ("cnn", "mlp", "rnn")[i % 3]},
            definition={"script": "train.py", "arguments": ["--lr", str(10 ** -(1 + i % 4))]},
        )
        columns = []
        for m in range(sizes.metrics):
            scale = 1.0 + (i % 17) / 17 + m
            values = [scale * math.exp(-s / 300) + 0.01 * math.sin(s + i) for s in steps]
            columns.append(MetricColumns(f"m{m:02d}", "float", steps, stamps, values))
        store.append_metrics(run.run_id, columns)
        points += sizes.metrics * sizes.steps
        if i < sizes.overlay_runs:
            overlay.append(run.run_id)
            for start in range(sizes.steps, sizes.overlay_steps, BATCH):
                big = list(range(start, min(start + BATCH, sizes.overlay_steps)))
                values = [math.exp(-s / 30_000) + 0.05 * math.sin(s * 0.01 + i) for s in big]
                store.append_metrics(
                    run.run_id, [MetricColumns("m00", "float", big, [now + s for s in big], values)]
                )
                points += len(big)
        store.set_status(run.run_id, RunStatus.COMPLETED)
    print(
        f"  populated {sizes.runs} runs x {sizes.metrics} metrics x {sizes.steps} steps "
        f"(+ {sizes.overlay_runs} runs with {sizes.overlay_steps} steps of m00): "
        f"{points:,} points in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return exp.experiment_id, overlay


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(url: str, experiment_id: str, overlay: list[str], ws: Any, sizes: Sizes) -> None:
    """Prints each figure beside its goal."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.set_default_timeout(120_000)

        usable = []
        for _ in range(sizes.repeats):
            page.goto(f"{url}/experiments/{experiment_id}", wait_until="commit")
            page.wait_for_function(
                "() => window.runyard && window.runyard.refreshes === 0 && "
                "document.querySelectorAll('#runs tbody tr[data-run-id]').length > 0"
            )
            usable.append(page.evaluate("() => performance.now()") / 1000)
        report("experiment page usable (navigation -> table + script)", usable, 2.0, "s")

        compare = f"{url}/compare?runs={','.join(overlay)}&metrics=m00"
        drawn = []
        for _ in range(sizes.repeats):
            page.goto(compare, wait_until="commit")
            page.wait_for_function("() => window.runyard && window.runyard.ready === true")
            drawn.append(page.evaluate("() => performance.now()") / 1000)
        held = page.get_attribute('#charts [data-key="m00"]', "data-points")
        report(
            f"{len(overlay)}-series overlay, navigation -> drawn ({held} points)", drawn, 0.5, "s"
        )
        draw_only = [
            page.evaluate(
                """async () => {
                  const c = window.runyard.charts[0];
                  const t = performance.now();
                  c.shape = "";  // a new uPlot, as on first draw
                  c.setSeries(c.base);
                  await new Promise(requestAnimationFrame);
                  return performance.now() - t;
                }"""
            )
            / 1000
            for _ in range(sizes.repeats + 2)
        ]
        report(
            f"{len(overlay)}-series overlay, the draw alone (to the next frame)",
            draw_only,
            0.5,
            "s",
        )

        from runyard.core import Experiment

        run = Experiment(ws, "bench-live").start_logging(display_name="live")
        run.log("live", 0.0)
        run.flush()
        page.goto(f"{url}/runs/{run.id}#metrics")
        page.wait_for_function("() => window.runyard.streaming === true")
        page.wait_for_selector('#charts [data-key="live"][data-points="1"]')
        page.evaluate(
            """() => {
              window.__seen = {};
              const box = document.querySelector('#charts [data-key="live"]');
              new MutationObserver(() => {
                const n = Number(box.dataset.points);
                requestAnimationFrame(() => { window.__seen[n] ??= Date.now() / 1000; });
              }).observe(box, { attributes: true, attributeFilter: ["data-points"] });
            }"""
        )
        lags = []
        for i in range(1, sizes.samples + 1):
            t = time.time()
            run.log("live", float(i))
            page.wait_for_function(f"() => window.__seen[{i + 1}] !== undefined")
            lags.append(page.evaluate(f"() => window.__seen[{i + 1}]") - t)
            time.sleep(0.05 + (i % 5) * 0.03)  # not in step with the server's ticks
        run.complete()
        report("run.log -> pixel on an open chart", lags, 1.0, "s", p95=True)
        browser.close()


def report(label: str, values: list[float], goal: float, unit: str, *, p95: bool = False) -> None:
    if p95:
        figure, name = pct(values, 95), "p95"
    else:
        figure, name = statistics.median(values), "median"
    verdict = "met" if figure <= goal else "NOT met"
    print(
        f"{label}: {name} {figure:.3f} {unit}, best {min(values):.3f}, worst {max(values):.3f} "
        f"({len(values)} samples); goal <= {goal} {unit}: {verdict}",
        flush=True,
    )
