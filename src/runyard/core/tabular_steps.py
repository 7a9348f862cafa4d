"""How a TabularDataset's steps shape the table it reads, in the order they were asked.

A tabular definition (``definition["tabular"]``) keeps the read options (format,
separator, header, ``partition_format``, ``include_path``), the timestamp columns, and
``steps``: a list of JSON objects, one per ``skip``/``take``/``drop_columns``/
``keep_columns``/``time_*`` filter/``take_sample`` call, applied to the whole table one
after another (so ``take(5).time_after(t)`` and ``time_after(t).take(5)`` differ, as in
the SDK). Definitions made before steps existed keep ``skip``/``take`` as two fields,
applied first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from runyard.errors import ValidationError

__all__ = ["apply_steps", "time_bound"]


def time_bound(value: Any, what: str) -> str | None:
    """A filter's bound as ISO text for the definition (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                f"{what} {value!r} is not a date and time; pass a datetime, e.g. "
                "datetime(2019, 6, 12), or ISO text like '2019-06-12T00:00:00'"
            ) from None
    if not isinstance(value, datetime):
        raise ValidationError(
            f"{what} must be a datetime (e.g. datetime(2019, 6, 12)), not {type(value).__name__}"
        )
    return value.isoformat()


def apply_steps(df: Any, tab: Mapping[str, Any]) -> Any:
    """``df`` (the concatenated files) after the definition's steps."""
    skip, take = int(tab.get("skip") or 0), tab.get("take")  # the pre-steps fields
    if skip or take is not None:
        df = df.iloc[skip : None if take is None else skip + int(take)]
    for step in tab.get("steps") or ():
        df = _STEPS[step["op"]](df, step)
    return df.reset_index(drop=True)


def _skip(df: Any, step: Mapping[str, Any]) -> Any:
    return df.iloc[int(step["count"]) :]


def _take(df: Any, step: Mapping[str, Any]) -> Any:
    return df.iloc[: int(step["count"])]


def _drop(df: Any, step: Mapping[str, Any]) -> Any:
    # As the SDK's: a column the table lacks is nothing to drop, not an error.
    return df.drop(columns=[c for c in step["columns"] if c in df.columns])


def _keep(df: Any, step: Mapping[str, Any]) -> Any:
    columns: Sequence[str] = step["columns"]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValidationError(
            f"keep_columns: {missing} not in the dataset; its columns are "
            f"{list(df.columns)} (fix the names, or drop the keep_columns step)"
        )
    return df[list(columns)]


def _time(df: Any, step: Mapping[str, Any]) -> Any:
    import pandas as pd

    column = step["column"]
    if column not in df.columns:
        raise ValidationError(
            f"time filter on timestamp column {column!r}, which the dataset does not have "
            f"(its columns: {list(df.columns)}); set the right one with with_timestamp_columns()"
        )
    times = df[column]
    if not pd.api.types.is_datetime64_any_dtype(times):
        try:
            times = pd.to_datetime(times)
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"timestamp column {column!r} does not hold dates and times ({exc}); "
                "choose another with with_timestamp_columns()"
            ) from None
    tz = getattr(times.dt, "tz", None)
    keep = pd.Series(True, index=df.index)
    for key, after in (("lower", True), ("upper", False)):
        if step.get(key) is None:
            continue
        bound = pd.Timestamp(step[key])
        # A naive bound against an aware column is read as UTC, and the other way round.
        if tz is not None and bound.tzinfo is None:
            bound = bound.tz_localize("UTC")
        elif tz is None and bound.tzinfo is not None:
            bound = bound.tz_convert("UTC").tz_localize(None)
        if after:
            keep &= times >= bound if step["include_boundary"] else times > bound
        else:
            keep &= times <= bound if step["include_boundary"] else times < bound
    return df[keep]


def _sample(df: Any, step: Mapping[str, Any]) -> Any:
    import numpy as np

    draws = np.random.default_rng(int(step["seed"])).random(len(df))
    below = draws < float(step["probability"])
    return df[below if step.get("part", "below") == "below" else ~below]


_STEPS = {
    "skip": _skip,
    "take": _take,
    "drop": _drop,
    "keep": _keep,
    "time": _time,
    "sample": _sample,
}
