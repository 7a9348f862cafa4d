"""`run.log` cost and journal ingest throughput (issue: the spine).

    .venv/bin/python -m benchmarks.tracking_bench [--calls 1000000]

Measures, in one process on this machine:
- the median cost of one `run.log(name, float, step=i)` call over a million calls,
  timed in blocks of 1,000 calls (a single call is below the clock's resolution):
  on the journal itself, and through the public `Run.log` of an interactive run
  (`experiment.start_logging()`, its ingest thread running meanwhile);
- ingest of those points from the journal into SQLite (points/s);
- `runyard runs list --sort metric:loss` end to end over 10,000 runs (``--runs``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runyard.core import Experiment, Workspace
from runyard.entities import MetricColumns, RunKind, RunStatus
from runyard.tracking.ingest import JournalIngester
from runyard.tracking.journal import JournalWriter

BLOCK = 1000


def log_cost(calls: int, folder: Path) -> tuple[float, float]:
    writer = JournalWriter(folder / "journal.bin")
    log = writer.log
    per_call: list[float] = []
    clock = time.perf_counter_ns
    for start in range(0, calls, BLOCK):
        t0 = clock()
        for i in range(start, start + BLOCK):
            log("loss", 0.5, step=i)
        per_call.append((clock() - t0) / BLOCK)
    writer.close()
    return statistics.median(per_call), statistics.mean(per_call)


def public_log_cost(calls: int, folder: Path) -> float:
    ws = Workspace.create(folder / "public")
    run = Experiment(ws, "bench").start_logging()
    per_call: list[float] = []
    clock = time.perf_counter_ns
    for start in range(0, calls, BLOCK):
        t0 = clock()
        for i in range(start, start + BLOCK):
            run.log("loss", 0.5, step=i)
        per_call.append((clock() - t0) / BLOCK)
    run.complete()
    ws.close()
    return statistics.median(per_call)


def ingest_rate(calls: int, folder: Path) -> float:
    ws = Workspace.create(folder / "ws")
    run = Experiment(ws, "bench").start_logging()
    run.complete()  # an empty run to ingest into
    writer = JournalWriter(folder / "ingest.bin")
    for i in range(calls):
        writer.log("loss", 1.0 / (i + 1), step=i)
    writer.close()
    t0 = time.perf_counter()
    count = JournalIngester(ws.store, run.id, folder / "ingest.bin").drain()
    elapsed = time.perf_counter() - t0
    assert count == calls, (count, calls)
    return calls / elapsed


def runs_list(runs: int, folder: Path) -> float:
    ws = Workspace.create(folder / "many")
    store = ws.store
    exp = store.get_or_create_experiment("many")
    now = time.time()
    for i in range(runs):
        info = store.create_run(
            exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
        )
        store.append_metrics(
            info.run_id, [MetricColumns("loss", "float", [0], [now], [1.0 / (i + 1)])]
        )
        store.set_status(info.run_id, RunStatus.COMPLETED)
    cmd = [sys.executable, "-m", "runyard.cli", "-w", str(ws.root), "runs", "list",
           "--sort", "metric:loss", "--limit", "20"]  # fmt: skip
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        median, mean = log_cost(opts.calls, folder)
        print(
            f"run.log: median {median:.0f} ns/call, mean {mean:.0f} ns/call ({opts.calls:,} calls)"
        )
        public = public_log_cost(opts.calls, folder)
        print(f"Run.log (public, interactive run): median {public:.0f} ns/call")
        print(f"ingest into SQLite: {ingest_rate(opts.calls, folder) / 1e6:.2f} M points/s")
        if opts.runs:
            took = runs_list(opts.runs, folder)
            what = f"runyard runs list --sort metric:loss over {opts.runs:,} runs"
            print(f"{what}: {took * 1000:.0f} ms")


if __name__ == "__main__":
    main()
