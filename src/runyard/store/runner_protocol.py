"""The runner's store calls, apart from the read API.

A runner (local, or on a Ray node through the studio) drives one submitted run: it
claims queued runs for free slots, beats its heart, moves the run's status, records
the environment it prepared, ingests the journal (points, tags, properties, uploads,
and the offset reached) and notices a cancel request (``RunInfo.cancel_requested_at``,
set by :meth:`runyard.store.base.Store.request_cancel`). That is all it may do. Every
:class:`~runyard.store.base.Store` satisfies this protocol, so a runner is handed a
store, and a test can hand it anything with these methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from runyard.entities import (
    DatasetVersion,
    Manifest,
    MetricColumns,
    MetricRecord,
    RunDatasetLink,
    RunInfo,
    RunStatus,
)
from runyard.store.artifacts import ArtifactRepository

__all__ = ["RunnerStore"]


class RunnerStore(Protocol):
    """What a runner calls; see :class:`runyard.store.base.Store` for the semantics."""

    @property
    def uri(self) -> str: ...

    @property
    def artifacts(self) -> ArtifactRepository: ...

    def get_run(self, run_id: str) -> RunInfo: ...

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
    ) -> RunInfo: ...

    def heartbeat(
        self, run_id: str, owner: str | None = None, epoch: int | None = None
    ) -> None: ...

    def claim_next_queued(self, compute_target: str, max_concurrent: int) -> RunInfo | None: ...

    def update_definition(self, run_id: str, patch: Mapping[str, Any]) -> RunInfo: ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None: ...

    def append_metrics(
        self,
        run_id: str,
        columns: Sequence[MetricColumns],
        records: Sequence[MetricRecord] = (),
        *,
        journal_offset: int | None = None,
        journal: str = "",
        epoch: int | None = None,
    ) -> None: ...

    def get_journal_offset(self, run_id: str, journal: str = "") -> int: ...

    # Dataset inputs and outputs of the run (ASSETS: runyard.assets.inputs, .outputs).
    def get_dataset_by_id(self, dataset_id: str) -> DatasetVersion: ...

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
    ) -> DatasetVersion: ...

    def add_run_dataset(
        self,
        run_id: str,
        direction: str,
        name: str,
        dataset_id: str | None = None,
        source: Mapping[str, Any] | None = None,
    ) -> RunDatasetLink: ...

    def close(self) -> None: ...
