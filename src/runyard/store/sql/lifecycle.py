"""Soft delete and restore of runs and experiments.

A delete stamps ``deleted_at``; lists leave the run (or the experiment, and the runs in
it) out; ``restore`` clears the stamp, so a delete is undone exactly. A run is deleted
with its descendants (a sweep's trials, a run's children), all with one stamp, and
restored with those that carry it. Only an ended run can be deleted: a live one is
cancelled first, so nothing deleted is still writing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import Experiment, RunInfo, RunStatus
from runyard.errors import ConflictError
from runyard.store.sql import experiments as experiments_mod
from runyard.store.sql import runs as runs_mod
from runyard.store.sql.schema import experiments, runs

_TERMINAL = [s.value for s in RunStatus if s.is_terminal()]


def descendants(conn: Connection, run_id: str) -> list[str]:
    """The run and every run under it (children, a sweep's trials), any depth."""
    found, level = [run_id], [run_id]
    while level:
        level = [
            r.id for r in conn.execute(sa.select(runs.c.id).where(runs.c.parent_run_id.in_(level)))
        ]
        found.extend(level)
    return found


def _stamp(conn: Connection, run_ids: Sequence[str], when: float | None) -> None:
    conn.execute(
        runs.update()
        .where(runs.c.id.in_(list(run_ids)))
        .values(deleted_at=when, change_seq=runs.c.change_seq + 1)
    )


def delete_run(conn: Connection, run_id: str) -> RunInfo:
    run = runs_mod.get(conn, run_id)
    if run.deleted_at is not None:
        return run
    parent_id = run.parent_run_id
    while parent_id is not None:  # a trial of a live sweep is still counted by it
        parent = runs_mod.get(conn, parent_id)
        if not parent.status.is_terminal():
            raise ConflictError(
                f"run {run_id} belongs to run {parent_id}, which is {parent.status.value}: "
                f"delete {parent_id} (with its runs) once it has ended"
            )
        parent_id = parent.parent_run_id
    tree = descendants(conn, run_id)
    live = conn.execute(
        sa.select(runs.c.id, runs.c.status).where(
            runs.c.id.in_(tree), runs.c.status.not_in(_TERMINAL)
        )
    ).first()
    if live is not None:
        raise ConflictError(
            f"run {live.id} is {live.status}: cancel it first (runyard runs cancel "
            f"{live.id}, or run.cancel()), then delete {run_id}"
        )
    # Runs deleted on their own before keep their stamp, so this restore leaves them.
    kept = [
        r.id
        for r in conn.execute(
            sa.select(runs.c.id).where(runs.c.id.in_(tree), runs.c.deleted_at.is_(None))
        )
    ]
    _stamp(conn, kept, time.time())
    return runs_mod.get(conn, run_id)


def restore_run(conn: Connection, run_id: str) -> RunInfo:
    run = runs_mod.get(conn, run_id)
    if run.deleted_at is None:
        return run
    tree = descendants(conn, run_id)
    same = [
        r.id
        for r in conn.execute(
            sa.select(runs.c.id).where(runs.c.id.in_(tree), runs.c.deleted_at == run.deleted_at)
        )
    ]
    _stamp(conn, same, None)
    return runs_mod.get(conn, run_id)


def delete_experiment(conn: Connection, experiment_id: str) -> Experiment:
    experiment = experiments_mod.get(conn, experiment_id)
    if experiment.deleted_at is not None:
        return experiment
    live = conn.execute(
        sa.select(sa.func.count()).where(
            runs.c.experiment_id == experiment_id, runs.c.status.not_in(_TERMINAL)
        )
    ).scalar_one()
    if live:
        raise ConflictError(
            f"experiment {experiment.name!r} has {live} run(s) not ended: cancel them first "
            f"(runyard runs list -e {experiment.name} --status Running), then delete it"
        )
    _set(conn, experiment_id, time.time())
    return experiments_mod.get(conn, experiment_id)


def restore_experiment(conn: Connection, experiment_id: str) -> Experiment:
    experiments_mod.get(conn, experiment_id)
    _set(conn, experiment_id, None)
    return experiments_mod.get(conn, experiment_id)


def _set(conn: Connection, experiment_id: str, when: float | None) -> None:
    conn.execute(
        experiments.update().where(experiments.c.id == experiment_id).values(deleted_at=when)
    )
    experiments_mod.bump_runs(conn, experiment_id)  # its runs show (or leave) the lists


def lifecycle_filter(lifecycle: str) -> list[sa.ColumnElement[bool]]:
    """The runs a RunQuery's ``lifecycle`` keeps."""
    gone = sa.select(experiments.c.id).where(experiments.c.deleted_at.is_not(None))
    if lifecycle == "active":
        return [runs.c.deleted_at.is_(None), runs.c.experiment_id.not_in(gone)]
    if lifecycle == "deleted":
        return [sa.or_(runs.c.deleted_at.is_not(None), runs.c.experiment_id.in_(gone))]
    return []
