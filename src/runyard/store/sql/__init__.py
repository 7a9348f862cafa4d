"""The SQL store: SQLite (the embedded default) and PostgreSQL, through SQLAlchemy,
with versioned Alembic migrations shipped in ``migrations/``."""

from __future__ import annotations

from runyard.store.sql.store import SqlStore

__all__ = ["SqlStore"]
