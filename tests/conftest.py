"""Shared fixtures. Store fixtures: ``store`` runs each test against SQLite and
PostgreSQL (a fresh database per test); ``sqlite_store`` is SQLite only;
``make_store(tmp_path)`` is a plain helper for other tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.sql import SqlStore
from tests.support import postgres


def make_store(tmp_path: Path) -> SqlStore:
    """A SQLite store in ``tmp_path`` (database ``runyard.db``, files in ``artifacts``)."""
    return SqlStore(
        f"sqlite:///{tmp_path / 'runyard.db'}", LocalArtifactRepository(tmp_path / "artifacts")
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the session (``$RUNYARD_TEST_POSTGRES_URL`` or a
    throwaway cluster); skips when neither is available."""
    try:
        with postgres.server() as url:
            yield url
    except postgres.PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    name = postgres.prepare_template(postgres_url)
    yield name
    postgres.drop_template(postgres_url, name)


@pytest.fixture(scope="session")
def postgres_session_db(postgres_url: str, postgres_template: str) -> Iterator[str]:
    """A migrated database shared by the session's tests (see postgres_db_url)."""
    url = postgres.create_database(postgres_url, postgres_template)
    yield url
    postgres.drop_database(postgres_url, url)


@pytest.fixture
def postgres_db_url(postgres_session_db: str) -> str:
    """A migrated database, emptied for this test."""
    postgres.reset_database(postgres_session_db)
    return postgres_session_db


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    store = make_store(tmp_path)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URI of a fresh store database, per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runyard.db'}"
    return str(request.getfixturevalue("postgres_db_url"))


@pytest.fixture
def store(store_uri: str, tmp_path: Path) -> Iterator[SqlStore]:
    """A fresh store, once on SQLite and once on PostgreSQL."""
    store = SqlStore(store_uri, LocalArtifactRepository(tmp_path / "artifacts"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh environment cache for a module (uv's own download cache stays shared)."""
    path = tmp_path_factory.mktemp("runyard-cache")
    old = os.environ.get("RUNYARD_CACHE_DIR")
    os.environ["RUNYARD_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("RUNYARD_CACHE_DIR", None)
    else:
        os.environ["RUNYARD_CACHE_DIR"] = old
