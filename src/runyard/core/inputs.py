"""Checks of what the Python API is given, with errors that name the problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.config import MAX_NAME_LENGTH, check_utf8
from runyard.errors import MetricTypeError, ValidationError


def plain_value(value: Any, name: str) -> Any:
    """A JSON-able scalar for list, row and table metrics (numpy scalars unwrapped)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    raise MetricTypeError(f"metric {name!r}: cannot log a value of type {type(value).__name__}")


def check_strings(kind: str, values: Mapping[str, Any], limit: int) -> dict[str, str]:
    """Tags or properties as a dict of str, with errors naming the bad one."""
    if not isinstance(values, Mapping):
        raise ValidationError(f"{kind}s must be given as a dict of names to values")
    out = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key or len(key) > MAX_NAME_LENGTH:
            raise ValidationError(
                f"{kind} name {str(key)[:50]!r} must be a non-empty string of at most "
                f"{MAX_NAME_LENGTH} characters"
            )
        text = value if isinstance(value, str) else str(value)
        check_utf8(f"{kind} {key!r}", key + text)
        if len(text) > limit:
            raise ValidationError(
                f"{kind} {key!r}: value of {len(text)} characters is over the limit of {limit}"
            )
        out[key] = text
    return out
