"""Metric points (blocks), per-metric summaries, and structured metric records.

A metric's points are stored in blocks of up to BLOCK_SIZE points, append-only (see
``appends``: a batch adds blocks, compaction merges the small ones at the end). The
summary row (count, last, min, max, last step, value type, blocks) is updated in the
same transaction, and so is the run's change counter. Values read back exactly as
stored: int64 for int metrics, float64 for floats (NaN, infinities and -0.0 too).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import MetricRecord, MetricSeries, MetricValue, RunStatus
from runyard.errors import MetricTypeError, ValidationError
from runyard.store.sql import appends, blocks
from runyard.store.sql import runs as runs_mod
from runyard.store.sql.blocks import Batch, Points
from runyard.store.sql.schema import metric_blocks, metric_records, metric_summaries, runs
from runyard.store.sql.validate import check_name

RECORD_KINDS = ("list", "row", "table", "image")


def prepare(columns: Sequence[Any]) -> list[Batch]:
    """Validates and converts batches before any transaction; batches of one key are
    joined in order."""
    merged: dict[str, Batch] = {}
    for column in columns:
        batch = blocks.normalize(column)
        if not len(batch.points):
            continue
        prior = merged.get(batch.key)
        if prior is None:
            merged[batch.key] = batch
            continue
        _check_compatible(batch.key, prior.value_type, batch.value_type)
        value_type = (
            "str"
            if blocks.is_str_type(prior.value_type)
            else blocks.widen(prior.value_type, batch.value_type)
        )
        merged[batch.key] = Batch(batch.key, value_type, blocks.concat(prior.points, batch.points))
    return list(merged.values())


def prepare_records(records: Sequence[MetricRecord]) -> list[dict[str, Any]]:
    rows = []
    for record in records:
        check_name("metric", record.key)
        if record.kind not in RECORD_KINDS:
            raise ValidationError(
                f"metric {record.key!r} has kind {record.kind!r}; expected one of "
                f"{', '.join(RECORD_KINDS)}"
            )
        try:
            payload = json.dumps(record.payload, allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise MetricTypeError(
                f"metric {record.key!r}: the {record.kind} value is not JSON-serialisable ({exc})"
            ) from None
        rows.append(
            {
                "key": record.key,
                "kind": record.kind,
                "payload": payload,
                "timestamp": float(record.timestamp),
                "seq": int(record.seq),
            }
        )
    return rows


def _check_compatible(key: str, stored: str, given: str) -> None:
    if blocks.is_str_type(stored) != blocks.is_str_type(given):
        raise MetricTypeError(
            f"metric {key!r} holds {stored} values and cannot take {given} values; "
            "log them under another metric name"
        )


def append(
    conn: Connection,
    run_id: str,
    batches: Sequence[Batch],
    record_rows: Sequence[dict[str, Any]],
    journal_offset: int | None,
    epoch: int | None = None,
) -> None:
    row = runs_mod.check_epoch(conn, run_id, epoch)  # a reaped runner's batch: refused
    summaries = {}
    if batches:
        rows = conn.execute(
            sa.select(metric_summaries).where(
                metric_summaries.c.run_id == run_id,
                metric_summaries.c.key.in_([b.key for b in batches]),
            )
        ).all()
        summaries = {row.key: row for row in rows}
    for batch in batches:  # every check before the first write
        if batch.key in summaries:
            _check_compatible(batch.key, summaries[batch.key].value_type, batch.value_type)
    writes = appends.Writes()
    for batch in batches:
        appends.append_batch(conn, run_id, batch, summaries.get(batch.key), writes)
    writes.execute(conn)
    if record_rows:
        conn.execute(metric_records.insert(), [{"run_id": run_id, **r} for r in record_rows])
    if batches and RunStatus(row.status).is_terminal():
        appends.compact_run(conn, run_id)  # late points of an ended run: compact now
    changed = bool(batches or record_rows)
    if journal_offset is not None:
        runs_mod.set_journal_offset(conn, run_id, journal_offset, changed=changed)
    elif changed:
        runs_mod.bump_change_seq(conn, run_id)


def series(
    conn: Connection, run_id: str, key: str, max_points: int | None, start: int
) -> MetricSeries:
    if max_points is not None and max_points < 1:
        raise ValidationError(f"max_points must be at least 1, got {max_points}")
    start = max(0, int(start))
    summary = conn.execute(
        sa.select(metric_summaries.c.count, metric_summaries.c.value_type).where(
            metric_summaries.c.run_id == run_id, metric_summaries.c.key == key
        )
    ).first()
    if summary is None:
        runs_mod.ensure_exists(conn, run_id)
        return MetricSeries(key=key, steps=[], timestamps=[], values=[], total_count=0)
    total, value_type = int(summary._mapping["count"]), summary.value_type
    if start >= total:
        return MetricSeries(key=key, steps=[], timestamps=[], values=[], total_count=total)
    rows = _block_rows(conn, run_id, key, start)
    if not rows:
        return MetricSeries(key=key, steps=[], timestamps=[], values=[], total_count=total)
    if blocks.is_str_type(value_type):
        points = _str_points(rows, start, max_points)
    else:
        points = _numeric_points(rows, start, max_points, value_type)
    return MetricSeries(
        key=key,
        steps=points.steps.tolist(),
        timestamps=points.timestamps.tolist(),
        values=_values_out(points.values, value_type),
        total_count=total,
        downsampled=max_points is not None and len(points) < total - start,
    )


_PG_BLOCKS_SQL = (
    "SELECT first_index, steps, timestamps, vals, vals_type FROM metric_blocks "
    "WHERE run_id = %s AND key = %s AND first_index + count > %s ORDER BY seq"
)


def _block_rows(conn: Connection, run_id: str, key: str, start: int) -> Sequence[Any]:
    """The blocks holding points from ``start`` on, in order."""
    if conn.dialect.name == "postgresql":
        # Binary results: bytea in text format is hex, twice the bytes plus decoding.
        # Imported here: SQLite users (every runner) need not load the PostgreSQL driver.
        from psycopg.rows import namedtuple_row

        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor(binary=True, row_factory=namedtuple_row) as cursor:
            cursor.execute(_PG_BLOCKS_SQL, (run_id, key, start))
            found: list[Any] = cursor.fetchall()
            return found
    return conn.execute(
        sa.select(
            metric_blocks.c.first_index,
            metric_blocks.c.steps,
            metric_blocks.c.timestamps,
            metric_blocks.c.vals,
            metric_blocks.c.vals_type,
        )
        .where(
            metric_blocks.c.run_id == run_id,
            metric_blocks.c.key == key,
            metric_blocks.c.first_index + metric_blocks.c.count > start,
        )
        .order_by(metric_blocks.c.seq)
    ).all()


def _str_points(rows: Sequence[Any], start: int, max_points: int | None) -> Points:
    parts = [blocks.unpack(r.steps, r.timestamps, r.vals, "json") for r in rows]
    values: list[str] = [v for p in parts for v in p.values]
    points = Points(
        np.concatenate([p.steps for p in parts]),
        np.concatenate([p.timestamps for p in parts]),
        values,
    ).slice(start - int(rows[0].first_index), len(values))
    if max_points is not None and len(points) > max_points:
        keep = blocks.downsample_indices(points.values, max_points)
        kept = [points.values[i] for i in keep.tolist()]
        points = Points(points.steps[keep], points.timestamps[keep], kept)
    return points


def _numeric_points(
    rows: Sequence[Any], start: int, max_points: int | None, value_type: str
) -> Points:
    """Joins the blocks' values; when down-sampling, unpacks steps and timestamps only
    at the kept positions instead of joining them all."""
    skip = start - int(rows[0].first_index)
    parts = [blocks.unpack_values(r.vals, r.vals_type) for r in rows]
    values: Any = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if value_type == "float":
        values = values.astype(blocks.F64, copy=False)  # int blocks before it widened
    elif values.dtype.kind == "f":
        values = values.astype(blocks.I64)  # int blocks from before exact storage
    n = len(values) - skip
    if max_points is None or n <= max_points:
        steps = np.concatenate([np.frombuffer(r.steps, dtype=blocks.I64) for r in rows])
        stamps = np.concatenate([np.frombuffer(r.timestamps, dtype=blocks.F64) for r in rows])
        return Points(steps[skip:], stamps[skip:], values[skip:])
    keep = blocks.downsample_indices(values[skip:], max_points) + skip
    counts = np.array([len(r.vals) // 8 for r in rows], dtype=np.int64)
    firsts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    bounds = np.searchsorted(keep, np.append(firsts, len(values)))
    steps_out = np.empty(len(keep), dtype=np.int64)
    stamps_out = np.empty(len(keep), dtype=np.float64)
    for i, row in enumerate(rows):
        lo, hi = bounds[i], bounds[i + 1]
        if lo == hi:
            continue
        local = keep[lo:hi] - firsts[i]
        steps_out[lo:hi] = np.frombuffer(row.steps, dtype=blocks.I64)[local]
        stamps_out[lo:hi] = np.frombuffer(row.timestamps, dtype=blocks.F64)[local]
    return Points(steps_out, stamps_out, values[keep])


def _values_out(values: blocks.Values, value_type: str) -> list[MetricValue]:
    if isinstance(values, list):
        return list(values)
    if value_type == "int":
        return values.astype(np.int64, copy=False).tolist()  # type: ignore[no-any-return]
    if value_type == "bool":
        return (values != 0).tolist()  # type: ignore[no-any-return]
    return values.astype(blocks.F64, copy=False).tolist()  # type: ignore[no-any-return]


def records(conn: Connection, run_id: str, key: str | None) -> list[MetricRecord]:
    query = sa.select(metric_records).where(metric_records.c.run_id == run_id)
    if key is not None:
        query = query.where(metric_records.c.key == key)
    rows = conn.execute(query.order_by(metric_records.c.id)).all()
    if not rows:
        runs_mod.ensure_exists(conn, run_id)
    return [
        MetricRecord(
            key=row.key,
            kind=row.kind,
            payload=json.loads(row.payload),
            timestamp=row.timestamp,
            seq=int(row.seq),
        )
        for row in rows
    ]


def journal_offset(conn: Connection, run_id: str) -> int:
    value = conn.execute(sa.select(runs.c.journal_offset).where(runs.c.id == run_id)).first()
    if value is None:
        runs_mod.ensure_exists(conn, run_id)
    return 0 if value is None else int(value[0])
