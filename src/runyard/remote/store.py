"""``HttpStore``: the :class:`Store` interface over a Runyard server's REST API.

What a runner on another machine (a Ray node) uses as its store: ``open_store(
"http://host:8765", token=...)``. Reads work without a token on a loopback studio;
every write needs it. Bodies and answers are the models of :mod:`runyard.wire`, the
same ones the server's routes take and answer. Calls survive a server that is briefly
away (restarting, say): they are retried with back-off for up to ``retry_for`` seconds,
within the rules of :mod:`runyard.remote.client`. ``append_metrics`` with a
``journal_offset`` is safe to repeat even when the first attempt may have been stored:
the server writes points and offset in one transaction but does not itself refuse a
repeated batch, so before repeating, the client re-reads the offset and skips a batch
that is already in.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from runyard import wire
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
from runyard.errors import AuthError, ConflictError, ExperimentNotFoundError, ValidationError
from runyard.remote.artifacts import HttpArtifactRepository, HttpSnapshots
from runyard.remote.assets import AssetCalls
from runyard.remote.calls import path_part
from runyard.remote.client import DEFAULT_RETRY_FOR_S, AmbiguousRequestError, HttpClient
from runyard.store.base import Store


def _run(run_id: str, tail: str = "") -> str:
    return f"/runs/{path_part(run_id)}{tail}"


class HttpStore(AssetCalls, Store):
    """A Runyard server (``runyard studio``) as a store.

    ``token`` is the studio's access token (needed for writes). ``retry_for`` bounds
    how long one call keeps retrying while the server is unreachable or answers 503;
    ``timeout`` bounds one request."""

    def __init__(
        self,
        uri: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retry_for: float = DEFAULT_RETRY_FOR_S,
    ) -> None:
        if not uri.lower().startswith(("http://", "https://")):
            raise ValidationError(f"HttpStore needs an http(s):// URL, not {uri!r}")
        self.uri = uri.rstrip("/")
        self._http = HttpClient(self.uri, token=token, timeout=timeout, retry_for=retry_for)
        self.artifacts = HttpArtifactRepository(self._http)
        self.snapshots = HttpSnapshots(self._http)

    @property
    def retry_for(self) -> float:
        """Seconds one call keeps retrying while the server is away (settable)."""
        return self._http.retry_for

    @retry_for.setter
    def retry_for(self, seconds: float) -> None:
        self._http.retry_for = seconds

    # -- experiments -------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> Experiment:
        body = wire.ExperimentIn(name=name)
        return self._send("POST", "/experiments", body, wire.ExperimentOut).to_entity()

    def get_experiment(self, experiment_id: str) -> Experiment:
        path = f"/experiments/{path_part(experiment_id)}"
        return self._get(wire.ExperimentOut, path).to_entity()

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            path = f"/experiments/by-name/{path_part(name)}"
            return self._get(wire.ExperimentOut, path).to_entity()
        except ExperimentNotFoundError:
            return None

    def list_experiments(self, lifecycle: str = "active") -> list[ExperimentStats]:
        answer = self._get(wire.ExperimentsOut, "/experiments", lifecycle=lifecycle)
        return [e.to_stats() for e in answer.experiments]

    def delete_experiment(self, experiment_id: str) -> Experiment:
        path = f"/experiments/{path_part(experiment_id)}/delete"
        return self._send("POST", path, None, wire.ExperimentOut).to_entity()

    def restore_experiment(self, experiment_id: str) -> Experiment:
        path = f"/experiments/{path_part(experiment_id)}/restore"
        return self._send("POST", path, None, wire.ExperimentOut).to_entity()

    def rename_experiment(self, experiment_id: str, name: str) -> Experiment:
        path = f"/experiments/{path_part(experiment_id)}/rename"
        body = wire.ExperimentIn(name=name)
        return self._send("POST", path, body, wire.ExperimentOut).to_entity()

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
        body = wire.RunIn(
            experiment_id=experiment_id,
            kind=RunKind(kind).value,
            status=RunStatus(status).value,
            compute_target=compute_target,
            parent_run_id=parent_run_id,
            display_name=display_name,
            tags=None if tags is None else dict(tags),
            properties=None if properties is None else dict(properties),
            definition=None if definition is None else wire.encode_any(definition),
            owner=owner,
            run_id=run_id,
        )
        try:
            # Without an id a repeat would make a second run; with one it is a conflict.
            out = self._send("POST", "/runs", body, wire.RunOut, idempotent=run_id is not None)
            return out.to_entity()
        except ConflictError:
            if run_id is None:
                raise
            existing = self.get_run(run_id)  # our first attempt went through?
            if existing.experiment_id != experiment_id or existing.kind is not kind:
                raise
            return existing

    def get_run(self, run_id: str) -> RunInfo:
        return self._get(wire.RunOut, _run(run_id)).to_entity()

    def search_runs(self, query: RunQuery) -> RunPage:
        body = wire.RunQueryIn.of(query)
        return self._send("POST", "/runs/search", body, wire.RunPageOut).to_entity()

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
        status = RunStatus(status)
        body = wire.StatusIn.of(status, exit_code, error, expected, epoch, fence)
        path = _run(run_id, "/status")
        try:
            return self._send("POST", path, body, wire.RunOut, idempotent=False).to_entity()
        except AmbiguousRequestError:
            pass
        # The connection broke mid-call: repeat it, but a conflict that only says "it
        # is already where you wanted it" means the first attempt went through.
        try:
            return self._send("POST", path, body, wire.RunOut).to_entity()
        except ConflictError:
            now = self.get_run(run_id)
            if now.status is status and (exit_code is None or now.exit_code == exit_code):
                return now
            raise

    def heartbeat(self, run_id: str, owner: str | None = None, epoch: int | None = None) -> None:
        body = wire.HeartbeatIn(owner=owner, epoch=epoch)
        self._send_only("POST", _run(run_id, "/heartbeat"), body)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self._send_only("PATCH", _run(run_id, "/tags"), wire.TagsIn(tags=dict(tags)))

    def remove_tags(self, run_id: str, keys: Sequence[str]) -> None:
        if isinstance(keys, str):  # the same refusal the SQL store gives, before sending
            raise ValidationError(f"remove_tags takes a list of tag names: write [{keys!r}]")
        self._send_only("POST", _run(run_id, "/tags/remove"), wire.TagKeysIn(keys=list(keys)))

    def set_display_name(self, run_id: str, display_name: str) -> RunInfo:
        body = wire.DisplayNameIn(display_name=display_name)
        return self._send("PATCH", _run(run_id, "/display_name"), body, wire.RunOut).to_entity()

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None:
        # Idempotent: adding the same value again is allowed, another value conflicts.
        body = wire.PropertiesIn(properties=dict(properties))
        self._send_only("POST", _run(run_id, "/properties"), body)

    def update_definition(self, run_id: str, patch: Mapping[str, Any]) -> RunInfo:
        body = wire.DefinitionPatchIn.of(patch)
        return self._send("PATCH", _run(run_id, "/definition"), body, wire.RunOut).to_entity()

    def delete_run(self, run_id: str) -> RunInfo:
        return self._send("POST", _run(run_id, "/delete"), None, wire.RunOut).to_entity()

    def restore_run(self, run_id: str) -> RunInfo:
        return self._send("POST", _run(run_id, "/restore"), None, wire.RunOut).to_entity()

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> Experiment:
        path = f"/experiments/{path_part(experiment_id)}/tags"
        body = wire.TagsIn(tags=dict(tags))
        return self._send("POST", path, body, wire.ExperimentOut).to_entity()

    def remove_experiment_tags(self, experiment_id: str, keys: Sequence[str]) -> Experiment:
        if isinstance(keys, str):  # the same refusal the SQL store gives, before sending
            raise ValidationError(f"remove_tags takes a list of tag names: write [{keys!r}]")
        path = f"/experiments/{path_part(experiment_id)}/tags/remove"
        body = wire.TagKeysIn(keys=list(keys))
        return self._send("POST", path, body, wire.ExperimentOut).to_entity()

    def purge_deleted(
        self,
        *,
        deleted_before: float | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> Purge:
        for what, given in (("run", run_ids), ("experiment", experiment_ids)):
            if isinstance(given, str):  # the same refusal the SQL store gives
                raise ValidationError(f"purge takes a list of {what} ids: write [{given!r}]")
        body = wire.PurgeIn(
            deleted_before=deleted_before,
            run_ids=None if run_ids is None else list(run_ids),
            experiment_ids=None if experiment_ids is None else list(experiment_ids),
            dry_run=dry_run,
        )
        # Repeating a purge after a broken connection removes nothing more.
        return self._send("POST", "/purge", body, wire.PurgeOut).to_entity()

    def request_cancel(self, run_id: str) -> RunInfo:
        # Safe to repeat: a second request keeps the first one's time.
        return self._send("POST", _run(run_id, "/cancel"), None, wire.RunOut).to_entity()

    def claim_next_queued(self, compute_target: str, max_concurrent: int) -> RunInfo | None:
        # Never repeated after a broken connection: a repeat could claim a second run.
        path = f"/compute/{path_part(compute_target)}/claim"
        body = wire.ClaimIn(max_concurrent=max_concurrent)
        answer = self._send("POST", path, body, wire.ClaimOut, idempotent=False)
        return None if answer.run is None else answer.run.to_entity()

    def get_change_seqs(self, run_ids: Sequence[str]) -> dict[str, int]:
        if not run_ids:
            return {}
        out = self._get(wire.ChangeSeqsOut, "/change-seqs", runs=",".join(run_ids))
        return out.change_seqs

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
        body = wire.MetricsIn.of(columns, records, journal_offset, journal, epoch)
        path = _run(run_id, "/metrics")
        give_up = time.monotonic() + self._http.retry_for
        while True:
            try:
                self._send_only("POST", path, body, idempotent=False)
                return
            except AmbiguousRequestError:
                if journal_offset is None or time.monotonic() > give_up:
                    raise
            # The offset is stored with the points, in one transaction: if it has
            # reached ours, this batch is in and must not be sent again.
            if self.get_journal_offset(run_id, journal) >= journal_offset:
                return

    def get_journal_offset(self, run_id: str, journal: str = "") -> int:
        path = _run(run_id, "/journal-offset")
        if journal:
            path += "?" + urllib.parse.urlencode({"journal": journal})
        return self._get(wire.JournalOffsetOut, path).offset

    def get_metric_summaries(self, run_id: str) -> dict[str, MetricSummary]:
        data = self._get(wire.SummariesOut, _run(run_id, "/metrics")).metrics
        return {key: s.to_entity() for key, s in data.items()}

    def get_metric_summaries_of(
        self, run_ids: Sequence[str]
    ) -> dict[str, dict[str, MetricSummary]]:
        if not run_ids:
            return {}
        out = self._get(wire.ManySummariesOut, "/metric-summaries", runs=",".join(run_ids))
        return {r: {k: s.to_entity() for k, s in m.items()} for r, m in out.runs.items()}

    def get_metric_series(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
        start: int = 0,
    ) -> MetricSeries:
        path = _run(run_id, f"/metrics/{path_part(key)}")
        out = self._get(wire.SeriesOut, path, max_points=max_points, start=start or None)
        return out.to_entity()

    def get_metric_values_at_step(
        self, run_ids: Sequence[str], key: str, step: int
    ) -> dict[str, MetricValue]:
        body = wire.ValuesAtStepIn(runs=list(run_ids), key=key, step=step)
        answer = self._send("POST", "/metrics/at-step", body, wire.ValuesAtStepOut)
        return answer.decoded()

    def get_metric_records(self, run_id: str, key: str | None = None) -> list[MetricRecord]:
        data = self._get(wire.RecordsOut, _run(run_id, "/records"), key=key).records
        return [r.to_entity() for r in data]

    # -- environments registry ---------------------------------------------------------

    def register_environment(
        self, name: str, spec: Mapping[str, Any], spec_hash: str
    ) -> EnvironmentRecord:
        body = wire.EnvironmentIn.of(name, spec, spec_hash)
        return self._send("POST", "/environments", body, wire.EnvironmentOut).to_entity()

    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord:
        path = f"/environments/{path_part(name)}"
        return self._get(wire.EnvironmentOut, path, version=version).to_entity()

    def list_environments(self) -> list[EnvironmentRecord]:
        out = self._get(wire.EnvironmentsOut, "/environments")
        return [e.to_entity() for e in out.environments]

    # -- lifetime ----------------------------------------------------------------------

    def check_token(self) -> None:
        """Raises AuthError unless this store's token is accepted for writes (a cheap
        write with no effect: a heartbeat of a run that does not exist)."""
        try:
            self._send_only("POST", _run("runyard-token-check", "/heartbeat"), wire.HeartbeatIn())
        except AuthError:
            raise
        except (LookupError, ValidationError):
            return  # the token passed; only the (made-up) run was refused

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"HttpStore({self.uri!r})"
