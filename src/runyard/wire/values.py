"""How values travel as JSON, exactly: the one encoding both sides of the wire use.

JSON itself carries most values exactly: an ``int`` is a JSON integer (any int64, and
Python's ``json`` keeps every digit), a ``float`` is written with a fraction or an
exponent (``repr`` round-trips every float64, ``-0.0`` included), ``True``/``False``
are JSON booleans and a ``str`` a JSON string, so a reader tells the four types apart
without any hint. Only the non-finite floats have no JSON spelling; each travels as a
one-key object, the same everywhere (metric values, summaries, record payloads, run
definitions, environment specs)::

    {"$float": "NaN"}   {"$float": "Infinity"}   {"$float": "-Infinity"}

An object cannot be mistaken for a logged value (metric values are never objects), so
the string ``"NaN"`` logged to a ``str`` metric stays that string. Integers are limited
to int64, what the journal and the stores hold; a bigger one is refused, never rounded.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, WithJsonSchema
from typing_extensions import TypedDict

from runyard.entities import MetricValue
from runyard.errors import ValidationError

__all__ = [
    "MAX_INT64",
    "MIN_INT64",
    "ValueJson",
    "decode_any",
    "decode_value",
    "decode_values",
    "encode_any",
    "encode_value",
    "encode_values",
]

MIN_INT64 = -(2**63)
MAX_INT64 = 2**63 - 1
FLOAT_TAG = "$float"

_NONFINITE_NAMES = ("NaN", "Infinity", "-Infinity")
_BY_NAME = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

NonFiniteJson = TypedDict("NonFiniteJson", {"$float": Literal["NaN", "Infinity", "-Infinity"]})

_VALUE_SCHEMA: dict[str, Any] = {
    "description": 'a bool, int64, float, str, or {"$float": "NaN" | "Infinity" | '
    '"-Infinity"} for a non-finite float',
    "anyOf": [
        {"type": "boolean"},
        {"type": "integer", "minimum": MIN_INT64, "maximum": MAX_INT64},
        {"type": "number"},
        {"type": "string"},
        {
            "type": "object",
            "properties": {FLOAT_TAG: {"enum": list(_NONFINITE_NAMES)}},
            "required": [FLOAT_TAG],
            "additionalProperties": False,
        },
    ],
}

# One metric value on the wire. Strict members keep the type JSON gave (1 stays an int,
# 1.0 a float, true a bool); the int64 range is checked by ``decode_value`` so that a
# too-big integer is an error naming the metric, never silently a float.
ValueJson: TypeAlias = Annotated[
    StrictBool | StrictInt | StrictFloat | StrictStr | NonFiniteJson,
    WithJsonSchema(_VALUE_SCHEMA),
]
Int64 = Annotated[int, Field(ge=MIN_INT64, le=MAX_INT64)]
NonNegativeInt64 = Annotated[int, Field(ge=0, le=MAX_INT64)]


def float_name(value: float) -> str:
    """``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` for a non-finite float."""
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def encode_value(value: Any) -> Any:
    """One value for JSON: a non-finite float becomes its tag, a numpy scalar a
    Python one."""
    if isinstance(value, float):
        return value if math.isfinite(value) else {FLOAT_TAG: float_name(value)}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return encode_value(value.item())  # a numpy scalar
    return value


def encode_values(values: Any) -> list[Any]:
    """A column of values for JSON (a list, or a numpy array via ``tolist``)."""
    if getattr(getattr(values, "dtype", None), "kind", None) == "f":
        import numpy as np  # imported already by whoever made the array

        out: list[Any] = values.tolist()
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            out[i] = {FLOAT_TAG: float_name(out[i])}
        return out
    plain = values.tolist() if hasattr(values, "tolist") else list(values)
    isfinite = math.isfinite
    return [
        v if not isinstance(v, float) or isfinite(v) else {FLOAT_TAG: float_name(v)} for v in plain
    ]


def decode_value(value: Any, where: str = "a value") -> MetricValue:
    """Undoes :func:`encode_value` for one metric value; an integer beyond int64 is a
    ValidationError naming ``where``."""
    if isinstance(value, dict):
        return _BY_NAME[value[FLOAT_TAG]]
    if type(value) is int and not MIN_INT64 <= value <= MAX_INT64:
        raise ValidationError(
            f"{where} holds the integer {value}, beyond the 64-bit range that metric "
            "values are limited to; log it as a float or a str"
        )
    result: MetricValue = value
    return result


def decode_values(values: Sequence[Any], where: str = "a metric") -> list[MetricValue]:
    """Undoes :func:`encode_values`; see :func:`decode_value`."""
    out = list(values)
    for i, v in enumerate(out):
        if isinstance(v, dict) or (type(v) is int and not MIN_INT64 <= v <= MAX_INT64):
            out[i] = decode_value(v, where)
    return out


def encode_any(obj: Any) -> Any:
    """A JSON-able copy of ``obj`` (a definition, spec or record payload): non-finite
    floats tagged, enums as their values, tuples and numpy arrays as lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {FLOAT_TAG: float_name(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return {str(k): encode_any(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode_any(v) for v in obj]
    if hasattr(obj, "tolist"):  # a numpy array or scalar
        return encode_any(obj.tolist())
    return obj


def decode_any(obj: Any) -> Any:
    """Undoes :func:`encode_any`."""
    if isinstance(obj, dict):
        if len(obj) == 1 and obj.get(FLOAT_TAG) in _BY_NAME:
            return _BY_NAME[obj[FLOAT_TAG]]
        return {k: decode_any(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_any(v) for v in obj]
    return obj
