"""Load: many runs at once on local compute, each logging as fast as it can, against
SQLite and PostgreSQL, while a real studio process is polled like a browser polls it.

What must hold: every point stored (exactly once, in order), every run Completed, no
"database is locked" anywhere, and the studio answering each request within 1 s.
The default variant is 8 runs x 20,000 points; the soak variant 32 runs x 100,000.
"""

from __future__ import annotations

import collections
import os
import secrets
import time
from pathlib import Path

import pytest

from runyard.core import Experiment
from runyard.entities import RunStatus
from tests.reliability.harness import (
    LatencyProbe,
    Project,
    StudioProcess,
    free_port,
    is_count_up,
    record,
    stored_values,
)

LATENCY_LIMIT_S = 1.0
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def tracking_uri(backend: str, request: pytest.FixtureRequest) -> str | None:
    if backend == "sqlite":
        return None  # the workspace's default: sqlite:///runyard.db beside the config
    return str(request.getfixturevalue("postgres_db_url"))


def run_load(
    root: Path, uri: str | None, backend: str, runs: int, points: int, *, every_answer: bool
) -> None:
    """``every_answer``: the 1 s limit holds for every answer (soak), else for the
    median, with every answer inside the probe's 5 s timeout. The default variant is a
    quick check on a shared 2-core CI machine, where the studio competes with 8 loggers
    and their runners for the CPU and a few requests (of some 25) are descheduled for
    seconds: a p99 of 25 samples is their maximum, and failed CI on 2 Dec at 3.3 s. A
    studio blocked on the database fails the median; the soak variant measures."""
    load_before = os.getloadavg()[0]  # what else this machine was doing
    project = Project.create(root, tracking_uri=uri, slots=runs)
    experiment = Experiment(project.ws, "load")  # exists before the probe asks for it
    studio = StudioProcess(root, free_port(), secrets.token_urlsafe(16), root / "studio.log")
    run_ids: list[str] = []
    turn = [0]

    def browser_paths() -> list[str]:
        paths = [
            "/api/experiments",
            f"/api/experiments/{experiment.id}/runs?sort=metric:x&metrics=x&limit=50",
            f"/experiments/{experiment.id}",
        ]
        if run_ids:
            turn[0] += 1
            run_id = run_ids[turn[0] % len(run_ids)]
            paths += [
                f"/api/runs/{run_id}",
                f"/api/runs/{run_id}/metrics/x?max_points=1000",
                f"/runs/{run_id}",
            ]
        return paths

    try:
        studio.wait_ready()
        with LatencyProbe(studio.url, browser_paths) as probe:
            started = time.monotonic()
            for i in range(runs):
                run_ids.append(project.submit_logger(points, project.progress(f"run{i}")).id)
            finals = project.wait_terminal(run_ids, timeout=120 + runs * points / 2000)
            took = time.monotonic() - started
        statuses = collections.Counter(info.status.value for info in finals.values())
        stored = {run_id: stored_values(project.store, run_id) for run_id in run_ids}
        stored_total = sum(len(v) for v in stored.values())
        locked = [r for r in run_ids if "database is locked" in project.logs(r)]
        studio_log = (root / "studio.log").read_text(errors="replace")
        latency = probe.result
        record(
            "load",
            backend=backend,
            runs=runs,
            points_per_run=points,
            points_logged=runs * points,
            points_stored=stored_total,
            points_lost=sum(points - len(v) if is_count_up(v) else points for v in stored.values()),
            statuses=dict(statuses),
            runs_not_terminal=sum(1 for f in finals.values() if not f.status.is_terminal()),
            wall_s=round(took, 1),
            studio_requests=len(latency.samples),
            studio_failures=len(latency.failures),
            latency_median_ms=round(latency.median * 1000, 1),
            latency_p99_ms=round(latency.p99 * 1000, 1),
            latency_max_ms=round(latency.max * 1000, 1),
            slowest_ms={k: round(v * 1000) for k, v in sorted(latency.slowest.items())},
            machine=f"{os.cpu_count()} CPUs, load average {load_before:.1f} before",
        )
        for run_id, info in finals.items():
            assert info.status is RunStatus.COMPLETED, (run_id, info.error, project.logs(run_id))
            assert info.error is None and info.exit_code == 0
            assert not any(k.startswith("runyard.") for k in info.tags), info.tags
        assert stored_total == runs * points
        bad = [r for r, values in stored.items() if not is_count_up(values)]
        assert not bad, f"runs whose points are not exactly 0..{points - 1}: {bad}"
        assert not locked, f"'database is locked' in the logs of {locked}"
        assert "database is locked" not in studio_log
        assert "Traceback" not in studio_log, studio_log[-3000:]
        assert not latency.failures, latency.failures[:10]
        assert len(latency.samples) > 10, "the probe hardly ran"
        worst = latency.max if every_answer else latency.median
        assert worst < LATENCY_LIMIT_S, (
            f"the studio took {worst:.3f} s to answer (median {latency.median:.3f} s, "
            f"p99 {latency.p99:.3f} s, max {latency.max:.3f} s, "
            f"{len(latency.samples)} requests; slowest by request: {latency.slowest})"
        )
    finally:
        studio.stop()
        project.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_8_runs_of_20k_points(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run_load(
        tmp_path / "ws",
        tracking_uri(backend, request),
        backend,
        runs=8,
        points=20_000,
        every_answer=False,
    )


@pytest.mark.soak
@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", BACKENDS)
def test_soak_32_runs_of_100k_points(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run_load(
        tmp_path / "ws",
        tracking_uri(backend, request),
        backend,
        runs=32,
        points=100_000,
        every_answer=True,
    )
