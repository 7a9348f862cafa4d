"""JSON for :class:`runyard.store.http.HttpStore`: entities from the server's answers,
and the rule for floats JSON cannot carry (the inverse of ``runyard.server.encoding``,
which the store layer may not import).

- Metric values travel beside their ``value_type``: a non-finite float is the string
  ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``, read back as a float only when the type
  is numeric (a str metric may well hold the text "NaN").
- Anywhere else (definitions, record payloads, specs) it is ``{"$float": "NaN"}``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from runyard.entities import (
    EnvironmentRecord,
    Experiment,
    MetricSummary,
    RunInfo,
    RunKind,
    RunStatus,
)

NONFINITE_TEXT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
NUMERIC_TYPES = ("float", "int", "bool")


def float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def encode_any(obj: Any) -> Any:
    """A JSON-able copy of ``obj``; non-finite floats become ``{"$float": "NaN"}``
    (the inverse of the server's ``decode_any``)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"$float": float_text(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return {str(k): encode_any(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode_any(v) for v in obj]
    if hasattr(obj, "tolist"):  # a numpy array or scalar
        return encode_any(obj.tolist())
    return obj


def decode_any(obj: Any) -> Any:
    """Undoes :func:`encode_any` (and the server's)."""
    if isinstance(obj, dict):
        if len(obj) == 1 and "$float" in obj and obj["$float"] in NONFINITE_TEXT:
            return NONFINITE_TEXT[obj["$float"]]
        return {k: decode_any(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_any(v) for v in obj]
    return obj


def encode_values(values: Any, value_type: str) -> list[Any]:
    """Metric values for JSON: a list (numpy arrays via ``tolist``), non-finite floats
    as their names. Only numeric types can hold them: a str metric goes as it is."""
    if getattr(getattr(values, "dtype", None), "kind", None) == "f":
        import numpy as np  # already imported: ``values`` is a numpy array

        out: list[Any] = values.tolist()
        if value_type in NUMERIC_TYPES:
            for i in np.flatnonzero(~np.isfinite(values)).tolist():
                out[i] = float_text(out[i])
        return out
    out = as_list(values)
    if value_type not in NUMERIC_TYPES:
        return out
    isfinite = math.isfinite
    return [v if not isinstance(v, float) or isfinite(v) else float_text(v) for v in out]


def decode_value(value: Any, value_type: str) -> Any:
    if isinstance(value, str) and value_type in NUMERIC_TYPES:
        return NONFINITE_TEXT.get(value, value)
    return value


def decode_values(values: Sequence[Any], value_type: str) -> list[Any]:
    if value_type not in NUMERIC_TYPES:
        return list(values)
    table = NONFINITE_TEXT
    return [table.get(v, v) if isinstance(v, str) else v for v in values]


def as_list(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def path_part(text: str) -> str:
    """A path parameter, escaped (``/`` kept, for file paths and metric names)."""
    return quote(text, safe="/")


# -- JSON to entities ----------------------------------------------------------------


def experiment_from_json(d: Mapping[str, Any]) -> Experiment:
    return Experiment(experiment_id=d["experiment_id"], name=d["name"], created_at=d["created_at"])


def run_from_json(d: Mapping[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=d["run_id"],
        experiment_id=d["experiment_id"],
        number=d["number"],
        kind=RunKind(d["kind"]),
        status=RunStatus(d["status"]),
        created_at=d["created_at"],
        started_at=d["started_at"],
        ended_at=d["ended_at"],
        parent_run_id=d["parent_run_id"],
        display_name=d["display_name"],
        compute_target=d["compute_target"],
        tags=d["tags"],
        properties=d["properties"],
        definition=decode_any(d["definition"]),
        exit_code=d["exit_code"],
        error=d["error"],
        heartbeat_at=d["heartbeat_at"],
        owner=d["owner"],
    )


def summary_from_json(d: Mapping[str, Any]) -> MetricSummary:
    vtype = d["value_type"]
    return MetricSummary(
        key=d["key"],
        count=d["count"],
        last=decode_value(d["last"], vtype),
        # min and max are numbers whatever the metric's type (None for strings).
        min=decode_value(d["min"], "float"),
        max=decode_value(d["max"], "float"),
        last_step=d["last_step"],
        value_type=vtype,
    )


def environment_from_json(d: Mapping[str, Any]) -> EnvironmentRecord:
    return EnvironmentRecord(
        name=d["name"],
        version=d["version"],
        spec=decode_any(d["spec"]),
        spec_hash=d["spec_hash"],
        created_at=d["created_at"],
    )
