"""Input checks shared by the store's modules: each error names the limit and the fix."""

from __future__ import annotations

import re
from collections.abc import Mapping

from runyard.config import (
    MAX_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_utf8,
    validate_resource_name,
)
from runyard.errors import ConfigError, ValidationError

_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


MAX_DISPLAY_NAME_LENGTH = 1024  # the column's size


def check_display_name(name: object) -> str:
    if not isinstance(name, str):
        raise ValidationError("display_name must be a string")
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise ValidationError(
            f"display name is {len(name)} characters long; the limit is "
            f"{MAX_DISPLAY_NAME_LENGTH}: keep details in tags or properties"
        )
    return check_utf8("display_name", name)


def check_name(kind: str, name: object) -> str:
    """Metric, tag and property names: a non-empty str of at most MAX_NAME_LENGTH."""
    if not isinstance(name, str):
        raise ValidationError(f"{kind} name must be a string, got {type(name).__name__}")
    if not name:
        raise ValidationError(f"{kind} name is empty; give it a name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"{kind} name {name[:40]!r}... is {len(name)} characters long; the limit is "
            f"{MAX_NAME_LENGTH} (runyard.config.MAX_NAME_LENGTH): use a shorter name"
        )
    if "\x00" in name:
        raise ValidationError(f"{kind} name {name!r} contains a NUL character")
    return check_utf8(f"{kind} name", name)


def check_resource_name(kind: str, name: object) -> str:
    """Experiment and environment names (letters, digits, ``_.-``)."""
    try:
        return validate_resource_name(kind, name)
    except ConfigError as exc:
        raise ValidationError(str(exc)) from None


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise ValidationError("a run id must be a non-empty string")
    if len(run_id) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"run id is {len(run_id)} characters long; the limit is {MAX_NAME_LENGTH}"
        )
    if not _RUN_ID_RE.match(run_id):
        raise ValidationError(
            f"run id {run_id!r} may only contain letters, digits, '_', '.' and '-' "
            "(it appears in URLs and folder names)"
        )
    return run_id


def check_string_map(kind: str, items: Mapping[str, str]) -> dict[str, str]:
    """Tags and properties: names per check_name, str values of limited length."""
    out: dict[str, str] = {}
    for key, value in items.items():
        check_name(kind, key)
        if not isinstance(value, str):
            raise ValidationError(
                f"{kind} {key!r} must have a str value, got {type(value).__name__}; "
                "convert it with str()"
            )
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise ValidationError(
                f"{kind} {key!r} has a value of {len(value)} characters; the limit is "
                f"{MAX_TAG_VALUE_LENGTH} (runyard.config.MAX_TAG_VALUE_LENGTH): store "
                "long text as a run file instead"
            )
        if "\x00" in value:
            raise ValidationError(f"{kind} {key!r} has a value with a NUL character")
        out[key] = check_utf8(f"{kind} {key!r}", value)
    return out
