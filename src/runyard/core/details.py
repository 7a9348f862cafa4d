"""Run details and metrics in the shapes the tutorial's SDK returns them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from runyard.entities import RunInfo
from runyard.store.artifacts import DRIVER_LOG, ENVIRONMENT_BUILD_LOG
from runyard.store.base import Store


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat().replace("+00:00", "Z")


def run_details(store: Store, info: RunInfo) -> dict[str, Any]:
    """``run.get_details()``: status, times, target, definition, logs and error."""
    files = {f.path for f in store.artifacts.list_files(info.run_id)}
    definition = dict(info.definition)
    details: dict[str, Any] = {
        "runId": info.run_id,
        "runNumber": info.number,
        "experimentId": info.experiment_id,
        "displayName": info.display_name,
        "kind": info.kind.value,
        "target": info.compute_target,
        "status": info.status.value,
        "createdTimeUtc": _iso(info.created_at),
        "startTimeUtc": _iso(info.started_at),
        "endTimeUtc": _iso(info.ended_at),
        "durationSeconds": info.duration,
        "parentRunId": info.parent_run_id,
        "tags": dict(info.tags),
        "properties": dict(info.properties),
        "runDefinition": {
            k: definition[k]
            for k in (
                "script",
                "arguments",
                "snapshot_id",
                "environment",
                "max_run_duration_seconds",
                "git",
            )
            if k in definition
        },
        "logFiles": {p: p for p in (DRIVER_LOG, ENVIRONMENT_BUILD_LOG) if p in files},
        "exitCode": info.exit_code,
    }
    if info.error:
        details["error"] = {"message": info.error}
    return details


def collect_metrics(store: Store, run_id: str, name: str | None) -> dict[str, Any]:
    """Scalars: one value where logged once, a list where logged more; list records as
    lists; rows gathered into a dict of columns; tables as logged; images as paths."""
    out: dict[str, Any] = {}
    summaries = store.get_metric_summaries(run_id)
    for key in sorted(summaries):
        if name is not None and key != name:
            continue
        values = list(store.get_metric_series(run_id, key).values)
        out[key] = values[0] if len(values) == 1 else values
    for rec in store.get_metric_records(run_id, name):
        if rec.kind == "row":
            table = out.setdefault(rec.key, {})
            if isinstance(table, dict) and isinstance(rec.payload, dict):
                for col, value in rec.payload.items():
                    table.setdefault(col, []).append(value)
        elif rec.kind == "image":
            path = rec.payload.get("path") if isinstance(rec.payload, dict) else None
            out[rec.key] = path
        else:
            out[rec.key] = rec.payload
    return out
