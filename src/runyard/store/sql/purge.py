"""Purging what was soft-deleted (``runyard gc``, ``mlflow gc``): the rows go for good.

A purge removes run rows; the foreign keys' ``ON DELETE CASCADE`` takes their tags,
properties, metric summaries and blocks, records, journal offsets and lineage rows with
them (SQLite enforces them: the engine turns ``foreign_keys`` on). A child that was
restored on its own outlives its purged parent as a top-level run (``SET NULL``). Only
what is deleted is ever selected, so a purge can never reach a run that is in a list.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.errors import ConflictError, RunNotFoundError, ValidationError
from runyard.store.sql import experiments as experiments_mod
from runyard.store.sql.lifecycle import descendants
from runyard.store.sql.schema import experiments, runs

_CHUNK = 500  # ids per IN (...): well under every database's parameter limit


def select(
    conn: Connection,
    deleted_before: float | None,
    run_ids: Sequence[str] | None,
    experiment_ids: Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """(run ids, experiment ids) that a purge with these arguments removes."""
    if run_ids is not None or experiment_ids is not None:
        exp_ids = _named_experiments(conn, deleted_before, experiment_ids or [])
        found = set(_named(conn, deleted_before, run_ids)) if run_ids is not None else set()
        if exp_ids:
            in_them = sa.select(runs.c.id).where(runs.c.experiment_id.in_(exp_ids))
            found.update(r.id for r in conn.execute(in_them))
        return sorted(found), exp_ids
    gone: sa.ColumnElement[bool] = experiments.c.deleted_at.is_not(None)
    if deleted_before is not None:
        gone = sa.and_(gone, experiments.c.deleted_at < deleted_before)
    exp_ids = [r.id for r in conn.execute(sa.select(experiments.c.id).where(gone))]
    deleted: sa.ColumnElement[bool] = runs.c.deleted_at.is_not(None)
    if deleted_before is not None:
        deleted = sa.and_(deleted, runs.c.deleted_at < deleted_before)
    in_gone = runs.c.experiment_id.in_(exp_ids) if exp_ids else sa.false()
    query = sa.select(runs.c.id).where(sa.or_(deleted, in_gone)).order_by(runs.c.id)
    return [r.id for r in conn.execute(query)], exp_ids


def _named_experiments(
    conn: Connection, deleted_before: float | None, experiment_ids: Sequence[str]
) -> list[str]:
    if isinstance(experiment_ids, str):
        raise ValidationError(f"purge takes a list of experiment ids: write [{experiment_ids!r}]")
    refused = []
    for experiment_id in dict.fromkeys(experiment_ids):
        stamp = experiments_mod.get(conn, experiment_id).deleted_at  # ExperimentNotFoundError
        if stamp is None or (deleted_before is not None and stamp >= deleted_before):
            refused.append(experiment_id)
    if refused:
        why = "is not deleted" if deleted_before is None else "was not deleted before then"
        raise ConflictError(
            f"experiment(s) {', '.join(refused)} {why}; nothing was purged. Delete them "
            "first (runyard experiments delete NAME), or leave them out"
        )
    return sorted(set(experiment_ids))


def _named(conn: Connection, deleted_before: float | None, run_ids: Sequence[str]) -> list[str]:
    if isinstance(run_ids, str):  # a lone id would be taken letter by letter
        raise ValidationError(f"purge takes a list of run ids: write [{run_ids!r}]")
    found: dict[str, str] = {}
    refused = []
    for run_id in dict.fromkeys(run_ids):
        row = conn.execute(
            sa.select(runs.c.id, runs.c.deleted_at, experiments.c.deleted_at.label("exp_gone"))
            .join(experiments, experiments.c.id == runs.c.experiment_id)
            .where(runs.c.id == run_id)
        ).first()
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        stamp = row.deleted_at if row.deleted_at is not None else row.exp_gone
        if stamp is None or (deleted_before is not None and stamp >= deleted_before):
            refused.append(run_id)
            continue
        for tree_id in descendants(conn, run_id):
            found.setdefault(tree_id, run_id)
    if refused:
        why = "is not deleted" if deleted_before is None else "was not deleted before then"
        raise ConflictError(
            f"run(s) {', '.join(refused)} {why}; nothing was purged. Delete them first "
            "(runyard runs delete ID), or leave them out"
        )
    # Descendants that were restored on their own (in an experiment not deleted) stay.
    gone = sa.select(experiments.c.id).where(experiments.c.deleted_at.is_not(None))
    ids = list(found)
    live: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        query = sa.select(runs.c.id).where(
            runs.c.id.in_(ids[start : start + _CHUNK]),
            runs.c.deleted_at.is_(None),
            runs.c.experiment_id.not_in(gone),
        )
        live.update(r.id for r in conn.execute(query))
    return sorted(set(ids) - live)


def remove(conn: Connection, run_ids: Sequence[str], experiment_ids: Sequence[str]) -> None:
    """Deletes the rows (their dependents cascade)."""
    ids = list(run_ids)
    for start in range(0, len(ids), _CHUNK):
        conn.execute(runs.delete().where(runs.c.id.in_(ids[start : start + _CHUNK])))
    if experiment_ids:
        conn.execute(experiments.delete().where(experiments.c.id.in_(list(experiment_ids))))
