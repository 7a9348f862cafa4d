"""A metric's points within a step range, for a chart zoomed in: the whole series is
read (blocks are decoded in C; 100k points take milliseconds), the range kept, and that
down-sampled again with the store's peak-keeping rule, so a zoom shows full detail."""

from __future__ import annotations

from typing import Any

import numpy as np

from runyard.entities import MetricSeries
from runyard.errors import ValidationError
from runyard.store.base import Store
from runyard.store.sql.blocks import downsample_indices


def series_in_steps(
    store: Store,
    run_id: str,
    key: str,
    *,
    step_min: int | None,
    step_max: int | None,
    max_points: int | None,
) -> MetricSeries:
    """The points with ``step_min <= step <= step_max`` (either bound may be open), in
    logging order, at most ``max_points`` of them (each bucket's min and max kept)."""
    if step_min is not None and step_max is not None and step_min > step_max:
        raise ValidationError(f"step_min ({step_min}) is above step_max ({step_max})")
    whole = store.get_metric_series(run_id, key)
    steps = np.asarray(whole.steps, dtype=np.int64)
    mask = np.ones(len(steps), dtype=bool)
    if step_min is not None:
        mask &= steps >= step_min
    if step_max is not None:
        mask &= steps <= step_max
    picked = np.flatnonzero(mask)
    if max_points is not None and len(picked) > max_points:
        values: Any = [whole.values[i] for i in picked.tolist()]
        if not any(isinstance(v, str) for v in values[:1]):
            values = np.asarray(values, dtype=np.float64)  # str series: evenly spaced
        picked = picked[downsample_indices(values, max_points)]
    index = picked.tolist()
    return MetricSeries(
        key=key,
        steps=[whole.steps[i] for i in index],
        timestamps=[whole.timestamps[i] for i in index],
        values=[whole.values[i] for i in index],
        total_count=whole.total_count,
        downsampled=len(index) < int(mask.sum()),
    )
