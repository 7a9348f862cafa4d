"""Runs on the wire: the run itself, pages of runs, queries, and the bodies of the
calls that change a run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from runyard.entities import Purge, RunInfo, RunKind, RunPage, RunQuery, RunStatus
from runyard.errors import ValidationError
from runyard.wire.base import Answer, Body
from runyard.wire.metrics import SummaryOut
from runyard.wire.values import MAX_INT64, NonNegativeInt64, decode_any, encode_any

__all__ = [
    "ChangeSeqsOut",
    "ClaimIn",
    "ClaimOut",
    "DefinitionPatchIn",
    "DisplayNameIn",
    "HeartbeatIn",
    "PropertiesIn",
    "PurgeIn",
    "PurgeOut",
    "RunIn",
    "RunListOut",
    "RunOut",
    "RunPageOut",
    "RunQueryIn",
    "StatusIn",
    "TagKeysIn",
    "TagsIn",
    "parse_kind",
    "parse_status",
]


def parse_status(text: str) -> RunStatus:
    """A RunStatus from its value or name, any case; ValidationError otherwise."""
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


class RunOut(Answer):
    """A run. ``definition`` is JSON with non-finite floats tagged (see values)."""

    run_id: str
    experiment_id: str
    number: int
    kind: RunKind
    status: RunStatus
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    parent_run_id: str | None = None
    display_name: str = ""
    compute_target: str = "local"
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    definition: dict[str, Any] = Field(default_factory=dict)
    exit_code: int | None = None
    error: str | None = None
    heartbeat_at: float | None = None
    owner: str | None = None
    cancel_requested_at: float | None = None
    change_seq: int = 0
    epoch: int = 0
    deleted_at: float | None = None
    duration: float | None = Field(default=None, description="derived; ignored when read")

    @classmethod
    def of(cls, run: RunInfo) -> RunOut:
        return cls(
            run_id=run.run_id,
            experiment_id=run.experiment_id,
            number=run.number,
            kind=run.kind,
            status=run.status,
            created_at=run.created_at,
            started_at=run.started_at,
            ended_at=run.ended_at,
            parent_run_id=run.parent_run_id,
            display_name=run.display_name,
            compute_target=run.compute_target,
            tags=dict(run.tags),
            properties=dict(run.properties),
            definition=encode_any(run.definition),
            exit_code=run.exit_code,
            error=run.error,
            heartbeat_at=run.heartbeat_at,
            owner=run.owner,
            cancel_requested_at=run.cancel_requested_at,
            change_seq=run.change_seq,
            epoch=run.epoch,
            deleted_at=run.deleted_at,
            duration=run.duration,
        )

    def to_entity(self) -> RunInfo:
        return RunInfo(
            run_id=self.run_id,
            experiment_id=self.experiment_id,
            number=self.number,
            kind=self.kind,
            status=self.status,
            created_at=self.created_at,
            started_at=self.started_at,
            ended_at=self.ended_at,
            parent_run_id=self.parent_run_id,
            display_name=self.display_name,
            compute_target=self.compute_target,
            tags=self.tags,
            properties=self.properties,
            definition=decode_any(self.definition),
            exit_code=self.exit_code,
            error=self.error,
            heartbeat_at=self.heartbeat_at,
            owner=self.owner,
            cancel_requested_at=self.cancel_requested_at,
            change_seq=self.change_seq,
            epoch=self.epoch,
            deleted_at=self.deleted_at,
        )


class RunPageOut(Answer):
    """One page of runs, the total, and the metric summaries asked for."""

    runs: list[RunOut]
    total: int
    summaries: dict[str, dict[str, SummaryOut]] = Field(default_factory=dict)

    @classmethod
    def of(cls, page: RunPage) -> RunPageOut:
        return cls(
            runs=[RunOut.of(r) for r in page.runs],
            total=page.total,
            summaries={
                run_id: {k: SummaryOut.of(s) for k, s in by_key.items()}
                for run_id, by_key in page.summaries.items()
            },
        )

    def to_entity(self) -> RunPage:
        return RunPage(
            runs=[r.to_entity() for r in self.runs],
            total=self.total,
            summaries={
                run_id: {k: s.to_entity() for k, s in by_key.items()}
                for run_id, by_key in self.summaries.items()
            },
        )


class RunListOut(RunPageOut):
    """``GET /api/experiments/{id}/runs``: a page with the paging it was asked for."""

    limit: int
    offset: int


class RunIn(Body):
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

    def decoded_definition(self) -> dict[str, Any] | None:
        definition: dict[str, Any] | None = (
            None if self.definition is None else decode_any(self.definition)
        )
        return definition


class StatusIn(Body):
    """``POST /api/runs/{run_id}/status``: compare-and-set when ``expected`` is given."""

    status: str
    exit_code: int | None = None
    error: str | None = None
    expected: list[str] | None = None
    epoch: NonNegativeInt64 | None = None  # the runner's fencing epoch (Store.set_status)
    fence: bool = False

    @classmethod
    def of(
        cls,
        status: RunStatus,
        exit_code: int | None,
        error: str | None,
        expected: Sequence[RunStatus] | None,
        epoch: int | None = None,
        fence: bool = False,
    ) -> StatusIn:
        return cls(
            status=RunStatus(status).value,
            exit_code=exit_code,
            error=error,
            expected=None if expected is None else [RunStatus(s).value for s in expected],
            epoch=epoch,
            fence=fence,
        )

    def expected_statuses(self) -> list[RunStatus] | None:
        return None if self.expected is None else [parse_status(s) for s in self.expected]


class HeartbeatIn(Body):
    owner: str | None = None
    epoch: NonNegativeInt64 | None = None


class TagsIn(Body):
    tags: dict[str, str]


class TagKeysIn(Body):
    """The names of tags to remove."""

    keys: list[str]


class DisplayNameIn(Body):
    display_name: str


class PropertiesIn(Body):
    properties: dict[str, str]


class DefinitionPatchIn(Body):
    """Keys to merge into a run's definition (non-finite floats tagged)."""

    patch: dict[str, Any]

    @classmethod
    def of(cls, patch: Mapping[str, Any]) -> DefinitionPatchIn:
        return cls(patch=encode_any(dict(patch)))

    def decoded_patch(self) -> dict[str, Any]:
        patch: dict[str, Any] = decode_any(self.patch)
        return patch


class ClaimIn(Body):
    """``POST /api/compute/{compute_target}/claim``."""

    max_concurrent: int = Field(ge=1, le=MAX_INT64)


class ClaimOut(Answer):
    """The claimed run, or null when none was queued or no slot was free."""

    run: RunOut | None


class ChangeSeqsOut(Answer):
    """``GET /api/change-seqs?runs=a,b``: each known run's change counter."""

    change_seqs: dict[str, int]


class RunQueryIn(Body):
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
    offset: NonNegativeInt64 = 0
    with_metrics: list[str] = Field(default_factory=list)
    lifecycle: str = "active"

    @classmethod
    def of(cls, query: RunQuery) -> RunQueryIn:
        return cls(
            experiment_id=query.experiment_id,
            statuses=[RunStatus(s).value for s in query.statuses],
            tags=dict(query.tags),
            text=query.text,
            parent_run_id=query.parent_run_id,
            compute_target=query.compute_target,
            sort=query.sort,
            descending=query.descending,
            limit=query.limit,
            offset=query.offset,
            with_metrics=list(query.with_metrics),
            lifecycle=query.lifecycle,
        )

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
            lifecycle=self.lifecycle,
        )


class PurgeIn(Body):
    """``POST /api/purge``: what ``Store.purge_deleted`` takes."""

    deleted_before: float | None = None
    run_ids: list[str] | None = None
    experiment_ids: list[str] | None = None
    dry_run: bool = False


class PurgeOut(Answer):
    """What a purge removed (or would remove)."""

    run_ids: list[str]
    experiment_ids: list[str]
    file_bytes: int
    dry_run: bool

    @classmethod
    def of(cls, purge: Purge) -> PurgeOut:
        return cls(
            run_ids=list(purge.run_ids),
            experiment_ids=list(purge.experiment_ids),
            file_bytes=purge.file_bytes,
            dry_run=purge.dry_run,
        )

    def to_entity(self) -> Purge:
        return Purge(tuple(self.run_ids), tuple(self.experiment_ids), self.file_bytes, self.dry_run)
