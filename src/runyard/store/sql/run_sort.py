"""How a runs list may be sorted: a column, or a metric's summary (``metric:NAME[:AGG]``).
Shared by the SQLAlchemy query (``store.sql.search``) and the standard-library reader
(``store.sql.reader``)."""

from __future__ import annotations

from runyard.errors import ValidationError

SORT_COLUMNS = (
    "created_at",
    "status",
    "number",
    "duration",
    "started_at",
    "ended_at",
    "display_name",
)
AGGREGATES = ("last", "min", "max")
MAX_LIMIT = 10_000


def parse_sort(sort: str) -> tuple[str, str | None]:
    """``(column, None)`` or ``(metric name, aggregate)``."""
    if sort.startswith("metric:"):
        name, agg = sort[len("metric:") :], "last"
        head, _, tail = name.rpartition(":")
        if head and tail in AGGREGATES:
            name, agg = head, tail
        if not name:
            raise ValidationError("sort 'metric:' names no metric; use metric:NAME[:last|min|max]")
        return name, agg
    if sort not in SORT_COLUMNS:
        raise ValidationError(
            f"cannot sort runs by {sort!r}; use one of {', '.join(SORT_COLUMNS)} "
            "or metric:NAME[:last|min|max]"
        )
    return sort, None
