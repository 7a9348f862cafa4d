"""Entities to JSON and back, with a rule for floats JSON cannot carry.

- Metric values (series, summaries, metric batches) travel beside their ``value_type``,
  so a non-finite float is written as the string ``"NaN"``, ``"Infinity"`` or
  ``"-Infinity"`` and read back as a float when the type is numeric.
- Anywhere else (record payloads, definitions, specs) a non-finite float becomes
  ``{"$float": "NaN"}``, which cannot be mistaken for a string the user logged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from runyard.entities import (
    EnvironmentRecord,
    Experiment,
    ExperimentStats,
    MetricRecord,
    MetricSeries,
    MetricSummary,
    MetricValue,
    RunInfo,
    RunPage,
)
from runyard.errors import ValidationError

# The wire format's primitives are shared with the client (the http store).
from runyard.store.http_codec import (
    NONFINITE_TEXT,
    NUMERIC_TYPES,
    encode_any,
    float_text,
)


def encode_value(value: MetricValue | None) -> Any:
    """One metric value for JSON: a non-finite float becomes its name."""
    if isinstance(value, float) and not math.isfinite(value):
        return float_text(value)
    return value


def encode_values(values: Sequence[MetricValue]) -> list[Any]:
    isfinite = math.isfinite
    return [v if not isinstance(v, float) or isfinite(v) else float_text(v) for v in values]


def decode_values(values: Sequence[Any], value_type: str, key: str) -> list[MetricValue]:
    """Metric values from JSON; names of non-finite floats become floats again."""
    if value_type not in NUMERIC_TYPES:
        return list(values)
    out: list[MetricValue] = []
    for v in values:
        if isinstance(v, str):
            if v not in NONFINITE_TEXT:
                raise ValidationError(
                    f"metric {key!r} is {value_type} but got the string {v[:40]!r}; only "
                    '"NaN", "Infinity" and "-Infinity" stand for numbers'
                )
            out.append(NONFINITE_TEXT[v])
        else:
            out.append(v)
    return out


class FastJSONResponse(Response):
    """Compact JSON that refuses NaN (values are encoded before they get here)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


def experiment_json(exp: Experiment) -> dict[str, Any]:
    return {"experiment_id": exp.experiment_id, "name": exp.name, "created_at": exp.created_at}


def experiment_stats_json(stats: ExperimentStats) -> dict[str, Any]:
    return {
        **experiment_json(stats.experiment),
        "run_count": stats.run_count,
        "last_run_at": stats.last_run_at,
        "status_counts": dict(stats.status_counts),
    }


def run_json(run: RunInfo) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "experiment_id": run.experiment_id,
        "number": run.number,
        "kind": run.kind.value,
        "status": run.status.value,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "parent_run_id": run.parent_run_id,
        "display_name": run.display_name,
        "compute_target": run.compute_target,
        "tags": dict(run.tags),
        "properties": dict(run.properties),
        "definition": encode_any(run.definition),
        "exit_code": run.exit_code,
        "error": run.error,
        "heartbeat_at": run.heartbeat_at,
        "owner": run.owner,
        "duration": run.duration,
    }


def summary_json(s: MetricSummary) -> dict[str, Any]:
    return {
        "key": s.key,
        "count": s.count,
        "last": encode_value(s.last),
        "min": encode_value(s.min),
        "max": encode_value(s.max),
        "last_step": s.last_step,
        "value_type": s.value_type,
    }


def run_page_json(page: RunPage) -> dict[str, Any]:
    return {
        "runs": [run_json(r) for r in page.runs],
        "total": page.total,
        "summaries": {
            run_id: {k: summary_json(s) for k, s in by_key.items()}
            for run_id, by_key in page.summaries.items()
        },
    }


def series_json(series: MetricSeries, value_type: str, start: int) -> dict[str, Any]:
    return {
        "key": series.key,
        "value_type": value_type,
        "start": start,
        "total_count": series.total_count,
        "downsampled": series.downsampled,
        "steps": list(series.steps),
        "timestamps": list(series.timestamps),
        "values": encode_values(series.values),
    }


def record_json(rec: MetricRecord) -> dict[str, Any]:
    return {
        "key": rec.key,
        "kind": rec.kind,
        "payload": encode_any(rec.payload),
        "timestamp": rec.timestamp,
        "seq": rec.seq,
    }


def environment_json(env: EnvironmentRecord) -> dict[str, Any]:
    return {
        "name": env.name,
        "version": env.version,
        "spec": encode_any(env.spec),
        "spec_hash": env.spec_hash,
        "created_at": env.created_at,
    }
