"""Runs: creation, status changes (compare-and-set), tags, properties, definitions, and
claiming queued runs for a compute target's free slots."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import ACTIVE_STATUSES, RunInfo, RunKind, RunStatus
from runyard.errors import ConflictError, FencedError, RunNotFoundError, ValidationError
from runyard.store.sql import experiments as experiments_mod
from runyard.store.sql import prepared
from runyard.store.sql.engine import PG_LOCK_NAMESPACE
from runyard.store.sql.rows import run_of
from runyard.store.sql.schema import run_properties, run_tags, runs
from runyard.store.sql.validate import (
    check_display_name,
    check_name,
    check_run_id,
    check_string_map,
)

PG_LOCK_CLAIM = 2


def _key_values(
    conn: Connection, table: sa.Table, run_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if not run_ids:
        return out
    rows = conn.execute(prepared.KEY_VALUES[table.name], {"ids_": list(run_ids)})
    for run_id, key, value in rows:
        out.setdefault(run_id, {})[key] = value
    return out


def rows_to_runs(conn: Connection, rows: Sequence[Any]) -> list[RunInfo]:
    """Entities for run rows, with their tags and properties (two queries in all)."""
    ids = [row.id for row in rows]
    tags = _key_values(conn, run_tags, ids)
    props = _key_values(conn, run_properties, ids)
    return [run_of(row._mapping, tags.get(row.id, {}), props.get(row.id, {})) for row in rows]


def _fetch_row(conn: Connection, run_id: str, *, for_update: bool = False) -> Any:
    query = prepared.RUN_ROW_FOR_UPDATE if for_update else prepared.RUN_ROW
    row = conn.execute(query, {"run_id_": run_id}).first()
    if row is None:
        raise RunNotFoundError(f"no run with id {run_id!r}")
    return row


def ensure_exists(conn: Connection, run_id: str, *, for_update: bool = False) -> Any:
    """The run's row; RunNotFoundError if there is none. ``for_update`` locks the row
    (PostgreSQL) so that writers of one run take turns."""
    return _fetch_row(conn, run_id, for_update=for_update)


def check_epoch(conn: Connection, run_id: str, epoch: int | None, row: Any = None) -> Any:
    """Refuses (FencedError) a write whose ``epoch`` is not the run's: its runner was
    reaped meanwhile. None: a writer that holds no epoch (a user, the reaper). Locks the
    run's row (PostgreSQL), so the check holds until the caller's transaction ends."""
    row = row if row is not None else _fetch_row(conn, run_id, for_update=True)
    if epoch is not None and int(row.epoch) != epoch:
        raise FencedError(
            f"run {run_id!r} was taken from this runner (epoch {epoch}, now {row.epoch}: "
            f"the reaper failed it as {row.status}, '{row.error or 'no heartbeat'}'); "
            "its writes are refused"
        )
    return row


def get(conn: Connection, run_id: str) -> RunInfo:
    return rows_to_runs(conn, [_fetch_row(conn, run_id)])[0]


def create(
    conn: Connection,
    experiment_id: str,
    *,
    kind: RunKind,
    status: RunStatus,
    compute_target: str,
    parent_run_id: str | None,
    display_name: str,
    tags: Mapping[str, str] | None,
    properties: Mapping[str, str] | None,
    definition: Mapping[str, Any] | None,
    owner: str | None,
    run_id: str | None,
) -> RunInfo:
    kind = RunKind(kind)
    status = RunStatus(status)
    clean_tags = check_string_map("tag", tags or {})
    clean_props = check_string_map("property", properties or {})
    check_name("compute target", compute_target)
    check_display_name(display_name)
    definition_text = _dump_definition(definition or {})
    # Locking the experiment row makes numbering race-free on PostgreSQL; a SQLite
    # write transaction already holds the database's write lock.
    experiment = experiments_mod.lock(conn, experiment_id)
    experiments_mod.check_active(experiment)
    now = time.time()
    if run_id is None:
        # Cut the name so that any valid experiment name (up to 255) makes a valid id;
        # a fresh random part needs no look-up (the primary key still guards it).
        run_id = f"{experiment.name[:200]}_{int(now)}_{uuid.uuid4().hex[:8]}"
    else:
        check_run_id(run_id)
        if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is not None:
            raise ConflictError(f"a run with id {run_id!r} exists already; pick another id")
    if parent_run_id is not None:
        _fetch_row(conn, parent_run_id)
    number = conn.execute(prepared.LAST_NUMBER, {"experiment_id_": experiment_id}).scalar_one()
    row = conn.execute(
        prepared.INSERT_RUN,
        {
            "id": run_id,
            "experiment_id": experiment_id,
            "number": int(number) + 1,
            "kind": kind.value,
            "status": status.value,
            "created_at": now,
            "started_at": now if status is RunStatus.RUNNING else None,
            "ended_at": now if status.is_terminal() else None,
            "parent_run_id": parent_run_id,
            "display_name": display_name,
            "compute_target": compute_target,
            "definition": definition_text,
            "owner": owner,
        },
    ).one()  # the stored row, defaults included, without reading it back
    _insert_pairs(conn, run_tags, run_id, clean_tags)
    _insert_pairs(conn, run_properties, run_id, clean_props)
    return run_of(row._mapping, clean_tags, clean_props)


def _dump_definition(definition: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(definition), sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"a run definition must be JSON-serialisable: {exc}") from None


def _insert_pairs(conn: Connection, table: sa.Table, run_id: str, items: Mapping[str, str]) -> None:
    if items:
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in items.items()]
        conn.execute(prepared.INSERT_PAIRS[table.name], rows)


def set_status(
    conn: Connection,
    run_id: str,
    status: RunStatus,
    *,
    exit_code: int | None,
    error: str | None,
    expected: Sequence[RunStatus] | None,
    epoch: int | None = None,
    fence: bool = False,
) -> RunInfo:
    status = RunStatus(status)
    row = check_epoch(conn, run_id, epoch)
    current = RunStatus(row.status)
    if current.is_terminal():
        raise ConflictError(
            f"run {run_id!r} is {current.value} already; a finished run never changes status"
        )
    if expected is not None and current not in {RunStatus(s) for s in expected}:
        wanted = ", ".join(RunStatus(s).value for s in expected) or "nothing"
        raise ConflictError(
            f"run {run_id!r} is {current.value}, not {wanted}; it was not moved to {status.value}"
        )
    now = time.time()
    values: dict[str, Any] = {"status": status.value}
    if status is RunStatus.RUNNING and row.started_at is None:
        values["started_at"] = now
    if status.is_terminal():
        values["ended_at"] = now
        if row.started_at is None and current is RunStatus.RUNNING:
            values["started_at"] = now
    if exit_code is not None:
        values["exit_code"] = int(exit_code)
    if error is not None:
        values["error"] = str(error)
    values["change_seq"] = runs.c.change_seq + 1
    if fence:  # taken from its runner: whatever that runner still writes is refused
        values["epoch"] = runs.c.epoch + 1
    update = runs.update().where(runs.c.id == run_id).values(values)
    return rows_to_runs(conn, [conn.execute(update.returning(*runs.c)).one()])[0]


def heartbeat(conn: Connection, run_id: str, owner: str | None, epoch: int | None = None) -> None:
    values: dict[str, Any] = {"heartbeat_at": time.time()}
    if owner is not None:
        values["owner"] = owner
    where = runs.c.id == run_id
    if epoch is not None:
        check_epoch(conn, run_id, epoch)
    result = conn.execute(runs.update().where(where).values(values))
    if result.rowcount == 0:
        raise RunNotFoundError(f"no run with id {run_id!r}")


def set_tags(conn: Connection, run_id: str, tags: Mapping[str, str]) -> None:
    clean = check_string_map("tag", tags)
    if not clean:
        _fetch_row(conn, run_id)
        return
    _bump_existing(conn, run_id)
    rows = [{"run_id": run_id, "key": k, "value": v} for k, v in clean.items()]
    conn.execute(prepared.upsert_tags(conn.dialect.name), rows)


def remove_tags(conn: Connection, run_id: str, keys: Sequence[str]) -> None:
    if isinstance(keys, str):  # a lone name would be taken letter by letter
        raise ValidationError(f"remove_tags takes a list of tag names: write [{keys!r}]")
    names = sorted({check_name("tag", key) for key in keys})
    _fetch_row(conn, run_id, for_update=True)
    where = run_tags.c.run_id == run_id, run_tags.c.key.in_(names)
    if names and conn.execute(run_tags.delete().where(*where)).rowcount:
        bump_change_seq(conn, run_id)


def add_properties(conn: Connection, run_id: str, properties: Mapping[str, str]) -> None:
    clean = check_string_map("property", properties)
    _fetch_row(conn, run_id, for_update=True)  # two writers of one key take turns
    if not clean:
        return
    pairs = prepared.PAIRS_OF_KEYS[run_properties.name]
    existing = dict(conn.execute(pairs, {"run_id_": run_id, "keys_": list(clean)}).all())
    changed = sorted(k for k, v in existing.items() if clean[k] != v)
    if changed:
        raise ConflictError(
            f"run {run_id!r}: properties are add-only and {', '.join(map(repr, changed))} "
            "already have other values; use a tag for values that change"
        )
    added = {k: v for k, v in clean.items() if k not in existing}
    _insert_pairs(conn, run_properties, run_id, added)
    if added:  # adding what is there already changes nothing a page shows
        bump_change_seq(conn, run_id)


def update_definition(conn: Connection, run_id: str, patch: Mapping[str, Any]) -> RunInfo:
    row = _fetch_row(conn, run_id, for_update=True)
    merged = json.loads(row.definition)
    merged.update(dict(patch))
    conn.execute(
        runs.update()
        .where(runs.c.id == run_id)
        .values(definition=_dump_definition(merged), change_seq=runs.c.change_seq + 1)
    )
    return get(conn, run_id)


def set_display_name(conn: Connection, run_id: str, display_name: str) -> RunInfo:
    name = check_display_name(display_name)
    _fetch_row(conn, run_id, for_update=True)
    conn.execute(
        runs.update()
        .where(runs.c.id == run_id)
        .values(display_name=name, change_seq=runs.c.change_seq + 1)
    )
    return get(conn, run_id)


def request_cancel(conn: Connection, run_id: str) -> RunInfo:
    row = _fetch_row(conn, run_id, for_update=True)
    current = RunStatus(row.status)
    if current.is_terminal() or current is RunStatus.NOT_STARTED:
        return get(conn, run_id)
    now = time.time()
    values: dict[str, Any] = {"cancel_requested_at": row.cancel_requested_at or now}
    if current is RunStatus.QUEUED:
        # Nobody has claimed it (the row is locked): it ends here, in this transaction.
        values.update(status=RunStatus.CANCELED.value, ended_at=now, error="canceled while queued")
        values["change_seq"] = runs.c.change_seq + 1  # the page shows the status
    conn.execute(runs.update().where(runs.c.id == run_id).values(values))
    return get(conn, run_id)


def _bump_existing(conn: Connection, run_id: str) -> None:
    """``bump_change_seq`` of a run that must exist (RunNotFoundError if it does not)."""
    result = conn.execute(prepared.BUMP_CHANGE_SEQ, {"run_id_": run_id})
    if result.rowcount == 0:
        raise RunNotFoundError(f"no run with id {run_id!r}")


def bump_change_seq(conn: Connection, run_id: str) -> None:
    """Counts one change to what the run's page shows (in the caller's transaction)."""
    conn.execute(prepared.BUMP_CHANGE_SEQ, {"run_id_": run_id})


def change_seqs(conn: Connection, run_ids: Sequence[str]) -> dict[str, int]:
    """Each existing run's change counter (unknown ids are left out)."""
    if not run_ids:
        return {}
    rows = conn.execute(sa.select(runs.c.id, runs.c.change_seq).where(runs.c.id.in_(list(run_ids))))
    return {run_id: int(seq) for run_id, seq in rows}


def set_journal_offset(conn: Connection, run_id: str, offset: int, *, changed: bool) -> None:
    """Records how far the journal is ingested; ``changed``: and counts a change to what
    the run's page shows (one statement for both)."""
    if not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"journal offset must be a non-negative int, got {offset!r}")
    values: dict[str, Any] = {"journal_offset": offset}
    if changed:
        values["change_seq"] = runs.c.change_seq + 1
    conn.execute(runs.update().where(runs.c.id == run_id).values(values))


def claim_next_queued(conn: Connection, compute_target: str, max_concurrent: int) -> RunInfo | None:
    if conn.dialect.name == "postgresql":
        # Serialises claimers of one target; SQLite's BEGIN IMMEDIATE already has.
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), hashtext(:target))"),
            {"ns": PG_LOCK_NAMESPACE + PG_LOCK_CLAIM, "target": compute_target},
        )
    active = conn.execute(
        sa.select(sa.func.count())
        .select_from(runs)
        .where(
            runs.c.compute_target == compute_target,
            runs.c.status.in_([s.value for s in ACTIVE_STATUSES]),
            # Only submitted runs hold slots: a notebook's start_logging() run is
            # "local" too, but it is not started by (or waiting for) the pool.
            runs.c.kind == RunKind.SUBMITTED.value,
        )
    ).scalar_one()
    if active >= max_concurrent:
        return None
    row = conn.execute(
        sa.select(runs.c.id)
        .where(runs.c.compute_target == compute_target, runs.c.status == RunStatus.QUEUED.value)
        .order_by(runs.c.created_at, runs.c.number)
        .limit(1)
    ).first()
    if row is None:
        return None
    conn.execute(
        runs.update()
        .where(runs.c.id == row.id, runs.c.status == RunStatus.QUEUED.value)
        .values(status=RunStatus.PREPARING.value)
    )
    return get(conn, row.id)
