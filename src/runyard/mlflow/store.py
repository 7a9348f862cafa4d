"""MLflow's tracking store on a Runyard workspace (``mlflow.tracking_store`` entry point).

MLflow calls this for everything its fluent API and ``MlflowClient`` do with runs:
``set_experiment`` (``get_experiment_by_name``, ``create_experiment``), ``start_run``
(``create_run``, or ``get_run`` + ``update_run_info`` to continue one), ``log_*``
(``log_batch``), ``end_run`` (``update_run_info``), ``search_runs`` (``_search_runs``).

Writes go through Runyard's ``Run`` handles, so they get the same checks and the same
path as ``run.log``: a run this process started logs to its journal (a microsecond a
value, durable on SIGKILL); the run a runner started this process for is
``Run.get_context()``; any other run is written to the store directly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.entities import Run as MlflowRun
from mlflow.entities import RunInfo as MlflowRunInfo
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME
from mlflow.utils.search_utils import SearchUtils

from runyard.config import run_context_from_environ
from runyard.entities import RunKind, RunQuery, RunStatus
from runyard.mlflow import entities as convert
from runyard.mlflow.errors import mlflow_errors
from runyard.mlflow.experiments import Experiments, lifecycle
from runyard.mlflow.journal_view import Logged, journal_view, point
from runyard.mlflow.logged_models import LoggedModels
from runyard.mlflow.purging import Purging
from runyard.workspace.mlflow_uri import config_path_of

if TYPE_CHECKING:
    from runyard.core.run import Run
    from runyard.core.workspace import Workspace
    from runyard.store.artifacts import ArtifactRepository

_PAGE = 1000
# Submitted runs whose first top-level MLflow run this process has begun (per process:
# every store instance, whatever its runyard: URI, continues the run once).
_claimed: set[str] = set()
_claim_lock = threading.Lock()


class RunyardMlflowStore(Experiments, LoggedModels, Purging, AbstractStore):
    """The workspace a ``runyard:`` tracking URI names, as an MLflow tracking store."""

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()
        self.store_uri = store_uri or "runyard:"
        self._config: Path | None = config_path_of(self.store_uri)
        self._workspace: Workspace | None = None
        self._lock = threading.Lock()
        self._handles: dict[str, Run] = {}  # runs this store writes through, by id
        # Runs a submitted script writes through its journal (its own and their
        # children), as logged through MLflow here: what reads of them give until the
        # runner has ingested them, or always where this environment has no SQLAlchemy.
        self._logged: dict[str, Logged] = {}

    # -- the workspace and the runs written through --------------------------------------

    @property
    def workspace(self) -> Workspace:
        """The workspace (opened on first use): the one the URI names, or, for a bare
        ``runyard:``, the submitted run's own or the one above the current folder."""
        if self._workspace is None:
            from runyard.core.workspace import Workspace

            with mlflow_errors():
                if self._config is not None:
                    if not self._config.is_file():
                        raise MlflowException(
                            f"{self.store_uri}: no workspace config at {self._config}; pass "
                            "ws.get_mlflow_tracking_uri() of an existing workspace",
                            error_code=INVALID_PARAMETER_VALUE,
                        )
                    self._workspace = Workspace.from_config(self._config)
                elif (context := self._context()) is not None:
                    self._workspace = context.experiment.workspace
                else:
                    self._workspace = Workspace.from_config()
        return self._workspace

    def _context(self) -> Run | None:
        """The run a runner started this process for, if one did."""
        if run_context_from_environ() is None:
            return None
        from runyard.core.run import Run

        return Run.get_context()

    def _is_context(self, run_id: str) -> bool:
        context = self._context()
        return context is not None and context.id == run_id

    def _handle(self, run_id: str) -> Run:
        """The ``Run`` to write ``run_id`` through (the journal of a run this process
        logs, else the store)."""
        with self._lock:
            handle = self._handles.get(run_id)
        if handle is not None:
            return handle
        if self._is_context(run_id):
            handle = self._context()
        else:
            from runyard.core.run import Run

            with mlflow_errors():
                handle = Run.get(self.workspace, run_id)
        assert handle is not None
        with self._lock:
            return self._handles.setdefault(run_id, handle)

    def _store_or_none(self, run_id: str) -> Any:
        """The workspace's store; None for the context run where this environment lacks
        the store's libraries (its reads then report what this process logged)."""
        try:
            return self.workspace.store
        except ModuleNotFoundError:
            if self._journaled(run_id) is not None:
                return None
            raise

    def _journaled(self, run_id: str) -> Logged | None:
        """What this process logged to ``run_id`` if a journal carries its writes."""
        found = self._logged.get(run_id)
        if found is None and self._is_context(run_id):
            found = self._logged.setdefault(run_id, Logged())
        return found

    def _artifacts(self, run_id: str) -> ArtifactRepository:
        """Where the run's files are read: the store's; for the context run in an
        environment without the store's libraries, the artifact folder the runner named."""
        store = self._store_or_none(run_id)
        if store is not None:
            return store.artifacts  # type: ignore[no-any-return]
        from runyard.config import ENV_ARTIFACT_ROOT
        from runyard.store.artifacts import LocalArtifactRepository

        return LocalArtifactRepository(Path(os.environ[ENV_ARTIFACT_ROOT]))

    # -- runs -----------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        tags: Sequence[RunTag] | None,
        run_name: str | None,
    ) -> MlflowRun:
        from runyard.core.run import Run

        given = {t.key: t.value for t in tags or ()}
        name = run_name or given.get(MLFLOW_RUN_NAME) or ""
        parent_id = given.get(MLFLOW_PARENT_RUN_ID)
        rest = {k: v for k, v in given.items() if k not in convert.FIELD_TAGS}
        context = self._context()
        if parent_id is None and context is not None:
            with _claim_lock:
                first = context.id not in _claimed
                _claimed.add(context.id)
            if first:
                # A submitted script's first top-level MLflow run is the run itself.
                with mlflow_errors():
                    handle = self._handle(context.id)
                    if run_name:
                        handle.display_name = run_name
                    if rest:
                        handle.set_tags(rest)
                        self._note_tags(context.id, rest)
                return self.get_run(context.id)
            parent_id = context.id  # a later one is a child of it, as nested ones are
        with mlflow_errors():
            if parent_id is not None and self._is_context(parent_id):
                # A nested run in a submitted script: a child through the run's journal.
                run = self._handle(parent_id).child_run(name or None)
                self._logged[run.id] = Logged()
            else:
                experiment = self._experiment(experiment_id)
                kind = RunKind.CHILD if parent_id else RunKind.INTERACTIVE
                run = Run._start_interactive(
                    self.workspace,
                    experiment.experiment_id,
                    kind=kind,
                    display_name=name,
                    parent_run_id=parent_id,
                )
            with self._lock:
                self._handles[run.id] = run
            if rest:
                run.set_tags(rest)
                self._note_tags(run.id, rest)
        return self.get_run(run.id)

    def _note_tags(self, run_id: str, tags: dict[str, str]) -> None:
        logged = self._journaled(run_id)
        if logged is not None:
            logged.tags.update(tags)

    def get_run(self, run_id: str) -> MlflowRun:
        store = self._store_or_none(run_id)
        if store is None:
            return self._journal_view(run_id)
        handle = self._handles.get(run_id)
        try:
            with mlflow_errors():
                if handle is not None:
                    handle.flush()  # what this process logged, readable before it is read
                info = store.get_run(run_id)
                gone = store.get_experiment(info.experiment_id).deleted_at is not None
                summaries = store.get_metric_summaries(run_id)
                return convert.run(info, summaries, self._default_id(), in_deleted=gone)
        except MlflowException:
            if self._journaled(run_id) is None:
                raise
            return self._journal_view(run_id)  # a child the runner has not made yet

    def _journal_view(self, run_id: str) -> MlflowRun:
        """A run a journal carries, as this process logged it (no store to read it)."""
        handle = self._handles.get(run_id)
        known = handle._info if handle is not None else None
        return journal_view(run_id, self._journaled(run_id) or Logged(), known)

    def update_run_info(
        self, run_id: str, run_status: int | str, end_time: int | None, run_name: str | None
    ) -> MlflowRunInfo:
        handle = self._handle(run_id)
        ending = convert.terminal_status(run_status)
        with mlflow_errors():
            if run_name:
                handle.display_name = run_name
            if self._is_context(run_id):
                pass  # the runner ends the run it started, when the script exits
            elif ending is RunStatus.COMPLETED:
                handle.complete()
            elif ending is RunStatus.FAILED:
                handle.fail("the MLflow run ended FAILED")
            elif ending is RunStatus.CANCELED:
                handle.cancel()
            elif handle.info.status.is_terminal():
                raise MlflowException(
                    f"run {run_id} is {handle.get_status()}: a Runyard run does not start "
                    "again once ended; start a new run",
                    error_code=INVALID_PARAMETER_VALUE,
                )
        with self._lock:
            if ending is not None and not self._is_context(run_id):
                self._handles.pop(run_id, None)
        return self.get_run(run_id).info

    def delete_run(self, run_id: str) -> None:
        """A soft delete (Runyard's ``runs delete``, with the run's children): restore
        undoes it. A run that has not ended is an error: end it first."""
        with mlflow_errors():
            self.workspace.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        with mlflow_errors():
            self.workspace.store.restore_run(run_id)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
    ) -> None:
        handle = self._handle(run_id)
        logged = self._journaled(run_id)
        linked = [m for m in metrics if getattr(m, "model_id", None)]
        if linked:
            # A metric with a model id is the model's too. log_model re-logs the run's
            # values at its step with the model's id: those the run holds already are
            # linked, not logged twice; new ones (autolog's scores) are logged as well.
            self._link_metrics(linked)
            held = self._held_points(run_id, {m.key for m in linked})
            metrics = [
                m for m in metrics if not getattr(m, "model_id", None) or point(m) not in held
            ]
        with mlflow_errors():
            for metric in metrics:
                handle.log(metric.key, metric.value, step=int(metric.step or 0))
                if logged is not None:
                    logged.metrics.setdefault(metric.key, []).append(metric)
            if params:
                values = {p.key: str(p.value) for p in params}
                handle.add_properties(values)
                if logged is not None:
                    logged.params.update(values)
            named = [t.value for t in tags if t.key == MLFLOW_RUN_NAME]
            if named:
                handle.display_name = named[-1]
            rest = {t.key: t.value for t in tags if t.key not in convert.FIELD_TAGS}
            if rest:
                handle.set_tags(rest)
                if logged is not None:
                    logged.tags.update(rest)

    def _held_points(self, run_id: str, keys: set[str]) -> set[tuple[str, int, str, int]]:
        """Each point the run holds under ``keys`` (``_point``), as get_metric_history
        answers them."""
        return {point(m) for key in keys for m in self.get_metric_history(run_id, key)}

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, [], [], [tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        with mlflow_errors():
            self._handle(run_id).remove_tags([key])

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Metric]:
        store = self._store_or_none(run_id)
        logged = self._journaled(run_id)
        handle = self._handles.get(run_id)
        try:
            if store is None:
                raise MlflowException("no store here")
            with mlflow_errors():
                if handle is not None:
                    handle.flush()
                store.get_run(run_id)  # RunNotFoundError for a run that is not there
                if metric_key not in store.get_metric_summaries(run_id):
                    return PagedList([], None)
                series = store.get_metric_series(run_id, metric_key)
        except MlflowException:
            if logged is None:
                raise
            # What this process logged is all that can be read here yet.
            return PagedList(list(logged.metrics.get(metric_key, ())), None)
        points = [
            convert.history_metric(metric_key, value, stamp, step)
            for value, stamp, step in zip(
                series.values, series.timestamps, series.steps, strict=True
            )
        ]
        kept = [p for p in points if p is not None]
        if max_results is not None:
            start = int(page_token or 0)
            page = kept[start : start + max_results]
            more = start + max_results < len(kept)
            return PagedList(page, str(start + max_results) if more else None)
        return PagedList(kept, None)

    def _search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str,
        run_view_type: int,
        max_results: int,
        order_by: list[str] | None,
        page_token: str | None,
    ) -> tuple[list[MlflowRun], str | None]:
        found = self._all_runs(experiment_ids, lifecycle(run_view_type))
        runs = SearchUtils.filter(found, filter_string)
        runs = SearchUtils.sort(runs, order_by)
        return SearchUtils.paginate(runs, page_token, max_results)  # type: ignore[no-any-return]

    def _all_runs(self, experiment_ids: Sequence[str], kept: str = "active") -> list[MlflowRun]:
        """Every run of the experiments (``kept``: a lifecycle), with its metrics' last
        values."""
        store = self.workspace.store
        found: list[MlflowRun] = []
        with mlflow_errors():
            for experiment_id in experiment_ids:
                experiment = self._experiment(experiment_id)
                wanted, gone = experiment.experiment_id, experiment.deleted_at is not None
                offset = 0
                while True:
                    page = store.search_runs(
                        RunQuery(experiment_id=wanted, limit=_PAGE, offset=offset, lifecycle=kept)
                    )
                    for info in page.runs:
                        summaries = store.get_metric_summaries(info.run_id)
                        found.append(
                            convert.run(info, summaries, self._default_id(), in_deleted=gone)
                        )
                    offset += len(page.runs)
                    if not page.runs or offset >= page.total:
                        break
        return found

    def log_inputs(self, run_id: str, datasets: Any = None, models: Any = None) -> None:
        """MLflow's dataset inputs, kept as tags (``mlflow.dataset.NAME``: digest and
        source), as the run reads them back in its tags."""
        tags = []
        for item in datasets or ():
            dataset = item.dataset
            tags.append(
                RunTag(
                    f"mlflow.dataset.{dataset.name}",
                    f"digest={dataset.digest} source_type={dataset.source_type}",
                )
            )
        if tags:
            self.log_batch(run_id, [], [], tags)
