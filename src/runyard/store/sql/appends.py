"""Appending a metric's points: append-only blocks, compaction, and the summary row.

An ingest batch never rewrites stored points. Its points go into new blocks at the end
of the metric: full blocks of ``BLOCK_SIZE`` points, and a small block for the rest.
Small blocks at the end form the metric's *tail* (from ``tail_seq``, point
``tail_start``). Compaction replaces the tail by full blocks once the tail and a new
batch reach a full block's worth, and merges what is left of the tail into one block
when the run ends. So a script that logs one point per ingest tick writes each point
twice (once small, once compacted), not once per tick as a rewritten last block would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.store.sql import blocks
from runyard.store.sql.blocks import BLOCK_SIZE, Batch, Points
from runyard.store.sql.schema import metric_blocks, metric_summaries

SUMMARY_VALUES = (
    "count", "last_step", "value_type", "last", "last_text", "min", "max",
    "last_int", "min_int", "max_int", "block_count", "tail_seq", "tail_start",
)  # fmt: skip
INSERT_BLOCKS = metric_blocks.insert()
INSERT_SUMMARIES = metric_summaries.insert()
UPDATE_SUMMARIES = (
    metric_summaries.update()
    .where(
        metric_summaries.c.run_id == sa.bindparam("run_id_"),
        metric_summaries.c.key == sa.bindparam("key_"),
    )
    .values({name: sa.bindparam(name) for name in SUMMARY_VALUES})
)


@dataclass
class Writes:
    """The rows an append's batches write, gathered so that each table takes one
    statement for all the metrics of a call (an ingest tick of a small run writes a
    point or two of each of several metrics)."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    new_summaries: list[dict[str, Any]] = field(default_factory=list)
    changed_summaries: list[dict[str, Any]] = field(default_factory=list)

    def execute(self, conn: Connection) -> None:
        if self.blocks:
            conn.execute(INSERT_BLOCKS, self.blocks)
        if self.new_summaries:
            conn.execute(INSERT_SUMMARIES, self.new_summaries)
        if self.changed_summaries:
            conn.execute(UPDATE_SUMMARIES, self.changed_summaries)


def append_batch(conn: Connection, run_id: str, batch: Batch, summary: Any, writes: Writes) -> None:
    """Adds one metric's batch (checked against ``summary``, its row or None) to
    ``writes``; a tail it compacts is read and deleted at once."""
    count = 0 if summary is None else int(summary._mapping["count"])
    block_count = 0 if summary is None else int(summary.block_count)
    tail_seq = block_count if summary is None else int(summary.tail_seq)
    tail_start = count if summary is None else int(summary.tail_start)
    value_type = batch.value_type
    if summary is not None and not blocks.is_str_type(value_type):
        value_type = blocks.widen(summary.value_type, value_type)
    points = batch.points
    if value_type == "float":
        points = Points(points.steps, points.timestamps, blocks.as_float(points.values))
    new_points = points

    if count - tail_start + len(points) >= BLOCK_SIZE:
        # The tail and the batch fill at least one block: compact them together. The
        # full blocks are settled; a short last block is the new tail.
        if count > tail_start:
            points = blocks.concat(_take_tail(conn, run_id, batch.key, tail_seq), points)
        seq, first = tail_seq, tail_start
        full = len(points) // BLOCK_SIZE
        tail_seq, tail_start = tail_seq + full, tail_start + full * BLOCK_SIZE
    else:
        # A small block at the end, in the tail; nothing stored is touched.
        seq, first = block_count, count
    for offset in range(0, len(points), BLOCK_SIZE):
        chunk = points.slice(offset, offset + BLOCK_SIZE)
        writes.blocks.append(_block_row(run_id, batch.key, seq, first + offset, chunk))
        seq += 1
    values = summary_values(new_points, value_type, summary, count)
    values.update(block_count=seq, tail_seq=tail_seq, tail_start=tail_start)
    if summary is None:
        writes.new_summaries.append({"run_id": run_id, "key": batch.key, **values})
    else:
        writes.changed_summaries.append({"run_id_": run_id, "key_": batch.key, **values})


def _block_row(run_id: str, key: str, seq: int, first_index: int, points: Points) -> Any:
    row = {"run_id": run_id, "key": key, "seq": seq, "first_index": first_index}
    return {**row, **blocks.pack(points)}


def _take_tail(conn: Connection, run_id: str, key: str, tail_seq: int) -> Points:
    """Reads and deletes the metric's tail blocks; returns their points in order."""
    where = (
        metric_blocks.c.run_id == run_id,
        metric_blocks.c.key == key,
        metric_blocks.c.seq >= tail_seq,
    )
    found = conn.execute(
        sa.select(
            metric_blocks.c.steps,
            metric_blocks.c.timestamps,
            metric_blocks.c.vals,
            metric_blocks.c.vals_type,
        )
        .where(*where)
        .order_by(metric_blocks.c.seq)
    ).all()
    conn.execute(metric_blocks.delete().where(*where))
    parts = [blocks.unpack(r.steps, r.timestamps, r.vals, r.vals_type) for r in found]
    joined = parts[0]
    for part in parts[1:]:
        joined = blocks.concat(joined, part)
    return joined


def compact_run(conn: Connection, run_id: str) -> None:
    """Merges each metric's tail into one block: the run has ended."""
    rows = conn.execute(
        sa.select(
            metric_summaries.c.key, metric_summaries.c.tail_seq, metric_summaries.c.tail_start
        ).where(
            metric_summaries.c.run_id == run_id,
            metric_summaries.c.block_count - metric_summaries.c.tail_seq > 1,
        )
    ).all()
    for row in rows:
        points = _take_tail(conn, run_id, row.key, int(row.tail_seq))
        conn.execute(
            metric_blocks.insert(),
            [_block_row(run_id, row.key, int(row.tail_seq), int(row.tail_start), points)],
        )
        conn.execute(
            metric_summaries.update()
            .where(metric_summaries.c.run_id == run_id, metric_summaries.c.key == row.key)
            .values(block_count=int(row.tail_seq) + 1)
        )


def summary_values(points: Points, value_type: str, summary: Any, count: int) -> dict[str, Any]:
    """The summary row's new values after ``points`` (``count`` points before them).
    Floats: sort columns as float64 and the exact last value as its repr; ints and
    bools: exact int64 columns beside the float64 sort columns."""
    values: dict[str, Any] = {
        "count": count + len(points),
        "last_step": int(points.steps[-1]),
        "value_type": value_type,
    }
    none = {"last_int": None, "min_int": None, "max_int": None}
    if isinstance(points.values, list):
        values.update(last=None, last_text=points.values[-1], min=None, max=None, **none)
        return values
    if value_type == "float":
        arr = blocks.as_float(points.values)
        last = float(arr[-1])
        lo, hi = blocks.nan_min_max(arr)
        if summary is not None:
            lo = _merge(min, summary.min, lo)
            hi = _merge(max, summary.max, hi)
        last_sort = None if math.isnan(last) else last
        values.update(last=last_sort, last_text=repr(last), min=lo, max=hi, **none)
        return values
    ints = points.values.astype(np.int64, copy=False)
    last_int, lo_int, hi_int = int(ints[-1]), int(ints.min()), int(ints.max())
    if summary is not None:
        lo_int = _merge(min, _old_int(summary.min_int, summary.min), lo_int)
        hi_int = _merge(max, _old_int(summary.max_int, summary.max), hi_int)
    values.update(
        last=float(last_int),
        last_text=None,
        min=float(lo_int),
        max=float(hi_int),
        last_int=last_int,
        min_int=lo_int,
        max_int=hi_int,
    )
    return values


def _old_int(exact: int | None, approx: float | None) -> int | None:
    """A stored int bound; rows from before exact columns have only the float."""
    if exact is not None:
        return int(exact)
    return None if approx is None or math.isnan(approx) else int(approx)


def _merge(pick: Any, a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)
