"""How far each of a run's other journals has been ingested.

A run has one journal per process that logs to it (the script, its forked or spawned
workers). The main journal's offset is ``runs.journal_offset``; the others' are rows
here, keyed by the journal's file name and written in the transaction of their points,
so each journal is ingested exactly once whatever stops the ingester.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.errors import ValidationError
from runyard.store.sql import runs as runs_mod
from runyard.store.sql.schema import journal_offsets, runs

MAX_JOURNAL_NAME = 255


def _check(journal: str, offset: int | None = None) -> None:
    if not journal or len(journal) > MAX_JOURNAL_NAME or "/" in journal:
        raise ValidationError(f"journal name {journal[:60]!r} must be a file name")
    if offset is not None and (not isinstance(offset, int) or offset < 0):
        raise ValidationError(f"journal offset must be a non-negative int, got {offset!r}")


def set_offset(conn: Connection, run_id: str, journal: str, offset: int | None) -> None:
    """Records ``offset`` for ``journal`` (nothing for the main journal "", whose offset
    is a runs column, or without an offset); the caller holds the run's row (append)."""
    if not journal or offset is None:
        return
    _check(journal, offset)
    where = (journal_offsets.c.run_id == run_id) & (journal_offsets.c.journal == journal)
    done = conn.execute(journal_offsets.update().where(where).values(offset=offset))
    if not done.rowcount:
        conn.execute(journal_offsets.insert().values(run_id=run_id, journal=journal, offset=offset))


def get_offset(conn: Connection, run_id: str, journal: str) -> int:
    """How far ``journal`` ("" the main journal) of the run is ingested."""
    if not journal:
        main = conn.execute(sa.select(runs.c.journal_offset).where(runs.c.id == run_id)).first()
        if main is None:
            runs_mod.ensure_exists(conn, run_id)
        return 0 if main is None else int(main[0])
    _check(journal)
    value = conn.execute(
        sa.select(journal_offsets.c.offset).where(
            (journal_offsets.c.run_id == run_id) & (journal_offsets.c.journal == journal)
        )
    ).first()
    if value is None:
        runs_mod.ensure_exists(conn, run_id)
        return 0
    return int(value[0])
