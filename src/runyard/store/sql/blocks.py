"""Metric points in columns: validation, packing into blocks, and down-sampling.

Pure numpy, no SQL. Numeric values (float, int, bool) are float64; str values are a
JSON list. Packed arrays are little-endian: int64 steps, float64 timestamps and values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from runyard.config import MAX_STRING_METRIC_LENGTH, check_utf8
from runyard.entities import MetricColumns
from runyard.errors import MetricTypeError, ValidationError
from runyard.store.sql.validate import check_name

BLOCK_SIZE = 4096
NUMERIC_TYPES = ("bool", "int", "float")  # in widening order
VALUE_TYPES = (*NUMERIC_TYPES, "str")

I64 = np.dtype("<i8")
F64 = np.dtype("<f8")
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Values = FloatArray | list[str]


@dataclass
class Points:
    """Consecutive points of one metric."""

    steps: IntArray
    timestamps: FloatArray
    values: Values  # float64 array, or a list for str metrics

    def __len__(self) -> int:
        return len(self.steps)

    def slice(self, start: int, stop: int) -> Points:
        return Points(self.steps[start:stop], self.timestamps[start:stop], self.values[start:stop])


@dataclass
class Batch:
    key: str
    value_type: str
    points: Points


def widen(a: str, b: str) -> str:
    """The numeric type that holds both (bool < int < float)."""
    return a if NUMERIC_TYPES.index(a) >= NUMERIC_TYPES.index(b) else b


def is_str_type(value_type: str) -> bool:
    return value_type == "str"


def _as_array(name: str, key: str, seq: Any, dtype: np.dtype[Any], kinds: str) -> Any:
    arr = np.asarray(seq)
    if arr.size == 0:
        return np.zeros(0, dtype=dtype)
    if arr.ndim != 1 or arr.dtype.kind not in kinds:
        raise ValidationError(
            f"metric {key!r}: {name} must be a flat sequence of numbers, "
            f"got an array of {arr.dtype}"
        )
    return arr.astype(dtype, copy=False)


def normalize(columns: MetricColumns) -> Batch:
    """Checks one batch and converts it to arrays; MetricTypeError names the metric."""
    key = check_name("metric", columns.key)
    value_type = columns.value_type
    if value_type not in VALUE_TYPES:
        raise MetricTypeError(
            f"metric {key!r} has value type {value_type!r}; expected one of "
            f"{', '.join(VALUE_TYPES)}"
        )
    n = len(columns.steps)
    if len(columns.timestamps) != n or len(columns.values) != n:
        raise ValidationError(
            f"metric {key!r}: steps, timestamps and values differ in length "
            f"({n}, {len(columns.timestamps)}, {len(columns.values)})"
        )
    steps = _as_array("steps", key, columns.steps, I64, "iub")
    timestamps = _as_array("timestamps", key, columns.timestamps, F64, "fiub")
    if timestamps.size and not bool(np.isfinite(timestamps).all()):
        raise ValidationError(
            f"metric {key!r}: timestamps must be finite seconds since the epoch "
            "(got NaN or infinity)"
        )
    if is_str_type(value_type):
        values: Values = _str_values(key, columns.values)
    else:
        values, value_type = _numeric_values(key, value_type, columns.values)
    return Batch(key, value_type, Points(steps, timestamps, values))


def _str_values(key: str, raw: Any) -> list[str]:
    values = raw.tolist() if isinstance(raw, np.ndarray) else list(raw)
    for value in values:
        if not isinstance(value, str):
            raise MetricTypeError(
                f"metric {key!r} holds str values but was given a "
                f"{type(value).__name__} ({value!r}); log numbers under another name"
            )
        if len(value) > MAX_STRING_METRIC_LENGTH:
            raise ValidationError(
                f"metric {key!r}: a str value of {len(value)} characters exceeds the limit "
                f"of {MAX_STRING_METRIC_LENGTH} (runyard.config.MAX_STRING_METRIC_LENGTH); "
                "save long text as a run file"
            )
        check_utf8(f"metric {key!r}: a str value", value)
    return values


def _numeric_values(key: str, value_type: str, raw: Any) -> tuple[FloatArray, str]:
    arr = np.asarray(raw)
    if arr.size and (arr.ndim != 1 or arr.dtype.kind not in "fiub"):
        bad = next((v for v in arr.ravel().tolist() if not _is_number(v)), arr.dtype)
        raise MetricTypeError(
            f"metric {key!r} holds {value_type} values but was given "
            f"{type(bad).__name__} {bad!r}; log text under another metric name"
        )
    values = arr.astype(F64, copy=False) if arr.size else np.zeros(0, dtype=F64)
    # A declared int/bool metric with fractional (or NaN) values is stored as float,
    # so reading it back never truncates.
    if value_type != "float" and values.size:
        if not np.array_equal(values, np.round(values)):
            value_type = "float"
        elif value_type == "bool" and not np.isin(values, (0.0, 1.0)).all():
            value_type = "int"
    return values, value_type


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, str)


def concat(a: Points, b: Points) -> Points:
    if isinstance(a.values, list):
        values: Values = a.values + list(b.values)
    else:
        values = np.concatenate((a.values, np.asarray(b.values, dtype=F64)))
    return Points(
        np.concatenate((a.steps, b.steps)), np.concatenate((a.timestamps, b.timestamps)), values
    )


def pack(points: Points) -> dict[str, Any]:
    """A block row's packed columns and ranges (without run_id, key, seq, first_index)."""
    if isinstance(points.values, list):
        vals = json.dumps(points.values, ensure_ascii=False).encode("utf-8")
        vmin = vmax = None
    else:
        vals = points.values.astype(F64, copy=False).tobytes()
        vmin, vmax = nan_min_max(points.values)
    return {
        "count": len(points),
        "step_min": int(points.steps.min()),
        "step_max": int(points.steps.max()),
        "time_min": float(points.timestamps.min()),
        "time_max": float(points.timestamps.max()),
        "value_min": vmin,
        "value_max": vmax,
        "steps": points.steps.astype(I64, copy=False).tobytes(),
        "timestamps": points.timestamps.astype(F64, copy=False).tobytes(),
        "vals": vals,
    }


def unpack(steps: bytes, timestamps: bytes, vals: bytes, value_type: str) -> Points:
    values: Values
    if is_str_type(value_type):
        values = json.loads(bytes(vals).decode("utf-8"))
    else:
        values = np.frombuffer(vals, dtype=F64)
    return Points(np.frombuffer(steps, dtype=I64), np.frombuffer(timestamps, dtype=F64), values)


def nan_min_max(values: FloatArray) -> tuple[float | None, float | None]:
    """Min and max ignoring NaN; (None, None) when there is no other value."""
    if values.size == 0:
        return None, None
    lo = float(np.fmin.reduce(values))
    if math.isnan(lo):
        return None, None
    return lo, float(np.fmax.reduce(values))


def downsample_indices(values: Values, max_points: int) -> IntArray:
    """Indices to keep so that at most ``max_points`` remain: the first and last point
    and, per bucket, its min and max point (NaN ignored where a bucket has numbers).
    Str series keep evenly spaced points."""
    n = len(values)
    if max_points < 1:
        raise ValidationError(f"max_points must be at least 1, got {max_points}")
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    if max_points < 4 or isinstance(values, list):
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    buckets = (max_points - 2) // 2
    size = -(-n // buckets)
    nan = np.isnan(values)
    if nan.any():
        lows: FloatArray = np.where(nan, np.inf, values)
        highs: FloatArray = np.where(nan, -np.inf, values)
    else:
        lows = highs = values
    full = n // size
    offsets = np.arange(full, dtype=np.int64) * size
    parts = [
        np.array([0, n - 1], dtype=np.int64),
        lows[: full * size].reshape(full, size).argmin(axis=1) + offsets,
        highs[: full * size].reshape(full, size).argmax(axis=1) + offsets,
    ]
    if full * size < n:  # a last, shorter bucket
        parts.append(
            np.array([lows[full * size :].argmin(), highs[full * size :].argmax()]) + full * size
        )
    return np.unique(np.concatenate(parts).astype(np.int64))
