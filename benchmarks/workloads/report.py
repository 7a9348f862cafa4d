"""Writes ``docs/benchmarks.md`` and its charts from a :class:`Results`."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.workloads import charts, goals
from benchmarks.workloads.config import LABELS, RUNYARD
from benchmarks.workloads.results import BY_KEY, MEASURES, Cell, Measure, Results

SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "logging",
        "1. Logging",
        """\
{metrics} metrics × {steps:,} steps in one run. *One call per value*: `run.log(name, v)` /
`mlflow.log_metric` / `wandb.log({{name: v}}, step=i)` / `aim_run.track(v, name=...)` /
tensorboardX's `writer.add_scalar(name, v, global_step=i)`. *Batched*: one call per step with
the {metrics} values (`mlflow.log_metrics`, `wandb.log(dict)`, `run.track(dict)`; TensorBoard
has none that keeps one event file, so its batched row is the per-call loop again). Runyard
has no batch API: its per-call path writes into an mmap'd journal and is already the fast
one, so its batched row repeats the per-call number. Timed from the
first call to the last one's return; *finish* is the run's end call after it (Runyard:
`run.complete()`, which hands what is left of the journal to the ingest thread and
returns, the next store call of the process waiting for it: see docs/architecture.md;
TensorBoard: `writer.close()`).""",
    ),
    (
        "read",
        "3. Reading a metric's full history",
        """\
A run holding a {short:,}-point and a {long:,}-point metric; each read in a fresh process,
after an untimed read of a one-point metric of the same run (opening the store and the first
query's set-up are not the read). Runyard: `run.get_metrics(key)` (SDK row) and
`store.get_metric_series(run_id, key)`; MLflow: `MlflowClient().get_metric_history`; Aim:
the run's metric `values.sparse_numpy()`; TensorBoard: `EventAccumulator(run_dir).Reload()`
then `Scalars(key)`. Offline W&B has no read API.""",
    ),
    (
        "runs",
        "4. Many runs",
        """\
{runs:,} runs, each with {params} parameters and 3 metrics (acc, loss, f1), created once per
tool through its SDK (Runyard: `start_logging()`, `set_tags`, `log` ×3, `complete()`; MLflow:
`create_run`, `log_batch`, `set_terminated`; W&B: `wandb.init(config=...)`, `log`, `finish`;
Aim: `Run()`, params, `track(dict)`, `close()`; TensorBoard: a `SummaryWriter` per run folder,
`add_hparams`, `add_scalar` ×3, `close()`). Then, in every repetition, the runs sorted by `acc`,
descending: Runyard `store.search_runs(RunQuery(sort="metric:acc", ...))`, MLflow
`search_runs(order_by=["metrics.acc DESC"])`, Aim `query_metrics` + a sort in Python,
TensorBoard every run folder's `acc` read by `EventAccumulator` + a sort in Python.""",
    ),
    (
        "startup",
        "5. Start-up",
        """\
*Fresh process*: from spawning the interpreter to the first logged value (the process prints
a line after it; the harness times the line's arrival), with the workspace / database /
repository made beforehand. *Submit*: a one-line script run on local compute, from spawning
the control process to the script's first output line. Runyard: a control script calling
`experiment.submit(ScriptRunConfig(...))` and polling `run.get_driver_log()`; MLflow:
`mlflow run SRC --env-manager local`.""",
    ),
    (
        "server",
        "6. The server",
        """\
The server of each tool on the store populated for workloads 3 and 4, on 127.0.0.1 and a
free port: `runyard studio`, `mlflow server --workers 1` (SQLite backend), `aim up`. *Start*
is spawn to the first 200 answer of an API route (`/api/experiments`,
`/api/2.0/mlflow/experiments/search`, `/api/projects/`); then each request, timed once per
repetition after one untimed request of the same kind (servers connect and import lazily),
the whole answer read.""",
    ),
)


def label_of(measure: Measure, sizes: dict[str, Any]) -> str:
    series = sizes.get("series", {})
    return measure.label.format(
        short=f"{series.get('short', 0):,}", long=f"{series.get('long', 0):,}"
    )


def _cell_text(cell: Cell | None, unit: str, foot: dict[str, int], tool: str) -> str:
    if cell is None:
        return "—"
    median = cell.median()
    if median is None:
        if not cell.note:
            return "—"
        head, _, why = cell.note.partition(": ")
        if not why:
            return head
        return f"{head} [{foot.setdefault(f'{LABELS[tool]}: {why}', len(foot) + 1)}]"
    remarks = [r for r in [cell.cap_text(), *cell.remarks] if r]
    marks = "".join(f" [{foot.setdefault(f'{LABELS[tool]}: {r}', len(foot) + 1)}]" for r in remarks)
    spread = ""
    if len(cell.samples) > 1:
        spread = f" ({charts.fmt(min(cell.samples))}–{charts.fmt(max(cell.samples))})"
    else:
        spread = " (1 run)"
    return f"{charts.fmt(median)} {unit}{spread}{marks}"


def _ratio_text(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs <= 0 or ours <= 0:
        return "—"
    ratio = ours / theirs
    if ratio < 1:
        return f"{_plain(ratio)} (Runyard {_times(theirs / ours)} faster)"
    return f"{_plain(ratio)} (**Runyard {_times(ratio)} slower**)"


def _plain(x: float) -> str:
    """Two significant digits, never in e-notation: 0.000071, 0.49, 6.1."""
    digits = max(0, 1 - math.floor(math.log10(abs(x)))) if x else 0
    return f"{x:.{digits}f}"


def _times(x: float) -> str:
    return f"{float(f'{x:.3g}'):,.0f}×" if x >= 10 else f"{x:.1f}×"


def _visible(measure: Measure, tool: str) -> bool:
    return not (
        (measure.runyard_only and tool != RUNYARD)
        or (measure.peer_only and tool != measure.peer_only)
    )


def section_tables(
    results: Results, workload: str, tools: Sequence[str], sizes: dict[str, Any]
) -> list[str]:
    rows = [m for m in MEASURES if m.workload == workload and m.key in results.cells]
    if not rows:
        return ["*Not run (`--only`).*", ""]
    foot: dict[str, int] = {}
    out = [
        "| measure | " + " | ".join(LABELS.get(t, t) for t in tools) + " |",
        "|---|" + "---|" * len(tools),
    ]
    for m in rows:
        cells = [
            _cell_text(results.cells[m.key].get(t), m.unit, foot, t) if _visible(m, t) else "—"
            for t in tools
        ]
        out.append(
            f"| {label_of(m, sizes)} | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
        )
    peers = [t for t in tools if t != RUNYARD]
    ratio_rows = [m for m in rows if not m.runyard_only and not m.peer_only]
    if peers and ratio_rows and RUNYARD in tools:
        out += [
            "",
            "Runyard / peer (median ÷ median; below 1 means Runyard takes less time):",
            "",
            "| measure | " + " | ".join(LABELS.get(t, t) for t in peers) + " |",
            "|---|" + "---|" * len(peers),
        ]
        dagger = False
        for m in ratio_rows:
            per = results.cells[m.key]
            ours = per[RUNYARD].median() if RUNYARD in per else None
            texts = []
            for t in peers:
                text = _ratio_text(ours, per[t].median() if t in per else None)
                if text != "—" and (per[t].unequal if t in per else False):
                    text, dagger = text + " †", True
                texts.append(text)
            out.append(f"| {label_of(m, sizes)} | " + " | ".join(texts) + " |")
        if dagger:
            out += [
                "",
                "† not the same work on both sides (fewer points or runs, or no sort, on "
                "the peer's side: see the footnotes); the ratio compares the times as measured.",
            ]
    if foot:
        out += [""] + [f"[{n}] {text}  " for text, n in sorted(foot.items(), key=lambda kv: kv[1])]
    return [*out, ""]


def durability_section(
    results: Results, tools: Sequence[str], every: dict[str, int], rel: str
) -> list[str]:
    out = [
        "## 2. Durability: SIGKILL while logging",
        "",
        "A process logs one metric as fast as it can and, every N calls (after the calls "
        "returned), writes how many points it has logged to a side file. The harness sends "
        "SIGKILL to that process (only the logging process: helper processes such as W&B's "
        "service are left to finish, as after a real crash) at a random moment 0.5–2 s into "
        "logging, then counts the points in the store from a fresh process. *Lost* = "
        "reported − found (found may exceed reported: points logged after the last report).",
        "",
        "| tool | kills | reported (sum) | found (sum) | lost (sum) | counted |",
        "|---|---|---|---|---|---|",
    ]
    for tool in tools:
        kills = [k for k in results.kills if k["tool"] == tool]
        good = [k for k in kills if "found" in k]
        if not good:
            problem = next((k.get("problem", "") for k in kills), "not run")
            out.append(f"| {LABELS.get(tool, tool)} | {len(kills)} | {problem} | | | |")
            continue
        rep = sum(k["reported"] for k in good)
        found = sum(k["found"] for k in good)
        lost = sum(k["lost"] for k in good)
        pct = f" ({100 * lost / rep:.2f} %)" if rep else ""
        out.append(
            f"| {LABELS.get(tool, tool)} | {len(good)} (N={every.get(tool, '?')}) | {rep:,} | "
            f"{found:,} | **{lost:,}**{pct} | {good[0].get('counted', '')} |"
        )
    out += [
        "",
        "Each kill:",
        "",
        "| tool | rep | killed after | reported | found | lost |",
        "|---|---|---|---|---|---|",
    ]
    for k in results.kills:
        if "found" in k:
            out.append(
                f"| {LABELS.get(k['tool'], k['tool'])} | {k['rep']} | {k['kill_after_s']} s | "
                f"{k['reported']:,} | {k['found']:,} | {k['lost']:,} |"
            )
        else:
            name = LABELS.get(k["tool"], k["tool"])
            out.append(f"| {name} | {k['rep']} | | {k.get('problem', '')} | | |")
    out += ["", f"![durability]({rel}/durability.png)", ""]
    return out


def summary(results: Results, tools: Sequence[str], sizes: dict[str, Any]) -> list[str]:
    ahead: list[str] = []
    behind: list[str] = []
    for m in MEASURES:
        if m.runyard_only or m.peer_only or m.key not in results.cells:
            continue
        per = results.cells[m.key]
        ours = per[RUNYARD].median() if RUNYARD in per else None
        if ours is None:
            continue
        for t in tools:
            theirs = per[t].median() if t != RUNYARD and t in per else None
            if theirs is None or theirs <= 0:
                continue
            line = (
                f"{label_of(m, sizes)} ({m.workload}): Runyard {charts.fmt(ours)} {m.unit}, "
                f"{LABELS[t]} {charts.fmt(theirs)} {m.unit}"
            )
            if per[t].unequal:
                line += " († not the same work: see the section)"
            (ahead if ours < theirs else behind).append(
                f"- {line} — {_times(theirs / ours)} faster"
                if ours < theirs
                else f"- {line} — **{_times(ours / theirs)} slower**"
            )
    out = [
        "## Summary",
        "",
        f"Runyard takes less time in {len(ahead)} of "
        f"{len(ahead) + len(behind)} comparisons (median against median).",
        "",
        *goals.summary_line(results),
    ]
    if behind:
        out += ["Where Runyard is behind:", "", *behind, ""]
    else:
        out += ["Runyard is not behind any peer on any measured row.", ""]
    return out


def write(results: Results, doc: Path, chart_dir: Path) -> None:
    meta, sizes = results.meta, results.meta.get("sizes", {})
    tools = [t for t in results.meta.get("tools_order", []) if t in results.tools]
    titles = {t: f"{LABELS.get(t, t)} {results.tools[t].get('version', '')}".strip() for t in tools}
    subtitle = f"median of {meta.get('reps')} repetitions; lower is better"
    rel = os.path.relpath(chart_dir, doc.parent)
    lines = [
        "# Benchmarks: Runyard, MLflow, W&B, Aim and TensorBoard",
        "",
        "Generated by `make bench` (`.venv/bin/python -m benchmarks.run`); do not edit by hand. "
        "See [benchmarks/README.md](../benchmarks/README.md) for options and method.",
        "",
        f"- When: {meta.get('date')}; total time {meta.get('elapsed_s', 0) / 60:.1f} min",
        f"- Machine: {meta.get('machine')}; load average at start {meta.get('load_start')}, "
        f"at end {meta.get('load_end')} (other work was running on this machine: see the spread)",
        f"- Repetitions: {meta.get('reps')}, tools taking turns (the first one rotates); "
        'each cell is the median, with min–max in brackets; "(1 run)" marks a number measured '
        "once (runs are created once; a tool's turn that took over "
        f"{sizes.get('slow_s', 25):.0f} s is not repeated)",
        f"- Sizes: scale {meta.get('scale')}, time caps ×{meta.get('caps')} "
        f"(log loop {_s(sizes.get('log_budget_s'))}, "
        f"run creation {_s(sizes.get('create_budget_s'))}, "
        f"series loading {_s(sizes.get('series_budget_s'))}). A capped number is the mean over "
        "what was done within the cap; the footnote says how much.",
        "- Ratio: Runyard's median ÷ the peer's median, for times: below 1, Runyard is faster.",
        "",
        "| tool | version | installed | note |",
        "|---|---|---|---|",
    ]
    for t in tools:
        info = results.tools[t]
        lines.append(
            f"| {LABELS.get(t, t)} | {info.get('version') or '—'} | {info.get('where', '')} | "
            f"{info.get('problem', '')} |"
        )
    for error in meta.get("harness_errors", []):
        lines.append(f"\n**Harness error** (that workload's numbers are missing): `{error}`")
    lines += ["", *summary(results, tools, sizes)]
    fmt_args = {
        "metrics": sizes.get("metrics", 3),
        "steps": sizes.get("steps", 0),
        "runs": sizes.get("runs", 0),
        "params": sizes.get("params", 5),
        "short": sizes.get("series", {}).get("short", 0),
        "long": sizes.get("series", {}).get("long", 0),
    }
    for workload, title, text in SECTIONS:
        if workload == "read" and results.kills:  # durability comes second, as in the issue
            lines += durability_section(results, tools, meta.get("durable_every", {}), rel)
            charts.durability_chart(
                chart_dir / "durability.png", results, tools, titles, "sum over all kills"
            )
        measures = [
            (m, label_of(m, sizes))
            for m in MEASURES
            if m.workload == workload and m.key in results.cells
        ]
        lines += [f"## {title}", "", text.format(**fmt_args), ""]
        lines += section_tables(results, workload, tools, sizes)
        if measures:
            png = chart_dir / f"{workload}.png"
            charts.measures_chart(png, title, measures, results, tools, titles, subtitle)
            lines += [f"![{workload}]({rel}/{png.name})", ""]
    lines += goals.section(results, tools)
    lines += _pending(results)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def _pending(results: Results) -> list[str]:
    pend = sorted(
        {
            f"- {label_of(BY_KEY[k], results.meta.get('sizes', {}))}: {c.note}"
            for k, per in results.cells.items()
            for t, c in per.items()
            if t == RUNYARD and c.note.startswith("pending")
        }
    )
    if not pend:
        return []
    return ["## Pending", "", "Rows of Runyard that could not be measured yet:", "", *pend, ""]


def _s(seconds: float | None) -> str:
    return "none" if seconds is None else f"{seconds:.0f} s"
