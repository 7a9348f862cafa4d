"""The runs list: filters, sorting (also by a metric summary), paging and a total."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import MetricSummary, RunPage, RunQuery, RunStatus
from runyard.errors import ValidationError
from runyard.store.base import check_lifecycle
from runyard.store.sql import runs as runs_mod
from runyard.store.sql.lifecycle import lifecycle_filter
from runyard.store.sql.rows import summary_of
from runyard.store.sql.run_sort import MAX_LIMIT, parse_sort
from runyard.store.sql.schema import metric_summaries, run_tags, runs


def _filters(query: RunQuery) -> list[Any]:
    where: list[Any] = lifecycle_filter(check_lifecycle(query.lifecycle))
    if query.experiment_id is not None:
        where.append(runs.c.experiment_id == query.experiment_id)
    if query.statuses:
        where.append(runs.c.status.in_([RunStatus(s).value for s in query.statuses]))
    for key, value in query.tags.items():
        tag = run_tags.alias()
        where.append(
            sa.exists().where(tag.c.run_id == runs.c.id, tag.c.key == key, tag.c.value == value)
        )
    if query.parent_run_id is not None:
        where.append(runs.c.parent_run_id == query.parent_run_id)
    if query.compute_target is not None:
        where.append(runs.c.compute_target == query.compute_target)
    text = query.text.strip()
    if text:
        tag = run_tags.alias()
        where.append(
            sa.or_(
                runs.c.id.startswith(text, autoescape=True),
                runs.c.display_name.icontains(text, autoescape=True),
                sa.exists().where(
                    tag.c.run_id == runs.c.id, tag.c.value.icontains(text, autoescape=True)
                ),
            )
        )
    return where


def search(conn: Connection, query: RunQuery) -> RunPage:
    if query.limit < 0 or query.offset < 0:
        raise ValidationError("limit and offset must not be negative")
    limit = min(int(query.limit), MAX_LIMIT)
    name, agg = parse_sort(query.sort)
    where = _filters(query)

    total = conn.execute(sa.select(sa.func.count()).select_from(runs).where(*where)).scalar_one()

    page = sa.select(runs).where(*where)
    exact: Any = None
    if agg is not None:
        # A correlated lookup by primary key per run: one plan whatever the table
        # statistics say (a fresh PostgreSQL database has none). Ints beyond 2**53
        # share a float64, so int metrics sort by their exact column as well: SQLite
        # compares an INTEGER with a REAL exactly, so one key does; PostgreSQL would
        # cast both to double, so there one lateral lookup gives both columns and the
        # exact one breaks the float key's ties.
        c = metric_summaries.c
        own = (c.run_id == runs.c.id, c.key == name)
        if conn.dialect.name == "sqlite":
            exact_or_float = sa.func.coalesce(c[f"{agg}_int"], c[agg])
            key: Any = sa.select(exact_or_float).where(*own).scalar_subquery()
        else:
            both = sa.select(c[agg].label("key"), c[f"{agg}_int"].label("exact"))
            lookup = both.where(*own).lateral("summary")
            page = page.select_from(runs.outerjoin(lookup, sa.true()))
            key, exact = lookup.c.key, lookup.c.exact
    elif name == "duration":
        key = sa.func.coalesce(runs.c.ended_at, runs.c.heartbeat_at) - runs.c.started_at
    else:
        key = runs.c[name]
    # Missing values (and NaN, stored as NULL) come last in either direction, then
    # newest first among equals.
    order = [(key.desc() if query.descending else key.asc()).nulls_last()]
    if exact is not None:
        order.append((exact.desc() if query.descending else exact.asc()).nulls_last())
    page = page.order_by(*order, runs.c.created_at.desc(), runs.c.id)
    rows = conn.execute(page.limit(limit).offset(int(query.offset))).all()
    found = runs_mod.rows_to_runs(conn, rows)
    summaries: dict[str, dict[str, MetricSummary]] = {}
    if query.with_metrics and found:
        summary_rows = conn.execute(
            sa.select(metric_summaries)
            .where(
                metric_summaries.c.run_id.in_([r.run_id for r in found]),
                metric_summaries.c.key.in_(list(query.with_metrics)),
            )
            .order_by(metric_summaries.c.run_id, metric_summaries.c.key)
        ).all()
        for row in summary_rows:
            summaries.setdefault(row.run_id, {})[row.key] = summary_of(row._mapping)
    return RunPage(runs=found, total=int(total), summaries=summaries)
