"""The store interface: one set of operations, implemented per URI scheme.

``sqlite:///path`` and ``postgresql://...`` are served by :mod:`runyard.store.sql`;
``http(s)://...`` (a Runyard server, for runs on other machines) by
:mod:`runyard.remote` (see :mod:`runyard.store.registry`). Rows become entities inside
the store; nothing above it sees SQL. Every method is safe to call from several
processes at once.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.entities import (
    LIFECYCLES,
    AliasEvent,
    DatasetVersion,
    EnvironmentRecord,
    Experiment,
    ExperimentStats,
    Manifest,
    MetricColumns,
    MetricRecord,
    MetricSeries,
    MetricSummary,
    MetricValue,
    ModelVersion,
    Purge,
    RunDatasetLink,
    RunInfo,
    RunKind,
    RunPage,
    RunQuery,
    RunStatus,
)
from runyard.errors import RunNotFoundError, ValidationError
from runyard.store.artifacts import ArtifactRepository

RunSummaries = dict[str, dict[str, MetricSummary]]  # run id -> metric -> summary


def check_lifecycle(lifecycle: str) -> str:
    """``lifecycle`` if it is one of LIFECYCLES, else a ValidationError naming them."""
    if lifecycle not in LIFECYCLES:
        raise ValidationError(f"lifecycle {lifecycle!r} is not one of {', '.join(LIFECYCLES)}")
    return lifecycle


class Store(abc.ABC):
    """Metadata and metrics of one workspace, plus its artifact repository."""

    uri: str
    artifacts: ArtifactRepository

    # -- experiments -------------------------------------------------------------------

    @abc.abstractmethod
    def get_or_create_experiment(self, name: str) -> Experiment:
        """Returns the experiment called ``name``, creating it on first use (race-safe)."""

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """Raises ExperimentNotFoundError."""

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abc.abstractmethod
    def list_experiments(self, lifecycle: str = "active") -> list[ExperimentStats]:
        """Every experiment (active ones; ``"deleted"`` or ``"all"``) with its run
        count, last run time and status counts."""

    @abc.abstractmethod
    def delete_experiment(self, experiment_id: str) -> Experiment:
        """Soft-deletes the experiment (its runs leave the lists with it); ConflictError
        while a run in it has not ended."""

    @abc.abstractmethod
    def restore_experiment(self, experiment_id: str) -> Experiment:
        """Undoes ``delete_experiment``."""

    @abc.abstractmethod
    def rename_experiment(self, experiment_id: str, name: str) -> Experiment:
        """Gives the experiment a new name (its runs stay in it); ConflictError when
        another experiment has that name."""

    # -- runs --------------------------------------------------------------------------

    @abc.abstractmethod
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
        """Creates a run numbered next in its experiment (``started_at`` set if Running)."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> RunInfo:
        """Raises RunNotFoundError."""

    @abc.abstractmethod
    def search_runs(self, query: RunQuery) -> RunPage:
        """Filters, sorts (also by ``metric:NAME[:last|min|max]``) and pages runs.
        Runs lacking the sort metric come last. ``query.with_metrics`` names the metric
        summaries to return alongside (``RunPage.summaries[run_id][key]``)."""

    @abc.abstractmethod
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
        """Moves a run to ``status``. Entering Running sets ``started_at`` (once); a
        terminal status sets ``ended_at``. A run already terminal never changes again
        (ConflictError). With ``expected``, the change happens only when the current
        status is one of them (compare-and-set), else ConflictError. With ``epoch``
        (the runner's, ``RunInfo.epoch`` when it claimed the run), FencedError unless
        it is still the run's; ``fence`` bumps the epoch in the same transaction (the
        reaper taking the run from its runner)."""

    @abc.abstractmethod
    def heartbeat(self, run_id: str, owner: str | None = None, epoch: int | None = None) -> None:
        """Records that the process driving the run is alive (and who it is); with
        ``epoch``, FencedError if the run was taken from that runner (reaped)."""

    @abc.abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Adds or overwrites tags."""

    @abc.abstractmethod
    def remove_tags(self, run_id: str, keys: Sequence[str]) -> None:
        """Removes the tags named ``keys``; names the run does not have are skipped."""

    @abc.abstractmethod
    def set_display_name(self, run_id: str, display_name: str) -> RunInfo:
        """Renames the run (``run.display_name = ...``); returns it as it is now."""

    @abc.abstractmethod
    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None:
        """Adds properties; they are add-only: a key set before to another value is a
        ConflictError and nothing is written."""

    @abc.abstractmethod
    def update_definition(self, run_id: str, patch: Mapping[str, Any]) -> RunInfo:
        """Merges keys into the run's definition (environment hash, lock, ...)."""

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> RunInfo:
        """Soft-deletes an ended run and its descendants (one stamp); ConflictError for
        one that has not ended. ``get_run`` still reads it (``deleted_at`` set)."""

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> RunInfo:
        """Undoes ``delete_run`` (for the descendants deleted with it)."""

    @abc.abstractmethod
    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> Experiment:
        """Adds or changes the experiment's tags (the others stay); the experiment."""

    @abc.abstractmethod
    def remove_experiment_tags(self, experiment_id: str, keys: Sequence[str]) -> Experiment:
        """Removes the named tags (ones it does not have are ignored); the experiment."""

    @abc.abstractmethod
    def purge_deleted(
        self,
        *,
        deleted_before: float | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> Purge:
        """Removes for good what was deleted: each deleted run (with its deleted
        descendants) and each deleted experiment with all its runs; their metrics, tags,
        properties, lineage rows and files go. ``deleted_before`` (unix time): only what
        was deleted before then. ``run_ids`` / ``experiment_ids``: only these (runs with
        their deleted descendants, experiments with all their runs); one that is not
        deleted (or not before ``deleted_before``) is a ConflictError and nothing is
        removed. ``dry_run``: says what would go, removes nothing. Registered models
        keep their files (they are stored apart) and name the purged run as their
        source still."""

    @abc.abstractmethod
    def request_cancel(self, run_id: str) -> RunInfo:
        """Asks the run to stop and returns it as it is now. A Queued run is Canceled at
        once (nobody has started it); an active one gets ``cancel_requested_at`` set
        (the first request's time is kept), which its runner polls; a finished (or not
        started) run is returned unchanged. Raises RunNotFoundError."""

    def get_change_seqs(self, run_ids: Sequence[str]) -> dict[str, int]:
        """Each run's change counter (``RunInfo.change_seq``): it grows with every
        write that changes what the run's page shows (points, records, status, tags,
        properties), so a live view compares it and reads nothing else while it stands
        still. Unknown ids are left out. This default reads each run; stores override
        it with one cheap query."""
        out: dict[str, int] = {}
        for run_id in run_ids:
            with contextlib.suppress(RunNotFoundError):
                out[run_id] = self.get_run(run_id).change_seq
        return out

    @abc.abstractmethod
    def claim_next_queued(self, compute_target: str, max_concurrent: int) -> RunInfo | None:
        """Atomically: if fewer than ``max_concurrent`` runs of ``compute_target`` are
        active (Preparing … Finalizing), moves its oldest Queued run to Preparing and
        returns it. Concurrent callers never exceed the slots nor claim a run twice."""

    # -- metrics -----------------------------------------------------------------------

    @abc.abstractmethod
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
        """Appends points and structured records and updates the per-metric summaries,
        in one transaction. With ``journal_offset``, also records how far the run's
        journal has been ingested, in that same transaction, so a crash between
        batches never stores a point twice or loses one. A str metric given numbers
        (or the reverse) is a MetricTypeError naming the metric; nothing is written.
        ``journal`` names which of the run's journals the offset is for ("" is the
        main one; each other process that logs has its own, e.g. "journal.4242.bin").
        With ``epoch``, FencedError (nothing written) if the run was taken from the
        runner that holds it: a reaped runner's late batch is never stored twice."""

    @abc.abstractmethod
    def get_journal_offset(self, run_id: str, journal: str = "") -> int:
        """Bytes of the run's journal ``journal`` ("" the main one) in the store (0 at first)."""

    @abc.abstractmethod
    def get_metric_summaries(self, run_id: str) -> dict[str, MetricSummary]: ...

    @abc.abstractmethod
    def get_metric_summaries_of(self, run_ids: Sequence[str]) -> RunSummaries:
        """Each run's metric summaries in one read; a run without any is left out."""

    @abc.abstractmethod
    def get_metric_series(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
        start: int = 0,
    ) -> MetricSeries:
        """A metric's points from index ``start`` on, in logging order. With
        ``max_points``, a longer series is down-sampled to at most that many points,
        keeping each bucket's min and max (and the first and last point)."""

    @abc.abstractmethod
    def get_metric_values_at_step(
        self, run_ids: Sequence[str], key: str, step: int
    ) -> dict[str, MetricValue]:
        """Each run's value of ``key`` at ``step`` (the last logged there), where it has one."""

    @abc.abstractmethod
    def get_metric_records(self, run_id: str, key: str | None = None) -> list[MetricRecord]:
        """Structured metrics (lists, rows, tables, images) in logging order."""

    # -- environments registry ---------------------------------------------------------

    @abc.abstractmethod
    def register_environment(
        self, name: str, spec: Mapping[str, Any], spec_hash: str
    ) -> EnvironmentRecord:
        """Registers a spec under ``name``. If the latest version has the same hash it
        is returned unchanged; otherwise a new version (latest + 1) is made."""

    @abc.abstractmethod
    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord:
        """The given version, or the latest. Raises EnvironmentNotFoundError."""

    @abc.abstractmethod
    def list_environments(self) -> list[EnvironmentRecord]:
        """Every version of every registered environment, by name then version."""

    # -- assets: datasets, models, lineage (ASSETS) -------------------------------------

    @abc.abstractmethod
    def register_dataset(
        self,
        name: str,
        *,
        kind: str,
        definition: Mapping[str, Any],
        manifest: Manifest,
        content_hash: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        create_new_version: bool = False,
        run_id: str | None = None,
    ) -> DatasetVersion:
        """Registers a dataset version. If the latest version of ``name`` has the same
        ``content_hash`` it is returned (``created`` False) and nothing is written;
        other content is version latest + 1 with ``create_new_version``, else a
        ConflictError naming that fix."""

    @abc.abstractmethod
    def get_dataset(self, name: str, version: int | None = None) -> DatasetVersion:
        """The given version, or the latest. Raises DatasetNotFoundError."""

    @abc.abstractmethod
    def get_dataset_by_id(self, dataset_id: str) -> DatasetVersion:
        """Raises DatasetNotFoundError."""

    @abc.abstractmethod
    def list_datasets(self, name: str | None = None) -> list[DatasetVersion]:
        """Every version (of ``name``, or of all), by name then version; manifests are
        left empty (read one version for its files)."""

    @abc.abstractmethod
    def register_model(
        self,
        name: str,
        *,
        manifest: Manifest,
        content_hash: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        run_id: str | None = None,
        dataset_ids: Sequence[str] = (),
    ) -> ModelVersion:
        """A new version of model ``name`` (latest + 1, atomically: concurrent callers
        get consecutive versions). The files' blobs must be stored first."""

    @abc.abstractmethod
    def get_model(
        self, name: str, version: int | None = None, *, alias: str | None = None
    ) -> ModelVersion:
        """The given version, the one ``alias`` points at, or the latest (ModelNotFoundError)."""

    @abc.abstractmethod
    def list_models(
        self, name: str | None = None, tags: Mapping[str, str | None] | None = None
    ) -> list[ModelVersion]:
        """Versions by name then version, with every tag given (a None value: the key
        alone); manifests are left empty."""

    @abc.abstractmethod
    def update_model(
        self,
        name: str,
        version: int,
        *,
        add_tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        add_properties: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Changes tags; adds properties (a key set to another value is a
        ConflictError and nothing is written)."""

    @abc.abstractmethod
    def set_model_alias(
        self, name: str, alias: str, version: int | None, actor: str = ""
    ) -> AliasEvent:
        """Points ``alias`` at ``version`` (None removes it) and appends the move to
        the alias history. Raises ModelNotFoundError for a version that does not exist."""

    @abc.abstractmethod
    def get_model_alias_history(
        self, name: str, alias: str | None = None, as_of: float | None = None
    ) -> list[AliasEvent]:
        """Every move of the model's aliases (or one alias) up to ``as_of``, oldest first."""

    @abc.abstractmethod
    def add_run_dataset(
        self,
        run_id: str,
        direction: str,
        name: str,
        dataset_id: str | None = None,
        source: Mapping[str, Any] | None = None,
    ) -> RunDatasetLink:
        """Records that the run read (``"input"``) or wrote (``"output"``) a dataset:
        a registered version by id, or an unregistered one by ``source``."""

    @abc.abstractmethod
    def get_run_datasets(self, run_id: str) -> list[RunDatasetLink]:
        """The run's lineage links, in the order they were recorded."""

    @abc.abstractmethod
    def get_dataset_runs(self, dataset_id: str) -> list[RunDatasetLink]:
        """The lineage links to dataset version ``dataset_id`` (the runs that read or
        wrote it), oldest first. DatasetNotFoundError for an unknown id."""

    # -- lifetime ----------------------------------------------------------------------

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
