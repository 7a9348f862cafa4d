"""Metric points in columns: validation, packing into blocks, and down-sampling.

Pure numpy, no SQL. Float values are float64; int and bool values int64 (bools as 0
and 1), so an int keeps all 64 bits; str values are a JSON list. Packed arrays are
little-endian: int64 steps, float64 timestamps, and values as the block's ``vals_type``
says ("f8", "i8" or "json").
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
Values = FloatArray | IntArray | list[str]
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Floats from 2**63 on do not fit an int64 (2**63 - 1 is no float64).
_INT64_FLOAT_LIMIT = 2.0**63


@dataclass
class Points:
    """Consecutive points of one metric."""

    steps: IntArray
    timestamps: FloatArray
    values: Values  # float64 (float) or int64 (int, bool) array; a list for str metrics

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


def _numeric_values(key: str, value_type: str, raw: Any) -> tuple[FloatArray | IntArray, str]:
    """float64 values for a float metric, exact int64 for int and bool metrics."""
    arr = np.asarray(raw)
    if arr.size and arr.dtype.kind == "O" and value_type != "float":
        arr = _object_ints(key, arr)
    if arr.size and (arr.ndim != 1 or arr.dtype.kind not in "fiub"):
        bad = next((v for v in arr.ravel().tolist() if not _is_number(v)), arr.dtype)
        raise MetricTypeError(
            f"metric {key!r} holds {value_type} values but was given "
            f"{type(bad).__name__} {bad!r}; log text under another metric name"
        )
    if not arr.size:
        empty: Any = np.zeros(0, dtype=I64 if value_type != "float" else F64)
        return empty, value_type
    if value_type == "float":
        return arr.astype(F64, copy=False), value_type
    if arr.dtype.kind == "u" and int(arr.max()) > _INT64_MAX:
        return arr.astype(F64), "float"  # beyond int64: stored as float, as the journal does
    if arr.dtype.kind == "f":
        # A declared int/bool metric with fractional (or NaN, or out-of-range) values is
        # stored as float, so reading it back never truncates.
        finite = bool(np.isfinite(arr).all())
        if not finite or not np.array_equal(arr, np.round(arr)):
            return arr.astype(F64, copy=False), "float"
        if bool((np.abs(arr) >= _INT64_FLOAT_LIMIT).any()):
            return arr.astype(F64, copy=False), "float"
    values = arr.astype(I64, copy=False)
    if value_type == "bool" and not bool(np.isin(values, (0, 1)).all()):
        value_type = "int"
    return values, value_type


def _object_ints(key: str, arr: Any) -> Any:
    """Python ints beyond int64 (numpy keeps them as objects): a clear error."""
    for v in arr.ravel().tolist():
        if isinstance(v, int) and not isinstance(v, bool) and not _INT64_MIN <= v <= _INT64_MAX:
            raise ValidationError(
                f"metric {key!r}: the int {v} does not fit in 64 bits; log it as a float"
            )
    return arr


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, str)


def as_float(values: Values) -> FloatArray:
    """Numeric values as float64 (for a metric widened from int to float)."""
    assert not isinstance(values, list)
    return values.astype(F64, copy=False)


def concat(a: Points, b: Points) -> Points:
    values: Values
    if isinstance(a.values, list):
        values = a.values + list(b.values)
    else:
        assert not isinstance(b.values, list)
        if a.values.dtype == b.values.dtype:
            values = np.concatenate((a.values, b.values))  # type: ignore[assignment]
        else:  # int64 and float64: the float metric it has become
            values = np.concatenate((as_float(a.values), as_float(b.values)))
    return Points(
        np.concatenate((a.steps, b.steps)), np.concatenate((a.timestamps, b.timestamps)), values
    )


def vals_type_of(values: Values) -> str:
    if isinstance(values, list):
        return "json"
    return "i8" if values.dtype.kind in "iub" else "f8"


def pack(points: Points) -> dict[str, Any]:
    """A block row's packed columns and ranges (without run_id, key, seq, first_index).
    ``value_min``/``value_max`` are float64 (approximate for ints beyond 2**53)."""
    vals_type = vals_type_of(points.values)
    if isinstance(points.values, list):
        vals = json.dumps(points.values, ensure_ascii=False).encode("utf-8")
        vmin = vmax = None
    elif vals_type == "i8":
        vals = points.values.astype(I64, copy=False).tobytes()
        vmin, vmax = float(points.values.min()), float(points.values.max())
    else:
        vals = points.values.astype(F64, copy=False).tobytes()
        vmin, vmax = nan_min_max(points.values)  # type: ignore[arg-type]
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
        "vals_type": vals_type,
    }


def unpack_values(vals: bytes, vals_type: str) -> Values:
    if vals_type == "json":
        values: list[str] = json.loads(bytes(vals).decode("utf-8"))
        return values
    if vals_type == "i8":
        return np.frombuffer(vals, dtype=np.int64)
    return np.frombuffer(vals, dtype=np.float64)


def unpack(steps: bytes, timestamps: bytes, vals: bytes, vals_type: str) -> Points:
    return Points(
        np.frombuffer(steps, dtype=I64),
        np.frombuffer(timestamps, dtype=F64),
        unpack_values(vals, vals_type),
    )


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
    nan = np.isnan(values) if values.dtype.kind == "f" else None  # ints have no NaN
    lows: Any
    highs: Any
    if nan is not None and nan.any():
        lows = np.where(nan, np.inf, values)
        highs = np.where(nan, -np.inf, values)
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
