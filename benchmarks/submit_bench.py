"""Submitting runs on local compute: start-up latency, overhead, runner memory, snapshots.

    python -m benchmarks.submit_bench [--repeat N]

Targets: from run creation + dispatch to the script's first output line in the driver
log <= 300 ms (no environment to build); a script that logs 100,000 points and prints
10,000 lines runs, submitted, in <= 1.05x its time run directly; the runner's resident
memory <= 60 MB; a snapshot of an unchanged 2,000-file folder <= 200 ms.

The heavy script writes its points with ``JournalWriter`` in both modes (to the run's
journal when submitted, to a scratch file when run directly), so the comparison is of
the same work: what the runner adds is the tee, the concurrent ingest and its own CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

from benchmarks.target_table import Result, print_table
from runyard.config import WorkspaceConfig
from runyard.entities import ComputeTargetConfig, RunInfo, RunKind, RunStatus
from runyard.runner.local import open_workspace_store
from runyard.store.artifacts import DRIVER_LOG, LocalArtifactRepository
from runyard.store.snapshots import SnapshotStore
from runyard.targets.local import dispatch
from runyard.workspace import write_config
from runyard.workspace.owner import local_pid

OLD_NS = 1_600_000_000 * 10**9

FIRST_LINE = "print('first line', flush=True)\n"
HEAVY = """
    import os, sys, time
    started = time.perf_counter()
    from runyard.tracking.journal import JournalWriter
    journal = JournalWriter(os.environ.get("RUNYARD_JOURNAL") or sys.argv[1])
    for i in range(100_000):
        journal.log("loss", 1.0 / (i + 1), step=i)
        if i % 10 == 0:
            print(f"step {i} loss {1.0 / (i + 1):.6f}")
    journal.flush()
    print(f"ELAPSED {time.perf_counter() - started:.6f}", flush=True)
"""


class Bench:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_path = root / ".runyard" / "config.json"
        self.target = ComputeTargetConfig(name="cpu", type="local", max_concurrent_runs=1)
        write_config(
            self.config_path,
            WorkspaceConfig(
                name="bench",
                tracking_uri="sqlite:///runyard.db",
                artifact_root="artifacts",
                compute_targets={"cpu": self.target},
            ),
        )
        _config, self.store = open_workspace_store(self.config_path)
        repo = self.store.artifacts
        assert isinstance(repo, LocalArtifactRepository)
        self.repo = repo
        self.snapshots = SnapshotStore(repo.root / "snapshots")
        self.experiment = self.store.get_or_create_experiment("bench")

    def source(self, name: str, script: str) -> tuple[Path, str]:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        (folder / "train.py").write_text(textwrap.dedent(script))
        return folder, self.snapshots.capture(folder).snapshot_id

    def create(self, folder: Path, snapshot_id: str) -> RunInfo:
        return self.store.create_run(
            self.experiment.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.QUEUED,
            compute_target="cpu",
            definition={
                "script": "train.py",
                "arguments": [],
                "source_directory": str(folder),
                "snapshot_id": snapshot_id,
                "environment": None,
                "max_run_duration_seconds": None,
                "environment_variables": {},
                "git": None,
            },
        )

    def wait(self, run_id: str, timeout: float = 120) -> RunInfo:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.store.get_run(run_id)
            if run.status.is_terminal():
                return run
            time.sleep(0.01)
        raise TimeoutError(f"run {run_id} did not finish in {timeout} s")


def bench_first_line(bench: Bench, repeat: int) -> list[Result]:
    folder, snapshot_id = bench.source("first", FIRST_LINE)
    latencies = []
    for _ in range(repeat):
        started = time.perf_counter()
        run = bench.create(folder, snapshot_id)
        dispatch(bench.store, bench.config_path, bench.target)
        log = bench.repo.local_path(run.run_id, DRIVER_LOG)
        while True:
            try:
                if log.stat().st_size > 0:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.002)  # not faster: the poll would compete with the runner for CPU
        latencies.append((time.perf_counter() - started) * 1000)
        bench.wait(run.run_id)
    median = statistics.median(latencies)
    return [
        Result("create + dispatch -> first line (median)", median, "ms", "<= 300", median <= 300),
        Result("create + dispatch -> first line (max)", max(latencies), "ms", "", True),
    ]


def _direct(folder: Path, scratch: Path) -> tuple[float, float]:
    scratch.unlink(missing_ok=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "train.py", str(scratch)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    return wall, float(done.stdout.rsplit("ELAPSED ", 1)[1])


def _submitted(
    bench: Bench, folder: Path, snapshot_id: str
) -> tuple[float, float, float, int, float]:
    """(submit -> Completed, script's own time, script process wall, runner max RSS as
    sampled with psutil, runner peak RSS as the kernel counted it)."""
    started = time.perf_counter()
    run = bench.create(folder, snapshot_id)
    dispatch(bench.store, bench.config_path, bench.target)
    rss = 0
    runner: psutil.Process | None = None
    while not (info := bench.store.get_run(run.run_id)).status.is_terminal():
        pid = local_pid(info.owner)
        try:
            if runner is None and pid is not None:
                runner = psutil.Process(pid)
            if runner is not None:
                rss = max(rss, runner.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    total = time.perf_counter() - started
    if info.status is not RunStatus.COMPLETED:
        raise RuntimeError(f"heavy run failed: {info.error}")
    text = bench.repo.read_bytes(run.run_id, DRIVER_LOG).decode()
    elapsed = float(text.rsplit("ELAPSED ", 1)[1])
    runner_log = (bench.repo.run_dir(run.run_id) / "runner.log").read_text()
    script_wall = _script_wall(runner_log)
    peak = re.search(r"runner peak RSS ([0-9.]+) MB", runner_log)
    count = bench.store.get_metric_summaries(run.run_id)["loss"].count
    if count != 100_000:
        raise RuntimeError(f"only {count} points were ingested")
    return total, elapsed, script_wall, rss, float(peak.group(1)) if peak else float("nan")


def _script_wall(runner_log: str) -> float:
    """The script's wall time as the runner measured it (spawn to exit)."""
    match = re.search(r"script exited with code -?\d+ after ([0-9.]+) s", runner_log)
    return float(match.group(1)) if match else float("nan")


def bench_overhead(bench: Bench, repeat: int) -> list[Result]:
    folder, snapshot_id = bench.source("heavy", HEAVY)
    scratch = bench.root / "direct-journal.bin"
    direct_wall, direct_own, sub_total, sub_own, sub_wall = [], [], [], [], []
    rss: list[int] = []
    maxrss: list[float] = []
    _direct(folder, scratch)  # warm the page cache and .pyc files
    for _ in range(repeat):
        wall, own = _direct(folder, scratch)
        direct_wall.append(wall)
        direct_own.append(own)
        total, elapsed, script_wall, sampled, peak = _submitted(bench, folder, snapshot_id)
        sub_total.append(total)
        sub_own.append(elapsed)
        sub_wall.append(script_wall)
        rss.append(sampled)
        maxrss.append(peak)
    d_wall, d_own = statistics.median(direct_wall), statistics.median(direct_own)
    s_own, s_total = statistics.median(sub_own), statistics.median(sub_total)
    s_wall = statistics.median(sub_wall)
    ratio = s_own / d_own
    wall_ratio = s_wall / d_wall
    peak_mb = max(rss) / 2**20
    kernel_peak = max(maxrss)
    return [
        Result("heavy script run directly (process wall)", d_wall * 1000, "ms", "", True),
        Result("heavy script run directly (its own time)", d_own * 1000, "ms", "", True),
        Result("heavy script submitted (its own time)", s_own * 1000, "ms", "", True),
        Result("heavy script submitted (process wall)", s_wall * 1000, "ms", "", True),
        Result("submitted / direct (process wall)", wall_ratio, "x", "<= 1.05", wall_ratio <= 1.05),
        Result("submitted / direct (script's own time)", ratio, "x", "", True),
        Result("submit -> Completed, all points in store", s_total * 1000, "ms", "", True),
        Result("submit -> Completed / direct process wall", s_total / d_wall, "x", "", True),
        Result("runner RSS, max of psutil samples", peak_mb, "MB", "<= 60", peak_mb <= 60),
        Result("runner peak RSS (its VmHWM)", kernel_peak, "MB", "", True),
    ]


def bench_snapshot(root: Path, repeat: int) -> list[Result]:
    folder = root / "project"
    for i in range(2000):
        path = folder / f"pkg{i // 100}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# module {i}\n" + "x = 1\n" * (50 + i % 200))
        os.utime(path, ns=(OLD_NS, OLD_NS))  # an existing project, not files written now
    store = SnapshotStore(root / "snap-bench")
    started = time.perf_counter()
    first = store.capture(folder)
    cold = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        again = store.capture(folder)
        times.append((time.perf_counter() - started) * 1000)
        assert again.snapshot_id == first.snapshot_id
    warm = statistics.median(times)
    return [
        Result("snapshot 2,000 files, first time", cold, "ms", "", True),
        Result("snapshot 2,000 unchanged files (median)", warm, "ms", "<= 200", warm <= 200),
    ]


def run(repeat: int = 5) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench = Bench(root)
        try:
            results = bench_first_line(bench, max(repeat * 2, 5))
            results += bench_overhead(bench, repeat)
        finally:
            bench.store.close()
        results += bench_snapshot(root, max(repeat * 2, 5))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    results = run(args.repeat)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
