"""The six rows of issue 20 (performance), measured for Runyard in one run.

    .venv/bin/python -m benchmarks.perf_rows [--small] [--with-build]

Rows: ``run.complete()`` after 60,000 values (20,000 steps x 3 metrics); creating an
interactive run with 5 params and 3 metrics; ``runyard runs list --sort metric:loss``
over 2,000 runs in a fresh process (median of 5); the public ``Run.log`` per call; the
runner's peak RSS on a trivial submitted run (as the runner logs it); the cold build of
the curated PyTorch environment (only with ``--with-build``: tens of seconds).

The peer column quotes the figures measured for issue 20 on this machine (TensorBoard,
W&B, MLflow, Ray, uv); they are not re-measured here (``make bench`` measures peers).
The functions that already measure a row elsewhere are reused: ``tracking_bench`` for
``Run.log`` and ``runs list``, ``submit_bench.Bench`` for a submitted run,
``env_bench.bench_builds`` for the cold build.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import tracking_bench
from benchmarks.submit_bench import FIRST_LINE, Bench
from benchmarks.workloads.goals import COLD_BUILD_GOAL_S, goal_of
from runyard.core import Experiment, Workspace
from runyard.entities import RunStatus
from runyard.targets.local import dispatch

METRICS = ("loss", "acc", "lr")


@dataclass(frozen=True)
class Row:
    """One row of the issue's table: Runyard's figure now, the goal, the peers quoted."""

    name: str
    value: float
    unit: str
    goal: float
    peers: str

    @property
    def meets(self) -> bool:
        return self.value <= self.goal


def complete_ms(folder: Path, steps: int, repeat: int) -> tuple[float, float]:
    """Median wall times of ``run.complete()`` after ``steps`` x 3 values were logged,
    and of ``complete()`` then ``get_status()`` (which waits for the drain the ingest
    thread finishes after ``complete()`` returned)."""
    ws = Workspace.create(folder / "complete")
    times, settled = [], []
    for _ in range(repeat):
        run = Experiment(ws, "complete").start_logging()
        for step in range(steps):
            for name in METRICS:
                run.log(name, 1.0 / (step + 1), step=step)
        t0 = time.perf_counter()
        run.complete()
        times.append(time.perf_counter() - t0)
        status = run.get_status()
        settled.append(time.perf_counter() - t0)
        assert status == RunStatus.COMPLETED.value, status
    ws.close()
    return statistics.median(times) * 1000, statistics.median(settled) * 1000


def create_ms(folder: Path, repeat: int) -> float:
    """Median time for an interactive run with 5 params, a tag and 3 metrics to return."""
    ws = Workspace.create(folder / "create")
    exp = Experiment(ws, "create")
    exp.start_logging().complete()  # the experiment row and first-run set-up are not timed
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        run = exp.start_logging()
        run.add_properties({"lr": 0.01, "batch": 64, "epochs": 10, "seed": i, "opt": "adam"})
        run.tag("bench", "create")
        for name in METRICS:
            run.log(name, 0.5, step=0)
        times.append(time.perf_counter() - t0)
        run.complete()
    ws.close()
    return statistics.median(times) * 1000


def runner_peak_rss_mb(folder: Path) -> float:
    """The runner's own peak RSS (``runner peak RSS`` in runner.log) on a trivial run."""
    Workspace.create(folder).close()  # only `runyard init` makes the database Bench opens
    bench = Bench(folder)
    source, snapshot_id = bench.source("trivial", FIRST_LINE)
    run = bench.create(source, snapshot_id)
    dispatch(bench.store, bench.config_path, bench.target)
    info = bench.wait(run.run_id)
    if info.status is not RunStatus.COMPLETED:
        raise RuntimeError(f"trivial run ended {info.status.value}: {info.error}")
    log = (bench.repo.run_dir(run.run_id) / "runner.log").read_text(encoding="utf-8")
    bench.store.close()
    match = re.search(r"runner peak RSS ([0-9.]+) MB", log)
    if match is None:
        raise RuntimeError("runner.log has no 'runner peak RSS' line")
    return float(match.group(1))


def cold_build_s(folder: Path) -> float:
    """The cold build of Runyard-PyTorch-CPU in a fresh ``RUNYARD_CACHE_DIR``."""
    from benchmarks import env_bench

    with env_bench._env_var("RUNYARD_CACHE_DIR", str(folder / "cache")):
        results, _python = env_bench.bench_builds(folder)
    return results[0].value


def measure(small: bool, with_build: bool) -> list[Row]:
    steps, runs, calls, repeat = (2_000, 200, 50_000, 3) if small else (20_000, 2_000, 1_000_000, 5)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ended, settled = complete_ms(folder, steps, repeat)
        rows.append(
            Row(
                f"run.complete() after {steps * 3:,} values",
                ended,
                "ms",
                goal_of("log.finish"),
                "TensorBoard 0.2 ms, W&B 6 ms, MLflow 7 ms",
            )
        )
        rows.append(
            Row(
                "  the same, then get_status() (waits for the drain)",
                settled,
                "ms",
                goal_of("log.finish"),
                "- (the drain, moved after complete())",
            )
        )
        rows.append(
            Row(
                "create a run (5 params, 3 metrics, interactive)",
                create_ms(folder, repeat * 4),
                "ms",
                goal_of("runs.create"),
                "TensorBoard 1.4 ms, MLflow 29.8 ms",
            )
        )
        rows.append(
            Row(
                f"runyard runs list --sort metric:loss, {runs:,} runs, fresh process",
                tracking_bench.runs_list(runs, folder) * 1000,
                "ms",
                goal_of("runs.cli"),
                "TensorBoard 1.47 s, MLflow 2.26 s",
            )
        )
        rows.append(
            Row(
                "run.log through the public Run.log",
                tracking_bench.public_log_cost(calls, folder) / 1000,
                "µs",
                goal_of("log.call"),
                "- (floor: struct copy into the mmap, 0.37-0.48 µs)",
            )
        )
        rows.append(
            Row(
                "runner RSS (peak, trivial submitted run)",
                runner_peak_rss_mb(folder / "submit"),
                "MB",
                goal_of("submit.rss"),
                "Ray's job supervisor ~90 MB",
            )
        )
        if with_build:
            rows.append(
                Row(
                    "cold build of the curated PyTorch env",
                    cold_build_s(folder / "build"),
                    "s",
                    COLD_BUILD_GOAL_S,
                    "uv alone 6 s cold",
                )
            )
    return rows


def print_rows(rows: Sequence[Row]) -> None:
    """The issue's table: Runyard now, goal, best peer (as issue 20 measured it), met."""
    width = max(len(r.name) for r in rows)
    peers_w = max(len(r.peers) for r in rows)
    print(
        f"{'row':<{width}}  {'Runyard now':>14}  {'goal':>10}  "
        f"{'best peer (issue 20 measured)':<{peers_w}}  meets goal"
    )
    for r in rows:
        now = f"{r.value:,.2f} {r.unit}"
        goal = f"<= {r.goal:g} {r.unit}"
        print(
            f"{r.name:<{width}}  {now:>14}  {goal:>10}  {r.peers:<{peers_w}}  "
            f"{'yes' if r.meets else 'NO'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument(
        "--with-build", action="store_true", help="also the cold PyTorch build (slow)"
    )
    opts = parser.parse_args(argv)
    print_rows(measure(opts.small, opts.with_build))
    return 0


if __name__ == "__main__":
    sys.exit(main())
