"""``HttpStore``: the :class:`Store` interface over a Runyard server's REST API.

What a runner on another machine (a Ray node) uses as its store: ``open_store(
"http://host:8765", token=...)``. Reads work without a token on a loopback studio;
every write needs it. Calls survive a server that is briefly away (restarting, say):
they are retried with back-off for up to ``retry_for`` seconds, within the rules of
:mod:`runyard.store.http_client`. ``append_metrics`` with a ``journal_offset`` is safe
to repeat even when the first attempt may have been stored: the server writes points
and offset in one transaction but does not itself refuse a repeated batch, so before
repeating, the client re-reads the offset and skips a batch that is already in.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.entities import (
    EnvironmentRecord,
    Experiment,
    ExperimentStats,
    MetricColumns,
    MetricRecord,
    MetricSeries,
    MetricSummary,
    RunInfo,
    RunKind,
    RunPage,
    RunQuery,
    RunStatus,
)
from runyard.errors import AuthError, ConflictError, ExperimentNotFoundError, ValidationError
from runyard.store.base import Store
from runyard.store.http_artifacts import HttpArtifactRepository, HttpSnapshots
from runyard.store.http_client import DEFAULT_RETRY_FOR_S, AmbiguousRequestError, HttpClient
from runyard.store.http_codec import (
    as_list,
    decode_any,
    decode_values,
    encode_any,
    encode_values,
    environment_from_json,
    experiment_from_json,
    path_part,
    run_from_json,
    summary_from_json,
)


class HttpStore(Store):
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

    def _get(self, path: str, **params: Any) -> Any:
        return self._http.request("GET", path, params=params, idempotent=True).json()

    def _send(self, method: str, path: str, body: Any, *, idempotent: bool = True) -> Any:
        answer = self._http.request(method, path, json_body=body, idempotent=idempotent)
        return answer.json() if answer.body else None

    # -- experiments -------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> Experiment:
        return experiment_from_json(self._send("POST", "/experiments", {"name": name}))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return experiment_from_json(self._get(f"/experiments/{path_part(experiment_id)}"))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            return experiment_from_json(self._get(f"/experiments/by-name/{path_part(name)}"))
        except ExperimentNotFoundError:
            return None

    def list_experiments(self) -> list[ExperimentStats]:
        return [
            ExperimentStats(
                experiment=experiment_from_json(e),
                run_count=e["run_count"],
                last_run_at=e["last_run_at"],
                status_counts=e["status_counts"],
            )
            for e in self._get("/experiments")["experiments"]
        ]

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
        body = {
            "experiment_id": experiment_id,
            "kind": RunKind(kind).value,
            "status": RunStatus(status).value,
            "compute_target": compute_target,
            "parent_run_id": parent_run_id,
            "display_name": display_name,
            "tags": None if tags is None else dict(tags),
            "properties": None if properties is None else dict(properties),
            "definition": None if definition is None else encode_any(definition),
            "owner": owner,
            "run_id": run_id,
        }
        try:
            # Without an id a repeat would make a second run; with one it is a conflict.
            return run_from_json(self._send("POST", "/runs", body, idempotent=run_id is not None))
        except ConflictError:
            if run_id is None:
                raise
            existing = self.get_run(run_id)  # our first attempt went through?
            if existing.experiment_id != experiment_id or existing.kind is not kind:
                raise
            return existing

    def get_run(self, run_id: str) -> RunInfo:
        return run_from_json(self._get(f"/runs/{path_part(run_id)}"))

    def search_runs(self, query: RunQuery) -> RunPage:
        body = {
            "experiment_id": query.experiment_id,
            "statuses": [RunStatus(s).value for s in query.statuses],
            "tags": dict(query.tags),
            "text": query.text,
            "parent_run_id": query.parent_run_id,
            "compute_target": query.compute_target,
            "sort": query.sort,
            "descending": query.descending,
            "limit": query.limit,
            "offset": query.offset,
            "with_metrics": list(query.with_metrics),
        }
        page = self._send("POST", "/runs/search", body)
        return RunPage(
            runs=[run_from_json(r) for r in page["runs"]],
            total=page["total"],
            summaries={
                run_id: {k: summary_from_json(s) for k, s in by_key.items()}
                for run_id, by_key in page["summaries"].items()
            },
        )

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        expected: Sequence[RunStatus] | None = None,
    ) -> RunInfo:
        status = RunStatus(status)
        body = {
            "status": status.value,
            "exit_code": exit_code,
            "error": error,
            "expected": None if expected is None else [RunStatus(s).value for s in expected],
        }
        path = f"/runs/{path_part(run_id)}/status"
        try:
            return run_from_json(self._send("POST", path, body, idempotent=False))
        except AmbiguousRequestError:
            pass
        # The connection broke mid-call: repeat it, but a conflict that only says "it
        # is already where you wanted it" means the first attempt went through.
        try:
            return run_from_json(self._send("POST", path, body))
        except ConflictError:
            now = self.get_run(run_id)
            if now.status is status and (exit_code is None or now.exit_code == exit_code):
                return now
            raise

    def heartbeat(self, run_id: str, owner: str | None = None) -> None:
        self._send("POST", f"/runs/{path_part(run_id)}/heartbeat", {"owner": owner})

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self._send("PATCH", f"/runs/{path_part(run_id)}/tags", {"tags": dict(tags)})

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None:
        # Idempotent: adding the same value again is allowed, another value conflicts.
        body = {"properties": dict(properties)}
        self._send("POST", f"/runs/{path_part(run_id)}/properties", body)

    def update_definition(self, run_id: str, patch: Mapping[str, Any]) -> RunInfo:
        body = {"patch": encode_any(dict(patch))}
        return run_from_json(self._send("PATCH", f"/runs/{path_part(run_id)}/definition", body))

    def claim_next_queued(self, compute_target: str, max_concurrent: int) -> RunInfo | None:
        # Never repeated after a broken connection: a repeat could claim a second run.
        path = f"/compute/{path_part(compute_target)}/claim"
        answer = self._send("POST", path, {"max_concurrent": max_concurrent}, idempotent=False)
        return None if answer["run"] is None else run_from_json(answer["run"])

    # -- metrics -----------------------------------------------------------------------

    def append_metrics(
        self,
        run_id: str,
        columns: Sequence[MetricColumns],
        records: Sequence[MetricRecord] = (),
        *,
        journal_offset: int | None = None,
    ) -> None:
        body = {
            "columns": [
                {
                    "key": c.key,
                    "value_type": c.value_type,
                    "steps": as_list(c.steps),
                    "timestamps": as_list(c.timestamps),
                    "values": encode_values(c.values, c.value_type),
                }
                for c in columns
            ],
            "records": [
                {
                    "key": r.key,
                    "kind": r.kind,
                    "payload": encode_any(r.payload),
                    "timestamp": r.timestamp,
                    "seq": r.seq,
                }
                for r in records
            ],
            "journal_offset": journal_offset,
        }
        path = f"/runs/{path_part(run_id)}/metrics"
        give_up = time.monotonic() + self._http.retry_for
        while True:
            try:
                self._send("POST", path, body, idempotent=False)
                return
            except AmbiguousRequestError:
                if journal_offset is None or time.monotonic() > give_up:
                    raise
            # The offset is stored with the points, in one transaction: if it has
            # reached ours, this batch is in and must not be sent again.
            if self.get_journal_offset(run_id) >= journal_offset:
                return

    def get_journal_offset(self, run_id: str) -> int:
        offset: int = self._get(f"/runs/{path_part(run_id)}/journal-offset")["offset"]
        return offset

    def get_metric_summaries(self, run_id: str) -> dict[str, MetricSummary]:
        data = self._get(f"/runs/{path_part(run_id)}/metrics")["metrics"]
        return {key: summary_from_json(s) for key, s in data.items()}

    def get_metric_series(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
        start: int = 0,
    ) -> MetricSeries:
        data = self._get(
            f"/runs/{path_part(run_id)}/metrics/{path_part(key)}",
            max_points=max_points,
            start=start or None,
        )
        return MetricSeries(
            key=data["key"],
            steps=data["steps"],
            timestamps=data["timestamps"],
            values=decode_values(data["values"], data["value_type"]),
            total_count=data["total_count"],
            downsampled=data["downsampled"],
        )

    def get_metric_records(self, run_id: str, key: str | None = None) -> list[MetricRecord]:
        data = self._get(f"/runs/{path_part(run_id)}/records", key=key)["records"]
        return [
            MetricRecord(
                key=r["key"],
                kind=r["kind"],
                payload=decode_any(r["payload"]),
                timestamp=r["timestamp"],
                seq=r["seq"],
            )
            for r in data
        ]

    # -- environments registry ---------------------------------------------------------

    def register_environment(
        self, name: str, spec: Mapping[str, Any], spec_hash: str
    ) -> EnvironmentRecord:
        body = {"name": name, "spec": encode_any(dict(spec)), "spec_hash": spec_hash}
        return environment_from_json(self._send("POST", "/environments", body))

    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord:
        return environment_from_json(self._get(f"/environments/{path_part(name)}", version=version))

    def list_environments(self) -> list[EnvironmentRecord]:
        return [environment_from_json(e) for e in self._get("/environments")["environments"]]

    # -- lifetime ----------------------------------------------------------------------

    def check_token(self) -> None:
        """Raises AuthError unless this store's token is accepted for writes (a cheap
        write with no effect: a heartbeat of a run that does not exist)."""
        try:
            self._send("POST", "/runs/runyard-token-check/heartbeat", {"owner": None})
        except AuthError:
            raise
        except (LookupError, ValidationError):
            return  # the token passed; only the (made-up) run was refused

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"HttpStore({self.uri!r})"
