"""What a run may be given, checked in one place.

Every run handle checks its input here before handing it to its metric sink (offline,
submitted script or in-process), so all of them refuse the same input with the same
message; a check raises before anything is written, so a refused call leaves nothing
behind that could spoil a later one.

Scalars given to ``run.log`` are the one exception, for speed: their name, type, step
and string checks happen in the journal's encoder as it packs them
(``tracking/journal.py``), and every sink that logs writes through a ``JournalWriter``.
Names of structured metrics are checked there too, when the record is written.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from runyard.config import MAX_NAME_LENGTH, MAX_TAG_VALUE_LENGTH, check_utf8
from runyard.errors import MetricTypeError, ValidationError
from runyard.store.artifacts import clean_relative_path
from runyard.tracking.journal import check_metric_name

Upload = Path | bytes  # a file to copy, or the bytes of one


def plain_value(value: Any, name: str) -> Any:
    """A JSON-able scalar for list, row and table metrics (numpy scalars unwrapped)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    raise MetricTypeError(f"metric {name!r}: cannot log a value of type {type(value).__name__}")


def list_values(name: str, value: Any) -> list[Any]:
    """``log_list``'s value: a sequence of scalars."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise MetricTypeError(
            f"log_list({name!r}): value must be a list, got {type(value).__name__}"
        )
    return [plain_value(v, name) for v in value]


def row_values(name: str, columns: Mapping[str, Any]) -> dict[str, Any]:
    """``log_row``'s keyword arguments: one value per column."""
    if not columns:
        raise ValidationError(f"log_row({name!r}) needs column values as keyword arguments")
    return {k: plain_value(v, name) for k, v in columns.items()}


def table_columns(name: str, value: Any) -> dict[str, list[Any]]:
    """``log_table``'s value: a dict of equally long columns."""
    if not isinstance(value, Mapping):
        raise MetricTypeError(f"log_table({name!r}): value must be a dict of columns")
    columns = {str(k): [plain_value(v, name) for v in col] for k, col in value.items()}
    if len({len(c) for c in columns.values()}) > 1:
        raise ValidationError(f"log_table({name!r}): columns have different lengths")
    return columns


def image_upload(name: str, path: str | Path | None, plot: Any) -> tuple[str, Upload]:
    """``log_image``'s file: where it goes in the run (``images/...``) and its source,
    an image file or a matplotlib figure (or ``pyplot``) rendered as a PNG."""
    check_metric_name(name)  # now: the file is uploaded before the record is written
    if (path is None) == (plot is None):
        raise ValidationError(f"log_image({name!r}) takes exactly one of path= or plot=")
    safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)[:100]
    if path is not None:
        source = Path(path)
        if not source.is_file():
            raise ValidationError(f"log_image({name!r}): {source} is not a file")
        return f"images/{safe}{source.suffix or '.png'}", source
    buf = io.BytesIO()
    plot.savefig(buf, format="png")
    return f"images/{safe}.png", buf.getvalue()


def upload(name: str, path_or_stream: str | Path | BinaryIO) -> tuple[str, Upload]:
    """``upload_file``'s target path in the run and its source (a stream is read now)."""
    target = clean_relative_path(name)
    if isinstance(path_or_stream, (str, Path)):
        source = Path(path_or_stream)
        if not source.is_file():
            raise ValidationError(f"upload_file({name!r}): {source} is not a file")
        return target, source
    return target, path_or_stream.read()


def folder_files(name: str, path: str | Path) -> list[tuple[str, Path]]:
    """``upload_folder``'s files: (target path in the run, source file), sorted."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValidationError(f"upload_folder({name!r}): {folder} is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [(clean_relative_path(f"{name}/{f.relative_to(folder).as_posix()}"), f) for f in files]


def strings(kind: str, values: Mapping[str, Any], limit: int) -> dict[str, str]:
    """Tags or properties as a dict of str, with errors naming the bad one."""
    if not isinstance(values, Mapping):
        raise ValidationError(f"{kind}s must be given as a dict of names to values")
    out = {}
    for key, value in values.items():
        _name(kind, key)
        text = value if isinstance(value, str) else str(value)
        check_utf8(f"{kind} {key!r}", text)
        if "\x00" in text:
            raise ValidationError(f"{kind} {key!r} has a value with a NUL character")
        if len(text) > limit:
            raise ValidationError(
                f"{kind} {key!r}: value of {len(text)} characters is over the limit of {limit}"
            )
        out[key] = text
    return out


def _name(kind: str, key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"{kind} name {str(key)[:50]!r} must be a non-empty string of at most "
            f"{MAX_NAME_LENGTH} characters"
        )
    check_utf8(f"{kind} {key!r}", key)
    # The store refuses NUL too; checked here so that a submitted script hears of it at
    # once, not as a warning when its runner applies the journal.
    if "\x00" in key:
        raise ValidationError(f"{kind} name {key!r} contains a NUL character")
    return key


def tag_names(names: Iterable[Any] | str) -> list[str]:
    """``run.remove_tags``'s names: a list of tag names, or one name as a string."""
    return [_name("tag", k) for k in ([names] if isinstance(names, str) else names)]


def tags(values: Mapping[str, Any]) -> dict[str, str]:
    return strings("tag", values, MAX_TAG_VALUE_LENGTH)


def properties(values: Mapping[str, Any]) -> dict[str, str]:
    return strings("property", values, MAX_TAG_VALUE_LENGTH)


def unchanged_properties(run_id: str, known: Mapping[str, str], new: Mapping[str, str]) -> None:
    """Properties are add-only: refuses a key already set to another value (the store's
    rule, for a run that keeps its properties itself)."""
    changed = sorted(k for k, v in new.items() if k in known and known[k] != v)
    if changed:
        from runyard.errors import ConflictError

        raise ConflictError(
            f"run {run_id!r}: properties are add-only and {', '.join(map(repr, changed))} "
            "already have other values; use a tag for values that change"
        )
