"""Engines for SQLite and PostgreSQL, and the migration runner.

SQLite runs in WAL mode with a 30 s busy timeout, ``synchronous=NORMAL`` and foreign
keys on. pysqlite's own transaction handling is switched off so that every write
transaction starts with ``BEGIN IMMEDIATE``: the write lock is taken up front (waiting
on the busy timeout) instead of being upgraded mid-transaction, the upgrade that fails
at once with "database is locked" when two processes write together.

Opening a store compares the database's Alembic revision with ``HEAD_REVISION`` and
runs Alembic only when they differ, under a lock (a file lock beside a SQLite file, an
advisory lock on PostgreSQL), so many processes may open a new database at once.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from runyard.errors import ConfigError, StoreError
from runyard.store.sql.settings import BUSY_TIMEOUT_S, HEAD_REVISION

MMAP_BYTES = 1 << 30
PAGE_SIZE = 16384
WAL_CHECKPOINT_BYTES = 64 << 20
WRITE_OPTION = "runyard_write"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock(int, int) namespace: "RY" in ASCII.
PG_LOCK_NAMESPACE = 0x5259
PG_LOCK_MIGRATE = 1


def normalize_url(uri: str) -> sa.URL:
    """``sqlite:///PATH`` or ``postgresql://...`` (``postgres://`` too) to a SQLAlchemy
    URL with the psycopg 3 driver."""
    try:
        url = sa.make_url(uri)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"invalid store URI {uri!r}: {exc}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    raise ConfigError(
        f"unsupported SQL store URI {uri!r}; use sqlite:///PATH or postgresql://HOST/DB"
    )


def sqlite_path(url: sa.URL) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    if url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser()


def create_engine(url: sa.URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(url: sa.URL) -> Engine:
    path = sqlite_path(url)
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    }
    if path is None:
        kwargs["poolclass"] = StaticPool
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver level; transactions are begun by _on_begin below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if path is not None:
            # Only takes effect on a new, empty file (before WAL): large pages keep a
            # metric block's blobs on few pages.
            cur.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            cur.execute("PRAGMA journal_mode = WAL")
            # Checkpoint (and fsync) every ~64 MiB of WAL rather than every 4 MiB:
            # ingest writes large blocks.
            cur.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_BYTES // PAGE_SIZE}")
            cur.execute(f"PRAGMA journal_size_limit = {WAL_CHECKPOINT_BYTES}")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA cache_size = -65536")
        # Metric blocks are read in bulk; mapping the file saves a copy per page.
        cur.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def forget_connections_after_fork(engine: Engine) -> None:
    """A forked child must not use its parent's connections: it drops them (without
    closing them under the parent) and opens its own."""
    ref = weakref.ref(engine)

    def _after_fork() -> None:
        alive = ref()
        if alive is not None:
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=_after_fork)


@contextlib.contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction; on SQLite a write transaction holds the write lock from its
    first statement."""
    with engine.connect() as conn:
        if write:
            conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


# -- migrations -------------------------------------------------------------------------


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision; None for a database never migrated."""
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                exists = conn.exec_driver_sql(
                    "SELECT to_regclass('alembic_version') IS NOT NULL"
                ).scalar()
                if not exists:
                    return None
            row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
            return None if row is None else str(row[0])
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc.orig):
            return None
        raise


def migrate(engine: Engine, url: sa.URL) -> None:
    """Upgrades the database to head unless it is there already (the common case costs
    one SELECT)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    path = sqlite_path(url) if engine.dialect.name == "sqlite" else None
    if path is not None:
        from filelock import FileLock

        with FileLock(str(path) + ".migrate.lock", timeout=BUSY_TIMEOUT_S * 4):
            if current_revision(engine) != HEAD_REVISION:
                _run_alembic(engine)
        with contextlib.suppress(OSError):
            os.chmod(str(path) + ".migrate.lock", 0o666)
        return
    _run_alembic(engine)


def _run_alembic(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with transaction(engine, write=True) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "SELECT pg_advisory_xact_lock(CAST(:ns AS integer), CAST(:key AS integer))"
                ),
                {"ns": PG_LOCK_NAMESPACE, "key": PG_LOCK_MIGRATE},
            )
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise StoreError(
                f"cannot migrate the database to schema {HEAD_REVISION!r}: {exc}. A newer "
                "Runyard may have created it: upgrade Runyard or use another database"
            ) from exc


def head_of_scripts() -> str | None:
    """The head revision of the shipped migration scripts (for tests and tooling)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def describe_error(exc: sa.exc.DBAPIError) -> str:
    """The driver's message without the SQL statement and parameters."""
    orig = exc.orig
    text = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else ""
    return text or type(exc).__name__


def store_error(action: str, exc: sa.exc.DBAPIError) -> StoreError:
    message = describe_error(exc)
    hint = ""
    lowered = message.lower()
    if ("disk" in lowered and "full" in lowered) or "no space" in lowered:
        hint = "; free some disk space and retry"
    elif "disk i/o error" in lowered:
        # SQLite says only this when a write fails: a full disk, a file-size limit
        # (ulimit -f), or a failing device.
        hint = (
            "; the database file could not be written: check free disk space, the "
            "file-size limit (ulimit -f) and the disk's health, then retry"
        )
    elif "locked" in lowered:
        hint = "; another process held the database for too long, retry"
    elif "connect" in lowered or "server closed" in lowered:
        hint = "; check that the database server is running and reachable"
    return StoreError(f"the store could not {action}: {message}{hint}")
