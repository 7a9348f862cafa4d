"""Request bodies of the write API, as pydantic models (they also feed the OpenAPI
schema), and their conversion into entities."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runyard.entities import MetricColumns, MetricRecord, RunKind, RunQuery, RunStatus
from runyard.errors import ValidationError
from runyard.server.encoding import decode_values
from runyard.server.limits import MAX_INT64
from runyard.store.http_codec import decode_any


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_status(text: str) -> RunStatus:
    try:
        return RunStatus.parse(text)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def parse_kind(text: str) -> RunKind:
    try:
        return RunKind(text)
    except ValueError:
        kinds = ", ".join(k.value for k in RunKind)
        raise ValidationError(f"unknown run kind {text!r}; expected one of {kinds}") from None


class ExperimentIn(_Body):
    """``POST /api/experiments``: get or create by name."""

    name: str


class RunIn(_Body):
    """``POST /api/runs``: the arguments of ``Store.create_run``."""

    experiment_id: str
    kind: str = Field(description="interactive, submitted or child")
    status: str = Field(description="a RunStatus value such as Queued or Running")
    compute_target: str = "local"
    parent_run_id: str | None = None
    display_name: str = ""
    tags: dict[str, str] | None = None
    properties: dict[str, str] | None = None
    definition: dict[str, Any] | None = None
    owner: str | None = None
    run_id: str | None = None


class StatusIn(_Body):
    """``POST /api/runs/{run_id}/status``: compare-and-set when ``expected`` is given."""

    status: str
    exit_code: int | None = None
    error: str | None = None
    expected: list[str] | None = None


class HeartbeatIn(_Body):
    owner: str | None = None


class TagsIn(_Body):
    tags: dict[str, str]


class PropertiesIn(_Body):
    properties: dict[str, str]


class DefinitionPatchIn(_Body):
    patch: dict[str, Any]


class ClaimIn(_Body):
    """``POST /api/compute/{compute_target}/claim``."""

    max_concurrent: int = Field(ge=1)


class ColumnsIn(_Body):
    """One metric's points in columns. For numeric types a non-finite value is the
    string "NaN", "Infinity" or "-Infinity"."""

    key: str
    value_type: Literal["float", "int", "bool", "str"]
    steps: list[int]
    timestamps: list[float]
    values: list[Any]

    def to_entity(self) -> MetricColumns:
        n = len(self.steps)
        if len(self.timestamps) != n or len(self.values) != n:
            raise ValidationError(
                f"metric {self.key!r}: steps, timestamps and values must be equally long "
                f"(got {n}, {len(self.timestamps)}, {len(self.values)})"
            )
        return MetricColumns(
            key=self.key,
            value_type=self.value_type,
            steps=self.steps,
            timestamps=self.timestamps,
            values=decode_values(self.values, self.value_type, self.key),
        )


class RecordIn(_Body):
    """A structured metric; non-finite floats in ``payload`` are ``{"$float": "NaN"}``."""

    key: str
    kind: Literal["list", "row", "table", "image"]
    payload: Any
    timestamp: float
    seq: int = 0

    def to_entity(self) -> MetricRecord:
        return MetricRecord(
            key=self.key,
            kind=self.kind,
            payload=decode_any(self.payload),
            timestamp=self.timestamp,
            seq=self.seq,
        )


class MetricsIn(_Body):
    """``POST /api/runs/{run_id}/metrics``: one ``Store.append_metrics`` transaction."""

    columns: list[ColumnsIn] = Field(default_factory=list)
    records: list[RecordIn] = Field(default_factory=list)
    journal_offset: int | None = Field(default=None, ge=0, le=MAX_INT64)


class EnvironmentIn(_Body):
    """``POST /api/environments``."""

    name: str
    spec: dict[str, Any]
    spec_hash: str


class RunQueryIn(_Body):
    """``POST /api/runs/search``: a full :class:`RunQuery`."""

    experiment_id: str | None = None
    statuses: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    text: str = ""
    parent_run_id: str | None = None
    compute_target: str | None = None
    sort: str = "created_at"
    descending: bool = True
    limit: int = Field(default=100, ge=0, le=100_000)
    offset: int = Field(default=0, ge=0, le=MAX_INT64)
    with_metrics: list[str] = Field(default_factory=list)

    def to_entity(self) -> RunQuery:
        return RunQuery(
            experiment_id=self.experiment_id,
            statuses=tuple(parse_status(s) for s in self.statuses),
            tags=self.tags,
            text=self.text,
            parent_run_id=self.parent_run_id,
            compute_target=self.compute_target,
            sort=self.sort,
            descending=self.descending,
            limit=self.limit,
            offset=self.offset,
            with_metrics=tuple(self.with_metrics),
        )


class SnapshotIn(_Body):
    """``PUT /api/snapshots/{snapshot_id}``: ``{"files": {path: {"sha256", "size",
    "mode"}}}``, exactly as ``GET`` answers it; upload every blob first."""

    files: dict[str, dict[str, Any]]
