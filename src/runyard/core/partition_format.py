"""The SDK's ``partition_format``: values read from each file's path, as table columns.

``"/{Department}/{PartitionDate:yyyy/MM/dd}/data.parquet"`` matched against the end of
the datastore path ``"sales/Accounts/2019/01/01/data.parquet"`` gives a string column
``Department`` (``"Accounts"``) and a datetime column ``PartitionDate`` (2019-01-01), as
the SDK's ``from_delimited_files`` / ``from_parquet_files`` make them. A ``{name}`` part
is one folder or file name (no ``/``); a ``{name:format}`` part is a date written with
``yyyy``, ``MM``, ``dd``, ``HH``, ``mm`` and ``ss``, and may span folders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from runyard.errors import ValidationError

__all__ = ["PartitionFormat"]

_FIELD = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
_DATE_TOKENS = {"yyyy": ("%Y", r"\d{4}"), "MM": ("%m", r"\d{2}"), "dd": ("%d", r"\d{2}")}
_DATE_TOKENS |= {"HH": ("%H", r"\d{2}"), "mm": ("%M", r"\d{2}"), "ss": ("%S", r"\d{2}")}
_DATE_SPLIT = re.compile("(" + "|".join(_DATE_TOKENS) + ")")


def _date_part(column: str, fmt: str, text: str) -> tuple[str, str]:
    """(regex, strptime format) of one ``{column:fmt}``."""
    regex, strptime = [], []
    for piece in _DATE_SPLIT.split(fmt):
        if piece in _DATE_TOKENS:
            strptime.append(_DATE_TOKENS[piece][0])
            regex.append(_DATE_TOKENS[piece][1])
        elif piece:
            if any(c.isalpha() for c in piece):
                raise ValidationError(
                    f"partition_format {text!r}: {{{column}:{fmt}}} has {piece!r}, which is "
                    "not a date part; write dates with yyyy, MM, dd, HH, mm and ss "
                    "(e.g. {PartitionDate:yyyy/MM/dd})"
                )
            strptime.append(piece.replace("%", "%%"))
            regex.append(re.escape(piece))
    if not any(piece in _DATE_TOKENS for piece in _DATE_SPLIT.split(fmt)):
        raise ValidationError(f"partition_format {text!r}: {{{column}:{fmt}}} has no date part")
    return "".join(regex), "".join(strptime)


@dataclass(frozen=True)
class PartitionFormat:
    """A parsed ``partition_format``: ``columns`` in order, and how to read each path."""

    text: str
    columns: tuple[str, ...]
    dates: tuple[str | None, ...]  # a column's strptime format, None for a string
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> PartitionFormat:
        if not isinstance(text, str) or "{" not in text:
            raise ValidationError(
                f"partition_format {text!r} names no column; write the path with a "
                "{column} for each folder to read, e.g. '/{Department}/{Date:yyyy/MM}/data.csv'"
            )
        columns: list[str] = []
        dates: list[str | None] = []
        regex, at = [], 0
        for m in _FIELD.finditer(text):
            literal = text[at : m.start()]
            if "{" in literal or "}" in literal:
                raise ValidationError(f"partition_format {text!r}: unbalanced braces")
            regex.append(re.escape(literal))
            column, fmt = m.group(1).strip(), m.group(2)
            if not column or column in columns:
                what = "an empty column name" if not column else f"column {column!r} twice"
                raise ValidationError(f"partition_format {text!r} has {what}")
            if fmt is None:
                regex.append("([^/]+)")
                dates.append(None)
            else:
                part, strptime = _date_part(column, fmt, text)
                regex.append(f"({part})")
                dates.append(strptime)
            columns.append(column)
            at = m.end()
        tail = text[at:]
        if "{" in tail or "}" in tail:
            raise ValidationError(f"partition_format {text!r}: unbalanced braces")
        regex.append(re.escape(tail))
        # The format is the end of the path, from its first partition folder on.
        body = "".join(regex).lstrip("/")  # re.escape leaves "/" as it is
        pattern = re.compile(f"(?:^|/){body}$")
        return cls(text, tuple(columns), tuple(dates), pattern)

    def values(self, path: str) -> dict[str, str | datetime]:
        """The columns' values for one file (its path in the datastore)."""
        m = self.pattern.search(path.lstrip("/"))
        if m is None:
            raise ValidationError(
                f"file {path!r} does not match partition_format {self.text!r}; the format "
                "is the end of each file's path in the datastore, from the first partitioned "
                "folder on (fix the format, or the dataset's paths)"
            )
        out: dict[str, str | datetime] = {}
        for column, strptime, value in zip(self.columns, self.dates, m.groups(), strict=True):
            if strptime is None:
                out[column] = value
                continue
            try:
                out[column] = datetime.strptime(value, strptime)
            except ValueError as exc:
                raise ValidationError(
                    f"file {path!r}: {value!r} is not a date for partition column "
                    f"{column!r} of partition_format {self.text!r} ({exc})"
                ) from None
        return out
