"""Per-run, per-metric summaries (count, last, min, max), read without numpy so that
listing and sorting runs does not pay for importing it. Values come back exactly as
logged: int and bool metrics from their int64 columns, a float's last value from its
repr (the float64 columns are the sort keys). ``appends`` writes them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import MetricSummary, MetricValue
from runyard.store.sql import runs as runs_mod
from runyard.store.sql.schema import metric_summaries


def _exact(exact: int | None, approx: float | None, value_type: str) -> int | None:
    """An int or bool metric's value: the exact column, or (rows written before it
    existed) the float one."""
    if exact is None:
        if approx is None or math.isnan(approx):
            return None
        exact = int(approx)
    return bool(exact) if value_type == "bool" else int(exact)


def row_to_summary(row: Any) -> MetricSummary:
    count = int(row._mapping["count"])
    last: MetricValue | None
    lo: float | int | None = row.min
    hi: float | int | None = row.max
    if row.value_type == "str":
        last = row.last_text
    elif row.value_type in ("int", "bool"):
        last = _exact(row.last_int, row.last, row.value_type)
        lo = _exact(row.min_int, row.min, row.value_type)
        hi = _exact(row.max_int, row.max, row.value_type)
    elif row.last_text is not None:
        last = float(row.last_text)  # repr() of the float: exact, -0.0 and NaN too
    elif row.last is None:
        last = math.nan if count else None  # NaN is stored as NULL
    else:
        last = row.last
    return MetricSummary(
        key=row.key,
        count=count,
        last=last,
        min=lo,
        max=hi,
        last_step=int(row.last_step),
        value_type=row.value_type,
    )


def summaries_of(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, MetricSummary]]:
    """Each run's summaries by key; a run without any (or unknown) is left out."""
    out: dict[str, dict[str, MetricSummary]] = {}
    if not run_ids:
        return out
    rows = conn.execute(
        sa.select(metric_summaries)
        .where(metric_summaries.c.run_id.in_(sorted(set(run_ids))))
        .order_by(metric_summaries.c.run_id, metric_summaries.c.key)
    )
    for row in rows:
        out.setdefault(row.run_id, {})[row.key] = row_to_summary(row)
    return out


def summaries(conn: Connection, run_id: str) -> dict[str, MetricSummary]:
    found = summaries_of(conn, [run_id]).get(run_id)
    if found is None:
        runs_mod.ensure_exists(conn, run_id)  # RunNotFoundError, or a run with no metrics
    return found or {}
