"""What the system-metrics sampler (runyard.sysmetrics) costs the runner (issue 19).

    .venv/bin/python -m benchmarks.sampler_bench [--seconds 20] [--children 4]

A process tree like a training run's (a parent and ``--children`` DataLoader-like
children) is sampled at 0.5, 1 and 2 s, each interval in a fresh process that has
already imported what a runner has (the journal writer), so the figures are what the
sampler adds: its CPU (the whole process's CPU time over the wall time, the sampling
thread being all it does) and its extra resident memory (VmRSS after the run minus
before importing the sampler; psutil's import counted in). Target at 1 s: <= 1% of one
core and <= 30 MB. MLflow's own monitor (psutil every 10 s) is not measured beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.target_table import Result, print_table

TREE = """\
import subprocess, sys, time
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        for _ in range(int(sys.argv[1]))]
time.sleep(3600)
"""

MEASURE = """\
import json, sys, time
from pathlib import Path
import runyard.tracking.journal  # a runner has the journal writer loaded already


def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024


interval, seconds = float(sys.argv[1]), float(sys.argv[2])
root, journal = int(sys.argv[3]), sys.argv[4]
before = rss_mb()
from runyard.sysmetrics.settings import SamplerSettings
from runyard.sysmetrics.thread import SystemSampler

sampler = SystemSampler(
    Path(journal), lambda: {"": root}, SamplerSettings(interval_s=interval), env={}, warn=print
).start()
cpu0, wall0 = time.process_time(), time.monotonic()
time.sleep(seconds)
cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
after = rss_mb()
sampler.stop()
n = sampler.samples
print(json.dumps({"cpu_percent": 100 * cpu / wall, "extra_mb": after - before,
                  "samples": n, "per_sample_ms": 1000 * cpu / max(1, n)}))
"""


def measure(interval: float, seconds: float, root: int, folder: Path) -> dict[str, float]:
    journal = folder / f"journal.system.{interval}.bin"
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(interval), str(seconds), str(root), str(journal)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--children", type=int, default=4)
    args = parser.parse_args(argv)
    tree = subprocess.Popen(
        [sys.executable, "-c", TREE, str(args.children)], start_new_session=True
    )
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for interval in (0.5, 1.0, 2.0):
                f = measure(interval, args.seconds, tree.pid, Path(tmp))
                print(
                    f"interval {interval} s: {f['samples']:.0f} samples of "
                    f"{args.children + 1} processes, {f['per_sample_ms']:.2f} ms CPU each",
                    file=sys.stderr,
                )
                goal = interval == 1.0
                results.append(
                    Result(
                        f"sampler CPU at {interval} s",
                        f["cpu_percent"],
                        "% core",
                        "<= 1" if goal else "-",
                        f["cpu_percent"] <= 1.0 or not goal,
                    )
                )
                results.append(
                    Result(
                        f"sampler extra RSS at {interval} s",
                        f["extra_mb"],
                        "MB",
                        "<= 30" if goal else "-",
                        f["extra_mb"] <= 30.0 or not goal,
                    )
                )
    finally:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()
    print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
