"""Schema migrations: shipped with the package, run on open, skipped at head."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from runyard.store.sql import SqlStore
from runyard.store.sql import engine as engine_mod
from runyard.store.sql.schema import metadata
from runyard.store.sql.settings import HEAD_REVISION
from tests.conftest import make_store


def test_head_revision_matches_the_scripts() -> None:
    assert engine_mod.head_of_scripts() == HEAD_REVISION


def test_migrations_ship_inside_the_package() -> None:
    versions = engine_mod.MIGRATIONS_DIR / "versions"
    assert (engine_mod.MIGRATIONS_DIR / "env.py").is_file()
    assert any(p.name.startswith("0001_") for p in versions.glob("*.py"))


def test_migrated_schema_matches_metadata(store: SqlStore) -> None:
    inspector = sa.inspect(store._engine)
    tables = set(inspector.get_table_names())
    assert set(metadata.tables) | {"alembic_version"} == tables
    for name, table in metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        assert columns == {c.name for c in table.columns}, name
        indexes = {i["name"] for i in inspector.get_indexes(name)}
        assert {i.name for i in table.indexes} <= indexes, name


def test_sqlite_pragmas(sqlite_store: SqlStore) -> None:
    with sqlite_store._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == engine_mod.PAGE_SIZE


def test_reopening_skips_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_store(tmp_path).close()

    def refuse(_engine: object) -> None:
        raise AssertionError("Alembic ran on a database already at head")

    monkeypatch.setattr(engine_mod, "_run_alembic", refuse)
    started = time.perf_counter()
    store = make_store(tmp_path)
    elapsed = time.perf_counter() - started
    store.close()
    assert elapsed < 1.0  # milliseconds in practice; generous for loaded CI machines


def test_in_memory_sqlite(tmp_path: Path) -> None:
    from runyard.store.artifacts import LocalArtifactRepository

    with SqlStore("sqlite://", LocalArtifactRepository(tmp_path)) as store:
        assert store.get_or_create_experiment("e").name == "e"


def test_postgres_scheme_aliases() -> None:
    for uri in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        assert engine_mod.normalize_url(uri).drivername == "postgresql+psycopg"


def test_a_newer_schema_is_a_clear_error(tmp_path: Path) -> None:
    from runyard.errors import StoreError

    make_store(tmp_path).close()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'runyard.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(StoreError, match="newer"):
        make_store(tmp_path)


def test_forked_child_opens_its_own_connections(tmp_path: Path) -> None:
    import multiprocessing

    from runyard.entities import RunKind, RunStatus

    store = make_store(tmp_path)
    exp = store.get_or_create_experiment("fork")

    def child() -> None:
        store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.QUEUED)

    proc = multiprocessing.get_context("fork").Process(target=child)
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert store.list_experiments()[0].run_count == 1
    store.close()
