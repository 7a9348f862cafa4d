"""Keeps benchmarks/assets_bench.py working: its Runyard side at a small size (no
awscli/obstore peers), through the same entry point. Timings are not checked here;
what must hold at any size is: an unchanged re-registration fetches nothing, a second
download fetches nothing, and 16 concurrent registrations get versions 1..16."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# In `make soak` with the other benchmark smokes (~80 s together): `make test` stays short.
pytestmark = pytest.mark.soak

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # 16 spawned interpreters and a moto server: ~30 s quiet, ~110 s loaded
def test_assets_bench_small() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.assets_bench",
            "--small",
            "--files",
            "120",
            "--no-peers",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {
        line[:40].strip(): line.split()[-1] for line in done.stdout.splitlines()[1:] if line.strip()
    }
    for row in (
        "re-register local, bytes fetched",
        "re-register S3, bytes fetched",
        "re-register S3, version",
        "second download, bytes fetched",
        "16 concurrent registrations",
    ):
        assert rows.get(row) == "yes", (row, done.stdout)
    for row in ("upload, S3 (moto)", "  peer: fsspec put_file loop".strip(), "download 5 MB model"):
        assert row in rows, (row, done.stdout)
