"""A PostgreSQL server for tests.

``RUNYARD_TEST_POSTGRES_URL`` names one to use (CI sets it; unreachable is a failure).
Otherwise a throwaway cluster is started from PostgreSQL 15's server programs
(``/usr/lib/postgresql/15/bin`` or ``$RUNYARD_TEST_POSTGRES_BIN``) in a temporary
folder, on 127.0.0.1 only, on a free port; as root it runs as the ``postgres`` user.
Without the programs, postgres tests are skipped with the reason.

Tests share one migrated database per session and each starts with it emptied
(``reset_database``: one TRUNCATE, tens of milliseconds, where ``CREATE DATABASE``
from a template costs most of a second); ``create_database`` makes a separate one.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENV_URL = "RUNYARD_TEST_POSTGRES_URL"
ENV_BIN = "RUNYARD_TEST_POSTGRES_BIN"
DEFAULT_BIN = "/usr/lib/postgresql/15/bin"
TEMPLATE_DB = "runyard_test_template"


class PostgresUnavailable(Exception):
    """No server can be had here; the reason says why (tests skip with it)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A throwaway cluster; ``stop()`` shuts it down and deletes its folder."""

    url: str
    folder: Path
    bin_dir: Path
    run_as: str | None

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            _run(
                self,
                ["pg_ctl", "stop", "-D", str(self.folder / "data"), "-m", "fast", "-w"],
                timeout=60,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(cluster: Cluster, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    cmd = [str(cluster.bin_dir / argv[0]), *argv[1:]]
    if cluster.run_as is not None:
        cmd = ["runuser", "-u", cluster.run_as, "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout)


def start_cluster() -> Cluster:
    """initdb + pg_ctl start into a temporary folder; raises PostgresUnavailable."""
    bin_dir = Path(os.environ.get(ENV_BIN, DEFAULT_BIN))
    if not (bin_dir / "initdb").exists() or not (bin_dir / "pg_ctl").exists():
        raise PostgresUnavailable(
            f"PostgreSQL server programs not found in {bin_dir}; install postgresql-15 "
            f"or set {ENV_URL} to a server"
        )
    run_as: str | None = None
    folder = Path(tempfile.mkdtemp(prefix="runyard-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root but there is no 'postgres' user") from None
        run_as = "postgres"
        os.chown(folder, user.pw_uid, user.pw_gid)
    cluster = Cluster(url="", folder=folder, bin_dir=bin_dir, run_as=run_as)
    data = folder / "data"
    try:
        _run(
            cluster,
            [
                "initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            timeout=120,
        )
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -k {folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        _run(
            cluster,
            [
                "pg_ctl",
                "start",
                "-D",
                str(data),
                "-w",
                "-t",
                "60",
                "-l",
                str(folder / "server.log"),
                "-o",
                options,
            ],
            timeout=90,
        )
    except subprocess.CalledProcessError as exc:
        log = folder / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        cluster.stop()
        raise RuntimeError(
            f"starting a test PostgreSQL failed: {exc.stderr or exc.stdout}\n{detail}"
        ) from exc
    cluster.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return cluster


def check_reachable(url: str, timeout: float = 10.0) -> None:
    """Raises RuntimeError (not a skip) when the server at ``url`` cannot be reached."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(_libpq(url), connect_timeout=3):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ENV_URL}={url} is unreachable: {exc}") from exc
            time.sleep(0.2)


def _libpq(url: str) -> str:
    """A URL psycopg accepts (no SQLAlchemy driver suffix)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def with_database(url: str, database: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).set(database=database).render_as_string(hide_password=False)


@contextlib.contextmanager
def server() -> Iterator[str]:
    """The server URL for a test session: the configured one, or a throwaway cluster."""
    configured = os.environ.get(ENV_URL)
    if configured:
        check_reachable(configured)
        yield configured
        return
    cluster = start_cluster()
    try:
        check_reachable(cluster.url, timeout=30)
        yield cluster.url
    finally:
        cluster.stop()


def _admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[call-overload,unused-ignore]


def prepare_template(url: str) -> str:
    """Creates and migrates a template database once per session; returns its name."""
    from runyard.store.artifacts import LocalArtifactRepository
    from runyard.store.sql import SqlStore

    name = f"{TEMPLATE_DB}_{uuid.uuid4().hex[:8]}"
    _admin(url, f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory() as tmp:
        SqlStore(with_database(url, name), LocalArtifactRepository(Path(tmp))).close()
    return name


def reset_database(database_url: str) -> None:
    """Empties every Runyard table (the schema and its revision stay)."""
    from runyard.store.sql.schema import metadata

    tables = ", ".join(f'"{name}"' for name in metadata.tables)
    _admin(
        database_url,
        "SET lock_timeout = '20s'",
        f"TRUNCATE {tables} RESTART IDENTITY CASCADE",
    )


def create_database(url: str, template: str | None = None) -> str:
    """A fresh database (a copy of ``template`` when given); returns its URL."""
    name = f"runyard_test_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    _admin(url, f'CREATE DATABASE "{name}"{clause}')
    return with_database(url, name)


def drop_database(url: str, database_url: str) -> None:
    import sqlalchemy as sa

    name = sa.make_url(database_url).database
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_template(url: str, name: str) -> None:
    with contextlib.suppress(Exception):
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
