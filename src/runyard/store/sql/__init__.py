"""The SQL store: SQLite (the embedded default) and PostgreSQL, through SQLAlchemy,
with versioned Alembic migrations shipped in ``migrations/``.

``SqlStore`` is imported on first use, so that the modules here that do without
SQLAlchemy (``reader``, ``rows``, ``revision``) load without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runyard.store.sql.store import SqlStore

__all__ = ["SqlStore"]


def __getattr__(name: str) -> Any:
    if name == "SqlStore":
        from runyard.store.sql.store import SqlStore

        return SqlStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
