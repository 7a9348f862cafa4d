"""``SqlStore``: the Store interface over SQLite or PostgreSQL.

Every method is one transaction (a write transaction on SQLite begins IMMEDIATE), so a
failure never leaves a partial write. Driver errors become StoreError (or
ConflictError for a constraint) with the driver's message, never the SQL.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import (
    EnvironmentRecord,
    Experiment,
    ExperimentStats,
    MetricColumns,
    MetricRecord,
    MetricSeries,
    MetricSummary,
    MetricValue,
    Purge,
    RunInfo,
    RunKind,
    RunPage,
    RunQuery,
    RunStatus,
)
from runyard.errors import ConflictError, StoreError, ValidationError
from runyard.store import settle
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.base import Store, check_lifecycle
from runyard.store.sql import engine as engine_mod
from runyard.store.sql import environments as environments_mod
from runyard.store.sql import experiments as experiments_mod
from runyard.store.sql import lifecycle
from runyard.store.sql import offsets as offsets_mod
from runyard.store.sql import purge as purge_mod
from runyard.store.sql import runs as runs_mod
from runyard.store.sql import search as search_mod
from runyard.store.sql import summaries as summaries_mod
from runyard.store.sql.store_assets import SqlAssets
from runyard.store.sql.validate import check_resource_name


class SqlStore(SqlAssets, Store):
    """Metadata and metrics in SQLite (``sqlite:///PATH``) or PostgreSQL
    (``postgresql://USER@HOST/DB``); run files in ``artifacts``. Opening migrates the
    database to the current schema when it is not there yet."""

    artifacts: LocalArtifactRepository  # its files are on this machine (a purge removes them)

    def __init__(self, uri: str, artifacts: LocalArtifactRepository) -> None:
        self.uri = uri
        self.artifacts = artifacts
        self._url = engine_mod.normalize_url(uri)
        self._engine = engine_mod.create_engine(self._url)
        self._closed = False
        # An in-memory SQLite database is one connection: take turns on it.
        self._memory_lock: threading.RLock | None = (
            threading.RLock()
            if self._url.get_backend_name() == "sqlite"
            and engine_mod.sqlite_path(self._url) is None
            else None
        )
        engine_mod.forget_connections_after_fork(self._engine)
        try:
            engine_mod.migrate(self._engine, self._url)
        except sa.exc.DBAPIError as exc:
            self._engine.dispose()
            raise engine_mod.store_error(f"open {self._safe_uri()}", exc) from exc
        except BaseException:
            self._engine.dispose()
            raise

    def _safe_uri(self) -> str:
        return self._url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self._engine.dialect.name)

    @contextlib.contextmanager
    def _tx(self, action: str, *, write: bool) -> Iterator[Connection]:
        if self._closed:
            raise StoreError(f"cannot {action}: the store {self._safe_uri()} is closed")
        settle.wait()  # the runs this thread ended in the background land first
        guard = self._memory_lock or contextlib.nullcontext()
        try:
            with guard, engine_mod.transaction(self._engine, write=write) as conn:
                yield conn
        except sa.exc.IntegrityError as exc:
            raise ConflictError(f"could not {action}: {engine_mod.describe_error(exc)}") from exc
        except sa.exc.DBAPIError as exc:
            raise engine_mod.store_error(action, exc) from exc
        except sa.exc.SQLAlchemyError as exc:  # pool timeouts and the like
            raise StoreError(f"the store could not {action}: {exc.__class__.__name__}") from exc
        except OverflowError:  # a number the database cannot hold (past 64 bits)
            limit = 2**63 - 1
            raise ValidationError(f"could not {action}: a number is over {limit}") from None

    # -- experiments -------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> Experiment:
        check_resource_name("experiment", name)
        with self._tx("read experiments", write=False) as conn:
            found = experiments_mod.get_by_name(conn, name)
        if found is not None:
            return found
        with self._tx("create an experiment", write=True) as conn:
            return experiments_mod.get_or_create(conn, name)

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._tx("read an experiment", write=False) as conn:
            return experiments_mod.get(conn, experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._tx("read an experiment", write=False) as conn:
            return experiments_mod.get_by_name(conn, name)

    def list_experiments(self, lifecycle: str = "active") -> list[ExperimentStats]:
        check_lifecycle(lifecycle)
        with self._tx("list experiments", write=False) as conn:
            return experiments_mod.list_all(conn, lifecycle)

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> Experiment:
        with self._tx("tag an experiment", write=True) as conn:
            return experiments_mod.set_tags(conn, experiment_id, tags)

    def remove_experiment_tags(self, experiment_id: str, keys: Sequence[str]) -> Experiment:
        with self._tx("remove an experiment's tags", write=True) as conn:
            return experiments_mod.remove_tags(conn, experiment_id, keys)

    def delete_experiment(self, experiment_id: str) -> Experiment:
        with self._tx("delete an experiment", write=True) as conn:
            return lifecycle.delete_experiment(conn, experiment_id)

    def restore_experiment(self, experiment_id: str) -> Experiment:
        with self._tx("restore an experiment", write=True) as conn:
            return lifecycle.restore_experiment(conn, experiment_id)

    def rename_experiment(self, experiment_id: str, name: str) -> Experiment:
        check_resource_name("experiment", name)
        with self._tx("rename an experiment", write=True) as conn:
            return experiments_mod.rename(conn, experiment_id, name)

    # -- runs --------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        *,
        kind: RunKind,
        status: RunStatus,
        compute_target: str = "local",
        parent_run_id: str | None = None,
        display_name: str = "",
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        definition: Mapping[str, Any] | None = None,
        owner: str | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        with self._tx("create a run", write=True) as conn:
            return runs_mod.create(
                conn, experiment_id, kind=kind, status=status, compute_target=compute_target,
                parent_run_id=parent_run_id, display_name=display_name, tags=tags,
                properties=properties, definition=definition, owner=owner, run_id=run_id,
            )  # fmt: skip

    def get_run(self, run_id: str) -> RunInfo:
        with self._tx("read a run", write=False) as conn:
            return runs_mod.get(conn, run_id)

    def search_runs(self, query: RunQuery) -> RunPage:
        with self._tx("search runs", write=False) as conn:
            return search_mod.search(conn, query)

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        expected: Sequence[RunStatus] | None = None,
        epoch: int | None = None,
        fence: bool = False,
    ) -> RunInfo:
        with self._tx("set a run's status", write=True) as conn:
            info = runs_mod.set_status(
                conn, run_id, status, exit_code=exit_code, error=error, expected=expected,
                epoch=epoch, fence=fence,
            )  # fmt: skip
            if info.status.is_terminal():
                # The run has ended: its metrics' small tail blocks become one block.
                from runyard.store.sql import appends

                appends.compact_run(conn, run_id)
            return info

    def heartbeat(self, run_id: str, owner: str | None = None, epoch: int | None = None) -> None:
        with self._tx("record a heartbeat", write=True) as conn:
            runs_mod.heartbeat(conn, run_id, owner, epoch)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        with self._tx("set tags", write=True) as conn:
            runs_mod.set_tags(conn, run_id, tags)

    def remove_tags(self, run_id: str, keys: Sequence[str]) -> None:
        with self._tx("remove tags", write=True) as conn:
            runs_mod.remove_tags(conn, run_id, keys)

    def set_display_name(self, run_id: str, display_name: str) -> RunInfo:
        with self._tx("rename a run", write=True) as conn:
            return runs_mod.set_display_name(conn, run_id, display_name)

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None:
        with self._tx("add properties", write=True) as conn:
            runs_mod.add_properties(conn, run_id, properties)

    def update_definition(self, run_id: str, patch: Mapping[str, Any]) -> RunInfo:
        with self._tx("update a run's definition", write=True) as conn:
            return runs_mod.update_definition(conn, run_id, patch)

    def purge_deleted(
        self,
        *,
        deleted_before: float | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> Purge:
        with self._tx("purge deleted runs", write=not dry_run) as conn:
            found, exp_ids = purge_mod.select(conn, deleted_before, run_ids, experiment_ids)
            if not dry_run:
                purge_mod.remove(conn, found, exp_ids)
        # Files after the commit: a purge that dies here leaves folders, never rows
        # whose files are gone. (They are counted outside the write lock.)
        file_bytes = sum(self.artifacts.folder_bytes(run_id) for run_id in found)
        if not dry_run:
            for run_id in found:
                self.artifacts.remove_run(run_id)
        return Purge(tuple(found), tuple(exp_ids), file_bytes, dry_run=dry_run)

    def delete_run(self, run_id: str) -> RunInfo:
        with self._tx("delete a run", write=True) as conn:
            return lifecycle.delete_run(conn, run_id)

    def restore_run(self, run_id: str) -> RunInfo:
        with self._tx("restore a run", write=True) as conn:
            return lifecycle.restore_run(conn, run_id)

    def request_cancel(self, run_id: str) -> RunInfo:
        with self._tx("request a run's cancellation", write=True) as conn:
            return runs_mod.request_cancel(conn, run_id)

    def get_change_seqs(self, run_ids: Sequence[str]) -> dict[str, int]:
        with self._tx("read change counters", write=False) as conn:
            return runs_mod.change_seqs(conn, run_ids)

    def claim_next_queued(self, compute_target: str, max_concurrent: int) -> RunInfo | None:
        with self._tx("claim a queued run", write=True) as conn:
            return runs_mod.claim_next_queued(conn, compute_target, max_concurrent)

    # -- metrics -----------------------------------------------------------------------

    def append_metrics(
        self,
        run_id: str,
        columns: Sequence[MetricColumns],
        records: Sequence[MetricRecord] = (),
        *,
        journal_offset: int | None = None,
        journal: str = "",
        epoch: int | None = None,
    ) -> None:
        # Checking and packing happen before the write lock is taken.
        from runyard.store.sql import metrics as metrics_mod  # numpy: only when needed

        batches = metrics_mod.prepare(columns)
        record_rows = metrics_mod.prepare_records(records)
        main_offset = None if journal else journal_offset
        with self._tx("append metrics", write=True) as conn:
            metrics_mod.append(conn, run_id, batches, record_rows, main_offset, epoch)
            offsets_mod.set_offset(conn, run_id, journal, journal_offset)  # another journal's

    def get_journal_offset(self, run_id: str, journal: str = "") -> int:
        with self._tx("read a journal offset", write=False) as conn:
            return offsets_mod.get_offset(conn, run_id, journal)

    def get_metric_summaries(self, run_id: str) -> dict[str, MetricSummary]:
        with self._tx("read metric summaries", write=False) as conn:
            return summaries_mod.summaries(conn, run_id)

    def get_metric_summaries_of(
        self, run_ids: Sequence[str]
    ) -> dict[str, dict[str, MetricSummary]]:
        with self._tx("read metric summaries", write=False) as conn:
            return summaries_mod.summaries_of(conn, run_ids)

    def get_metric_series(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
        start: int = 0,
    ) -> MetricSeries:
        from runyard.store.sql import metrics as metrics_mod

        with self._tx("read a metric", write=False) as conn:
            return metrics_mod.series(conn, run_id, key, max_points, start)

    def get_metric_values_at_step(
        self, run_ids: Sequence[str], key: str, step: int
    ) -> dict[str, MetricValue]:
        from runyard.store.sql import at_step  # numpy: not for a runs list

        with self._tx("read metric values at a step", write=False) as conn:
            return at_step.values_at_step(conn, run_ids, key, int(step))

    def get_metric_records(self, run_id: str, key: str | None = None) -> list[MetricRecord]:
        from runyard.store.sql import metrics as metrics_mod

        with self._tx("read metric records", write=False) as conn:
            return metrics_mod.records(conn, run_id, key)

    # -- environments registry ---------------------------------------------------------

    def register_environment(
        self, name: str, spec: Mapping[str, Any], spec_hash: str
    ) -> EnvironmentRecord:
        with self._tx("register an environment", write=True) as conn:
            return environments_mod.register(conn, name, spec, spec_hash)

    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord:
        with self._tx("read an environment", write=False) as conn:
            return environments_mod.get(conn, name, version)

    def list_environments(self) -> list[EnvironmentRecord]:
        with self._tx("list environments", write=False) as conn:
            return environments_mod.list_all(conn)

    # -- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        settle.wait_all()  # a run finishing in the background still writes here
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({self._safe_uri()!r})"
