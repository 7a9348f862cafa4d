"""What the SQL store's modules share without importing SQLAlchemy, so that the reader
that does without it (``store.sql.reader``) opens a database as the engine does."""

from __future__ import annotations

# The Alembic revision the code expects; opening a store compares it with the
# database's and skips Alembic when they match. A test pins it to the scripts' head.
HEAD_REVISION = "0005"

# How long SQLite waits for another process's write lock before "database is locked".
BUSY_TIMEOUT_S = 30.0
