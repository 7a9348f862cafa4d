"""Per-run, per-metric summaries (count, last, min, max), read without numpy so that
listing and sorting runs does not pay for importing it (``rows.summary_of`` says how
they come back exact). ``appends`` writes them."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import MetricSummary
from runyard.store.sql import runs as runs_mod
from runyard.store.sql.rows import summary_of
from runyard.store.sql.schema import metric_summaries


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
        out.setdefault(row.run_id, {})[row.key] = summary_of(row._mapping)
    return out


def summaries(conn: Connection, run_id: str) -> dict[str, MetricSummary]:
    found = summaries_of(conn, [run_id]).get(run_id)
    if found is None:
        runs_mod.ensure_exists(conn, run_id)  # RunNotFoundError, or a run with no metrics
    return found or {}
