"""Run details in the shape the tutorial's SDK returns them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from runyard.entities import RunInfo
from runyard.store.artifacts import DRIVER_LOG, ENVIRONMENT_BUILD_LOG


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat().replace("+00:00", "Z")


def run_details(info: RunInfo, file_names: Iterable[str]) -> dict[str, Any]:
    """``run.get_details()``: status, times, target, definition, logs and error."""
    files = set(file_names)
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
        # The datasets the run reads, as the SDK reports them (assets/inputs.py).
        "inputDatasets": [
            {
                "dataset": {k: v for k, v in r["dataset"].items() if k != "definition"},
                "consumptionDetails": {"inputName": name, "mechanism": r["mode"]},
            }
            for name, r in (definition.get("inputs") or {}).items()
            if "dataset" in r  # outputs are not inputs
        ],
    }
    if info.error:
        details["error"] = {"message": info.error}
    return details
