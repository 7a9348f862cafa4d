"""The wire format of the REST API, shared by the server and the HTTP client.

Every request and response body is a pydantic model here (the server's routes take and
answer them, FastAPI builds the OpenAPI schema from them, ``runyard.remote`` sends and
reads them), plus the one error table (:mod:`runyard.wire.errors`) and the one encoding
of values (:mod:`runyard.wire.values`). Models named ``...In`` are request bodies and
refuse unknown fields; ``...Out`` are answers. ``X.of(entity)`` builds one from
entities, ``x.to_entity()`` turns it back.
"""

from __future__ import annotations

from typing import Any

from runyard.entities import MetricSeries, MetricSummary, RunInfo
from runyard.wire.environments import EnvironmentIn, EnvironmentOut, EnvironmentsOut
from runyard.wire.errors import (
    ERROR_TABLE,
    ErrorKind,
    ErrorOut,
    code_for_status,
    exception_for,
    kind_of,
    status_for,
)
from runyard.wire.experiments import (
    ExperimentIn,
    ExperimentOut,
    ExperimentsOut,
    ExperimentStatsOut,
)
from runyard.wire.files import FileOut, FilesOut, LogChunkOut, ManifestOut, SnapshotIn
from runyard.wire.metrics import (
    ColumnsIn,
    JournalOffsetOut,
    MetricsIn,
    RecordBody,
    RecordsOut,
    SeriesOut,
    SummariesOut,
    SummaryOut,
)
from runyard.wire.runs import (
    ChangeSeqsOut,
    ClaimIn,
    ClaimOut,
    DefinitionPatchIn,
    HeartbeatIn,
    PropertiesIn,
    RunIn,
    RunListOut,
    RunOut,
    RunPageOut,
    RunQueryIn,
    StatusIn,
    TagsIn,
    parse_kind,
    parse_status,
)
from runyard.wire.values import (
    MAX_INT64,
    MIN_INT64,
    decode_any,
    decode_values,
    encode_any,
    encode_values,
)

__all__ = [
    "ERROR_TABLE",
    "MAX_INT64",
    "MIN_INT64",
    "ChangeSeqsOut",
    "ClaimIn",
    "ClaimOut",
    "ColumnsIn",
    "DefinitionPatchIn",
    "EnvironmentIn",
    "EnvironmentOut",
    "EnvironmentsOut",
    "ErrorKind",
    "ErrorOut",
    "ExperimentIn",
    "ExperimentOut",
    "ExperimentStatsOut",
    "ExperimentsOut",
    "FileOut",
    "FilesOut",
    "HeartbeatIn",
    "JournalOffsetOut",
    "LogChunkOut",
    "ManifestOut",
    "MetricsIn",
    "PropertiesIn",
    "RecordBody",
    "RecordsOut",
    "RunIn",
    "RunListOut",
    "RunOut",
    "RunPageOut",
    "RunQueryIn",
    "SeriesOut",
    "SnapshotIn",
    "StatusIn",
    "SummariesOut",
    "SummaryOut",
    "TagsIn",
    "code_for_status",
    "decode_any",
    "decode_values",
    "encode_any",
    "encode_values",
    "exception_for",
    "kind_of",
    "parse_kind",
    "parse_status",
    "run_json",
    "series_json",
    "status_for",
    "summary_json",
]


def run_json(run: RunInfo) -> dict[str, Any]:
    """A run as a JSON-able dict, exactly as the API answers it (for pages, streams)."""
    return RunOut.of(run).model_dump(mode="json")


def summary_json(summary: MetricSummary) -> dict[str, Any]:
    return SummaryOut.of(summary).model_dump(mode="json")


def series_json(series: MetricSeries, value_type: str, start: int) -> dict[str, Any]:
    return SeriesOut.of(series, value_type, start).model_dump(mode="json")
