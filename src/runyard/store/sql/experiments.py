"""Experiments: named groups of runs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import Experiment, ExperimentStats
from runyard.errors import ConflictError, ExperimentNotFoundError, ValidationError
from runyard.store.sql import prepared
from runyard.store.sql.rows import experiment_of
from runyard.store.sql.schema import experiments, runs
from runyard.store.sql.validate import check_name, check_string_map


def set_tags(conn: Connection, experiment_id: str, tags: Mapping[str, str]) -> Experiment:
    """Adds or changes tags; the others stay (the SDK's ``set_tags``)."""
    clean = check_string_map("tag", tags)
    current = lock(conn, experiment_id)
    merged = {**current.tags, **clean}
    _write_tags(conn, experiment_id, merged)
    return replace(current, tags=merged)


def remove_tags(conn: Connection, experiment_id: str, keys: Sequence[str]) -> Experiment:
    """Removes the named tags (names it does not have are ignored)."""
    if isinstance(keys, str):  # a lone name would be taken letter by letter
        raise ValidationError(f"remove_tags takes a list of tag names: write [{keys!r}]")
    names = {check_name("tag", key) for key in keys}
    current = lock(conn, experiment_id)
    kept = {k: v for k, v in current.tags.items() if k not in names}
    _write_tags(conn, experiment_id, kept)
    return replace(current, tags=kept)


def rename(conn: Connection, experiment_id: str, name: str) -> Experiment:
    """The experiment under ``name``; ConflictError if another experiment has it."""
    current = lock(conn, experiment_id)
    if current.name == name:
        return current
    taken = get_by_name(conn, name)
    if taken is not None:
        raise ConflictError(
            f"an experiment named {name!r} exists already (id {taken.experiment_id}); "
            "pick another name"
        )
    conn.execute(experiments.update().where(experiments.c.id == experiment_id).values(name=name))
    bump_runs(conn, experiment_id)  # the runs' pages name their experiment
    return replace(current, name=name)


def bump_runs(conn: Connection, experiment_id: str) -> None:
    """Counts a change on every run of the experiment (what their pages show of it)."""
    conn.execute(
        runs.update()
        .where(runs.c.experiment_id == experiment_id)
        .values(change_seq=runs.c.change_seq + 1)
    )


def _write_tags(conn: Connection, experiment_id: str, tags: Mapping[str, str]) -> None:
    text = json.dumps(dict(sorted(tags.items())))
    conn.execute(experiments.update().where(experiments.c.id == experiment_id).values(tags=text))


def get_or_create(conn: Connection, name: str) -> Experiment:
    """Race-safe: concurrent creators of one name all get the same row."""
    existing = get_by_name(conn, name)
    if existing is not None:
        return existing
    values = {"id": uuid.uuid4().hex, "name": name, "created_at": time.time()}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(experiments).values(values).on_conflict_do_nothing())
    else:
        # A SQLite write transaction holds the database's write lock: no one else
        # can have inserted since the SELECT above.
        conn.execute(experiments.insert().values(values))
    found = get_by_name(conn, name)
    assert found is not None
    return found


def get(conn: Connection, experiment_id: str) -> Experiment:
    row = conn.execute(sa.select(experiments).where(experiments.c.id == experiment_id)).first()
    if row is None:
        raise ExperimentNotFoundError(f"no experiment with id {experiment_id!r}")
    return experiment_of(row._mapping)


def lock(conn: Connection, experiment_id: str) -> Experiment:
    """Reads the experiment, locking its row (PostgreSQL) until the transaction ends."""
    row = conn.execute(prepared.EXPERIMENT_FOR_UPDATE, {"experiment_id_": experiment_id}).first()
    if row is None:
        raise ExperimentNotFoundError(f"no experiment with id {experiment_id!r}")
    return experiment_of(row._mapping)


def get_by_name(conn: Connection, name: str) -> Experiment | None:
    row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
    return None if row is None else experiment_of(row._mapping)


def list_all(conn: Connection, lifecycle: str = "active") -> list[ExperimentStats]:
    """Experiments by name: the active ones, the deleted ones, or "all"."""
    select = sa.select(experiments).order_by(experiments.c.name)
    if lifecycle == "active":
        select = select.where(experiments.c.deleted_at.is_(None))
    elif lifecycle == "deleted":
        select = select.where(experiments.c.deleted_at.is_not(None))
    rows = conn.execute(select).all()
    counts = conn.execute(
        sa.select(
            runs.c.experiment_id,
            runs.c.status,
            sa.func.count(),
            sa.func.max(runs.c.created_at),
        ).group_by(runs.c.experiment_id, runs.c.status)
    ).all()
    per_status: dict[str, dict[str, int]] = {}
    last: dict[str, float] = {}
    for experiment_id, status, count, latest in counts:
        per_status.setdefault(experiment_id, {})[status] = int(count)
        if latest is not None and latest > last.get(experiment_id, float("-inf")):
            last[experiment_id] = float(latest)
    return [
        ExperimentStats(
            experiment=experiment_of(row._mapping),
            run_count=sum(per_status.get(row.id, {}).values()),
            last_run_at=last.get(row.id),
            status_counts=per_status.get(row.id, {}),
        )
        for row in rows
    ]


def check_active(experiment: Experiment) -> None:
    """New runs go only into an experiment that is not deleted."""
    if experiment.deleted_at is not None:
        raise ConflictError(
            f"experiment {experiment.name!r} is deleted: restore it first (runyard "
            f"experiments restore {experiment.name}, or experiment.reactivate()), or use "
            "another name"
        )
