"""Keeps benchmarks/studio_bench.py working (both parts, ``--small``): it runs to the
end and prints every figure beside its goal. The figures are not checked here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# In `make soak` with the other benchmark smokes (~80 s together): `make test` stays short.
pytestmark = [pytest.mark.browser, pytest.mark.soak]

ROOT = Path(__file__).resolve().parents[1]


def test_studio_bench_small() -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.studio_bench", "--small"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for line in (
        "API runs page",
        "experiment page usable",
        "series overlay, navigation -> drawn",
        "series overlay, the draw alone",
        "run.log -> pixel on an open chart: p95",
    ):
        assert line in out, out
    assert out.count("goal <= ") == 4
