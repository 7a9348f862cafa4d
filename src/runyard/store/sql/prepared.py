"""Statements on the hot paths (creating a run, its tags and properties, its status),
built once.

Building ``select(runs).where(runs.c.id == x)`` anew costs each execution about 50 µs
in SQLAlchemy (the expression, then its cache key) against ~20 µs for a statement built
at import with bound parameters, whose cache key is memoised: a run's creation runs ten
of them. Parameter names end in ``_`` where a column has that name (an UPDATE's SET
takes the bare names).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from runyard.store.sql.schema import experiments, run_properties, run_tags, runs

RUN_ROW = sa.select(runs).where(runs.c.id == sa.bindparam("run_id_"))
RUN_ROW_FOR_UPDATE = RUN_ROW.with_for_update()
EXPERIMENT_FOR_UPDATE = (
    sa.select(experiments)
    .where(experiments.c.id == sa.bindparam("experiment_id_"))
    .with_for_update()
)
LAST_NUMBER = sa.select(sa.func.coalesce(sa.func.max(runs.c.number), 0)).where(
    runs.c.experiment_id == sa.bindparam("experiment_id_")
)
INSERT_RUN = runs.insert().returning(*runs.c)  # the stored row, defaults included
BUMP_CHANGE_SEQ = (
    runs.update()
    .where(runs.c.id == sa.bindparam("run_id_"))
    .values(change_seq=runs.c.change_seq + 1)
)
INSERT_PAIRS = {table.name: table.insert() for table in (run_tags, run_properties)}
KEY_VALUES = {
    table.name: sa.select(table.c.run_id, table.c.key, table.c.value)
    .where(table.c.run_id.in_(sa.bindparam("ids_", expanding=True)))
    .order_by(table.c.run_id, table.c.key)
    for table in (run_tags, run_properties)
}
PAIRS_OF_KEYS = {
    table.name: sa.select(table.c.key, table.c.value).where(
        table.c.run_id == sa.bindparam("run_id_"),
        table.c.key.in_(sa.bindparam("keys_", expanding=True)),
    )
    for table in (run_tags, run_properties)
}


@functools.cache
def upsert_tags(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (run_id, key) DO UPDATE SET value``: setting tags in one
    statement; built on first use per dialect (each has its own ``insert``), so that a
    SQLite store never imports PostgreSQL's."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    stmt = insert(run_tags)
    return stmt.on_conflict_do_update(
        index_elements=[run_tags.c.run_id, run_tags.c.key], set_={"value": stmt.excluded.value}
    )
