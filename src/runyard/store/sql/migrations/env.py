"""Alembic environment for Runyard's SQL store.

Runyard runs Alembic in code (``runyard.store.sql.engine``) and hands it an open
connection, already inside a transaction and holding the migration lock; there is no
alembic.ini and nothing depends on the working directory.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Runyard's migrations run through runyard.store.sql.engine.migrate(), "
        "which passes an open connection; the alembic command line is not supported"
    )

context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
