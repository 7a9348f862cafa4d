"""Plain, frozen values that cross every layer. No I/O, no SQL."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MetricValue = float | int | bool | str


class RunStatus(str, enum.Enum):
    """A run's lifecycle. Submitted runs go Queued → Preparing → Starting → Running →
    Finalizing → one terminal status; interactive runs start at Running."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    STARTING = "Starting"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"

    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @classmethod
    def parse(cls, text: str) -> RunStatus:
        """Accepts ``"Completed"``, ``"completed"`` or ``"COMPLETED"``."""
        for status in cls:
            if text.lower() in (status.value.lower(), status.name.lower()):
                return status
        names = ", ".join(s.value for s in cls)
        raise ValueError(f"unknown run status {text!r}; expected one of {names}")

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED})
ACTIVE_STATUSES = (
    RunStatus.PREPARING,
    RunStatus.STARTING,
    RunStatus.RUNNING,
    RunStatus.FINALIZING,
)


class RunKind(str, enum.Enum):
    INTERACTIVE = "interactive"  # experiment.start_logging(): the process itself logs
    SUBMITTED = "submitted"  # experiment.submit(): a runner supervises it
    CHILD = "child"  # run.child_run()
    SWEEP = "sweep"  # experiment.submit(HyperDriveConfig): a controller drives its trials


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    created_at: float
    # When it was deleted (soft: its runs stay until restored or purged); None: active.
    deleted_at: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentStats:
    """An experiment with what its list page shows."""

    experiment: Experiment
    run_count: int
    last_run_at: float | None
    status_counts: Mapping[str, int]


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    number: int  # 1, 2, 3 ... within the experiment
    kind: RunKind
    status: RunStatus
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    parent_run_id: str | None = None
    display_name: str = ""
    compute_target: str = "local"
    tags: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)
    # What a submitted run runs: script, arguments, snapshot id, environment, limits.
    definition: Mapping[str, Any] = field(default_factory=dict)
    exit_code: int | None = None
    error: str | None = None
    heartbeat_at: float | None = None
    owner: str | None = None  # "pid@host" of the process that drives the run
    # When someone asked the run to stop (Store.request_cancel); None: nobody has.
    cancel_requested_at: float | None = None
    # Bumped by every write that changes what the run's page shows (points, records,
    # status, tags, properties): a live view compares it instead of re-reading.
    change_seq: int = 0
    # Fencing: bumped when the run is taken from its runner (reaped); a write that
    # carries an older epoch is refused (FencedError).
    epoch: int = 0
    # When it was deleted (soft, with its descendants; restore undoes it); None: active.
    deleted_at: float | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None else self.heartbeat_at
        return None if end is None else max(0.0, end - self.started_at)


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: MetricValue
    step: int
    timestamp: float


@dataclass(frozen=True)
class MetricSummary:
    """Kept up to date at ingest so that run lists sort by a metric without points."""

    key: str
    count: int
    last: MetricValue | None
    min: float | int | None  # an int (exact) for int and bool metrics
    max: float | int | None
    last_step: int
    value_type: str  # "float", "int", "bool" or "str"


@dataclass(frozen=True)
class MetricSeries:
    """One metric's points, possibly down-sampled (min/max preserving)."""

    key: str
    steps: Sequence[int]
    timestamps: Sequence[float]
    values: Sequence[MetricValue]
    total_count: int
    downsampled: bool = False


@dataclass(frozen=True)
class MetricColumns:
    """A batch of one metric's points in columns: how ingest hands points to the store
    (a million ``MetricPoint`` objects would cost more than storing them)."""

    key: str
    value_type: str  # "float", "int", "bool" or "str"
    # Sequences or numpy arrays (typed Any so that entities need not import numpy).
    steps: Any
    timestamps: Any
    values: Any

    def __len__(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class FileInfo:
    path: str  # relative, with "/" separators
    size: int
    modified_at: float


@dataclass(frozen=True)
class MetricRecord:
    """A structured metric: a list, a row of a table, a table, or an image."""

    key: str
    kind: str  # "list", "row", "table", "image"
    payload: Any
    timestamp: float
    seq: int = 0


# What a list shows by deletion (RunQuery.lifecycle, Store.list_experiments).
LIFECYCLES = ("active", "deleted", "all")


@dataclass(frozen=True)
class RunQuery:
    """What a runs list asks for. ``sort`` is a column (``created_at``, ``status``,
    ``number``, ``duration``) or ``metric:NAME[:last|min|max]``."""

    experiment_id: str | None = None
    statuses: Sequence[RunStatus] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    parent_run_id: str | None = None
    compute_target: str | None = None
    sort: str = "created_at"
    descending: bool = True
    limit: int = 100
    offset: int = 0
    with_metrics: Sequence[str] = ()
    # Which runs by deletion: "active" (not deleted, in an experiment that is not),
    # "deleted" (deleted, or in a deleted experiment), or "all".
    lifecycle: str = "active"


@dataclass(frozen=True)
class RunPage:
    runs: Sequence[RunInfo]
    total: int
    summaries: Mapping[str, Mapping[str, MetricSummary]] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvironmentRecord:
    """A registered environment version in a workspace."""

    name: str
    version: int
    spec: Mapping[str, Any]
    spec_hash: str
    created_at: float


@dataclass(frozen=True)
class ComputeTargetConfig:
    name: str
    type: str  # "local" or "ray"
    max_concurrent_runs: int = 1
    address: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


# -- assets ------------------------------------------------------------------------------
# A manifest maps each file's relative posix path to [sha256, size].
Manifest = Mapping[str, Sequence[Any]]


@dataclass(frozen=True)
class DatasetVersion:
    """A registered, immutable dataset version. ``definition`` says where its files
    are (datastore, paths) and how to read them (tabular options)."""

    dataset_id: str
    name: str
    version: int
    kind: str  # "file" or "tabular"
    description: str
    tags: Mapping[str, str]
    definition: Mapping[str, Any]
    content_hash: str
    file_count: int
    total_bytes: int
    manifest: Manifest
    run_id: str | None
    created_at: float
    created: bool = False  # True when this call made it (register), else it existed


@dataclass(frozen=True)
class ModelVersion:
    """A registered model version: files in the blob store, by hash."""

    name: str
    version: int
    description: str
    tags: Mapping[str, str]
    properties: Mapping[str, str]
    content_hash: str
    file_count: int
    total_bytes: int
    manifest: Manifest
    run_id: str | None
    dataset_ids: Sequence[str]
    created_at: float
    aliases: Sequence[str] = ()

    @property
    def model_id(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class AliasEvent:
    """One move of a model alias: from_version None = created, to_version None = removed."""

    model_name: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    at: float


@dataclass(frozen=True)
class RunDatasetLink:
    """Lineage: a dataset a run read ("input") or wrote ("output")."""

    run_id: str
    direction: str
    name: str
    dataset_id: str | None
    source: Mapping[str, Any]
    created_at: float


@dataclass(frozen=True)
class Purge:
    """What ``Store.purge_deleted`` removed for good, or would remove (``dry_run``):
    deleted runs, deleted experiments (with every run in them), and the bytes of the
    runs' files."""

    run_ids: tuple[str, ...]
    experiment_ids: tuple[str, ...]
    file_bytes: int
    dry_run: bool = False
