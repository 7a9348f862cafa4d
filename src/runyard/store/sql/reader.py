"""Runs lists read straight from a SQLite file with the standard library's ``sqlite3``.

A fresh ``runyard runs list`` process spends most of its time importing SQLAlchemy
(about 200 of 360 ms here, and 28 MB): this reader answers the two calls that command
makes, ``get_experiment_by_name`` and ``search_runs``, without it. Its queries are the
ones ``store.sql.search`` builds, written out for SQLite (one read transaction, the same
filters, sort keys, ties and NULL order); a test runs both on the same databases and
compares every page. It only reads: writes, migrations and housekeeping stay with the
store (``Workspace.runs_reader`` says when the reader may stand in for it).
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from runyard.entities import Experiment, MetricSummary, RunInfo, RunPage, RunQuery, RunStatus
from runyard.errors import ValidationError
from runyard.store.base import check_lifecycle
from runyard.store.sql.rows import experiment_of, run_of, summary_of
from runyard.store.sql.run_sort import MAX_LIMIT, parse_sort
from runyard.store.sql.settings import BUSY_TIMEOUT_S, HEAD_REVISION

_PREFIX = "sqlite:///"
_GONE = "SELECT id FROM experiments WHERE deleted_at IS NOT NULL"
_TAG = "SELECT 1 FROM run_tags AS t WHERE t.run_id = runs.id"


class SqliteReader:
    """Read-only queries on one SQLite store file; open it with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, uri: str) -> SqliteReader | None:
        """A reader of the store at ``uri`` (``sqlite:////abs/path.db``), or None where
        only the store will do: another engine, an in-memory or missing database, a URI
        with options, or a schema other than this code's (opening the store migrates)."""
        path = uri[len(_PREFIX) :] if uri.startswith(_PREFIX) else ""
        if not path.startswith("/") or "?" in path or "%" in path:
            return None
        target = f"file:{urllib.parse.quote(path)}?mode=rw"  # never creates the file
        try:
            conn = sqlite3.connect(target, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.OperationalError:
            return None
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA query_only = ON")
            found = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.DatabaseError:
            found = []
        if [tuple(row) for row in found] != [(HEAD_REVISION,)]:
            conn.close()
            return None
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SqliteReader:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """As ``Store.get_experiment_by_name``."""
        row = self._conn.execute("SELECT * FROM experiments WHERE name = ?", (name,)).fetchone()
        return None if row is None else experiment_of(row)

    def search_runs(self, query: RunQuery) -> RunPage:
        """As ``Store.search_runs``: one page of runs and the total, in one snapshot."""
        if query.limit < 0 or query.offset < 0:
            raise ValidationError("limit and offset must not be negative")
        name, agg = parse_sort(query.sort)
        where, params = _filters(query)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        key_params: list[Any] = []
        if agg is not None:  # AGGREGATES: a fixed set of column names
            key = (
                f"(SELECT coalesce(s.{agg}_int, s.{agg}) FROM metric_summaries AS s "
                'WHERE s.run_id = runs.id AND s."key" = ?)'
            )
            key_params.append(name)
        elif name == "duration":
            key = "coalesce(runs.ended_at, runs.heartbeat_at) - runs.started_at"
        else:
            key = f"runs.{name}"  # SORT_COLUMNS: a fixed set of column names
        order = "DESC" if query.descending else "ASC"
        conn = self._conn
        conn.execute("BEGIN")
        try:
            total = conn.execute(f"SELECT count(*) FROM runs{clause}", params).fetchone()[0]
            rows = conn.execute(
                f"SELECT runs.* FROM runs{clause} ORDER BY {key} {order} NULLS LAST, "
                "runs.created_at DESC, runs.id LIMIT ? OFFSET ?",
                [*params, *key_params, min(int(query.limit), MAX_LIMIT), int(query.offset)],
            ).fetchall()
            ids = [row["id"] for row in rows]
            tags = self._pairs("run_tags", ids)
            props = self._pairs("run_properties", ids)
            found = [run_of(row, tags.get(row["id"], {}), props.get(row["id"], {})) for row in rows]
            summaries = self._summaries(found, query.with_metrics)
        finally:
            conn.execute("COMMIT")
        return RunPage(runs=found, total=int(total), summaries=summaries)

    def _pairs(self, table: str, ids: Sequence[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        if ids:
            rows = self._conn.execute(
                f'SELECT run_id, "key", value FROM {table} WHERE run_id IN ({_marks(ids)}) '
                'ORDER BY run_id, "key"',
                list(ids),
            )
            for run_id, key, value in rows:
                out.setdefault(run_id, {})[key] = value
        return out

    def _summaries(
        self, found: Sequence[RunInfo], names: Sequence[str]
    ) -> dict[str, dict[str, MetricSummary]]:
        out: dict[str, dict[str, MetricSummary]] = {}
        if names and found:
            ids = [r.run_id for r in found]
            rows = self._conn.execute(
                f"SELECT * FROM metric_summaries WHERE run_id IN ({_marks(ids)}) "
                f'AND "key" IN ({_marks(names)}) ORDER BY run_id, "key"',
                [*ids, *names],
            )
            for row in rows:
                out.setdefault(row["run_id"], {})[row["key"]] = summary_of(row)
        return out


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _like(text: str) -> str:
    """``text`` for LIKE ... ESCAPE '/' (SQLAlchemy's ``autoescape``)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _filters(query: RunQuery) -> tuple[list[str], list[Any]]:
    """``store.sql.search._filters`` as SQL text and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    lifecycle = check_lifecycle(query.lifecycle)
    if lifecycle == "active":
        where += ["runs.deleted_at IS NULL", f"runs.experiment_id NOT IN ({_GONE})"]
    elif lifecycle == "deleted":
        where.append(f"(runs.deleted_at IS NOT NULL OR runs.experiment_id IN ({_GONE}))")
    if query.experiment_id is not None:
        where.append("runs.experiment_id = ?")
        params.append(query.experiment_id)
    if query.statuses:
        where.append(f"runs.status IN ({_marks(query.statuses)})")
        params += [RunStatus(s).value for s in query.statuses]
    for key, value in query.tags.items():
        where.append(f'EXISTS ({_TAG} AND t."key" = ? AND t.value = ?)')
        params += [key, value]
    if query.parent_run_id is not None:
        where.append("runs.parent_run_id = ?")
        params.append(query.parent_run_id)
    if query.compute_target is not None:
        where.append("runs.compute_target = ?")
        params.append(query.compute_target)
    text = query.text.strip()
    if text:
        where.append(
            "(runs.id LIKE ? || '%' ESCAPE '/'"
            " OR lower(runs.display_name) LIKE '%' || lower(?) || '%' ESCAPE '/'"
            f" OR EXISTS ({_TAG} AND lower(t.value) LIKE '%' || lower(?) || '%' ESCAPE '/'))"
        )
        params += [_like(text)] * 3
    return where, params
