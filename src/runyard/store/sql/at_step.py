"""A metric's value at one step across runs: the runs table's ``at(metrics.NAME, STEP)``.

Each block records the range of steps it holds, so only the blocks whose range contains
the step are read and unpacked. A step logged more than once gives its last value, as a
chart at that step shows it; a run with no point at the step has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import MetricValue
from runyard.store.sql import blocks
from runyard.store.sql.metrics import _values_out
from runyard.store.sql.schema import metric_blocks, metric_summaries


def values_at_step(
    conn: Connection, run_ids: Sequence[str], key: str, step: int
) -> dict[str, MetricValue]:
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    types = dict(
        conn.execute(
            sa.select(metric_summaries.c.run_id, metric_summaries.c.value_type).where(
                metric_summaries.c.run_id.in_(ids), metric_summaries.c.key == key
            )
        ).all()
    )
    rows = conn.execute(
        sa.select(
            metric_blocks.c.run_id,
            metric_blocks.c.steps,
            metric_blocks.c.vals,
            metric_blocks.c.vals_type,
        )
        .where(
            metric_blocks.c.run_id.in_(list(types)),
            metric_blocks.c.key == key,
            metric_blocks.c.step_min <= step,
            metric_blocks.c.step_max >= step,
        )
        .order_by(metric_blocks.c.run_id, metric_blocks.c.seq)
    ).all()
    found: dict[str, MetricValue] = {}
    for row in rows:  # in logging order per run: a later block's point wins
        at = np.flatnonzero(np.frombuffer(row.steps, dtype=blocks.I64) == step)
        if not at.size:
            continue
        value_type = types[row.run_id]
        if blocks.is_str_type(value_type):
            found[row.run_id] = blocks.unpack_values(row.vals, "json")[int(at[-1])]
            continue
        values: Any = blocks.unpack_values(row.vals, row.vals_type)[at[-1:]]
        if value_type == "float":
            values = values.astype(blocks.F64, copy=False)
        found[row.run_id] = _values_out(values, value_type)[0]
    return found
