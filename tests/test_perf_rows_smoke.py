"""Keeps benchmarks/perf_rows.py (issue 20's six rows) working: its small mode, through
the same entry point, without the slow cold build. Timings are not checked here (figures
go in benchmarks/, not in timed tests); what must hold is that every row is measured and
printed with its goal, the peers' quoted figure and a verdict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = (
    "run.complete() after",
    "create a run (5 params, 3 metrics, interactive)",
    "runyard runs list --sort metric:loss",
    "run.log through the public Run.log",
    "runner RSS (peak, trivial submitted run)",
)


def test_perf_rows_small() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf_rows", "--small"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "best peer (issue 20 measured)" in lines[0], done.stdout
    for row in ROWS:
        (line,) = [ln for ln in lines if ln.startswith(row)]
        assert line.rstrip().endswith(("yes", "NO")), line
        assert "<= " in line, line
    assert not any(ln.startswith("cold build") for ln in lines), "built without --with-build"
