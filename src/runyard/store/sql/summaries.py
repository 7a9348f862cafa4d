"""Per-run, per-metric summaries (count, last, min, max), read without numpy so that
listing and sorting runs does not pay for importing it."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import MetricSummary, MetricValue
from runyard.store.sql import runs as runs_mod
from runyard.store.sql.schema import metric_summaries


def typed_value(value: float, value_type: str) -> MetricValue:
    if value_type == "int":
        return int(value)
    if value_type == "bool":
        return bool(value)
    return value


def row_to_summary(row: Any) -> MetricSummary:
    last: MetricValue | None
    if row.value_type == "str":
        last = row.last_text
    elif row.last is None:
        last = math.nan if row._mapping["count"] else None  # NaN is stored as NULL
    else:
        last = typed_value(row.last, row.value_type)
    return MetricSummary(
        key=row.key,
        count=int(row._mapping["count"]),
        last=last,
        min=row.min,
        max=row.max,
        last_step=int(row.last_step),
        value_type=row.value_type,
    )


def summaries(conn: Connection, run_id: str) -> dict[str, MetricSummary]:
    rows = conn.execute(
        sa.select(metric_summaries)
        .where(metric_summaries.c.run_id == run_id)
        .order_by(metric_summaries.c.key)
    ).all()
    if not rows:
        runs_mod.ensure_exists(conn, run_id)
    return {row.key: row_to_summary(row) for row in rows}
