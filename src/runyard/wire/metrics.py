"""Metrics on the wire: batches of points in columns, structured records, summaries and
series. Every metric value is a :data:`ValueJson` (see :mod:`runyard.wire.values`), so
ints, floats (NaN, ±inf and -0.0 included), bools and strs come back as they went."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, FiniteFloat

from runyard.entities import MetricColumns, MetricRecord, MetricSeries, MetricSummary
from runyard.errors import ValidationError
from runyard.wire.base import Answer, Body
from runyard.wire.values import (
    Int64,
    NonNegativeInt64,
    ValueJson,
    decode_any,
    decode_value,
    decode_values,
    encode_any,
    encode_value,
    encode_values,
)

__all__ = [
    "ColumnsIn",
    "JournalOffsetOut",
    "ManySummariesOut",
    "MetricsIn",
    "RecordBody",
    "RecordsOut",
    "SeriesBatchOut",
    "SeriesOut",
    "SummariesOut",
    "SummaryOut",
    "ValuesAtStepIn",
    "ValuesAtStepOut",
]

ValueType = Literal["float", "int", "bool", "str"]
RecordKind = Literal["list", "row", "table", "image"]


def _as_list(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


class ColumnsIn(Body):
    """One metric's points in columns, all three equally long."""

    key: str
    value_type: ValueType
    steps: list[Int64]
    timestamps: list[FiniteFloat]
    values: list[ValueJson]

    @classmethod
    def of(cls, columns: MetricColumns) -> ColumnsIn:
        return cls(
            key=columns.key,
            value_type=columns.value_type,  # type: ignore[arg-type]
            steps=_as_list(columns.steps),
            timestamps=_as_list(columns.timestamps),
            values=encode_values(columns.values),
        )

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
            values=decode_values(self.values, f"metric {self.key!r}"),
        )


class RecordBody(Body):
    """A structured metric; its payload is JSON with non-finite floats tagged."""

    key: str
    kind: RecordKind
    payload: Any
    timestamp: FiniteFloat
    seq: Int64 = 0

    @classmethod
    def of(cls, record: MetricRecord) -> RecordBody:
        return cls(
            key=record.key,
            kind=record.kind,  # type: ignore[arg-type]
            payload=encode_any(record.payload),
            timestamp=record.timestamp,
            seq=record.seq,
        )

    def to_entity(self) -> MetricRecord:
        return MetricRecord(
            key=self.key,
            kind=self.kind,
            payload=decode_any(self.payload),
            timestamp=self.timestamp,
            seq=self.seq,
        )


class MetricsIn(Body):
    """``POST /api/runs/{run_id}/metrics``: one ``Store.append_metrics`` transaction."""

    columns: list[ColumnsIn] = Field(default_factory=list)
    records: list[RecordBody] = Field(default_factory=list)
    journal_offset: NonNegativeInt64 | None = None
    journal: str = Field(default="", max_length=255)
    epoch: NonNegativeInt64 | None = None  # the runner's fencing epoch

    @classmethod
    def of(
        cls,
        columns: Sequence[MetricColumns],
        records: Sequence[MetricRecord],
        journal_offset: int | None,
        journal: str = "",
        epoch: int | None = None,
    ) -> MetricsIn:
        return cls(
            columns=[ColumnsIn.of(c) for c in columns],
            records=[RecordBody.of(r) for r in records],
            journal_offset=journal_offset,
            journal=journal,
            epoch=epoch,
        )


class SummaryOut(Answer):
    """Last/min/max/count of one metric (min and max are None for a str metric)."""

    key: str
    count: int
    last: ValueJson | None
    min: ValueJson | None
    max: ValueJson | None
    last_step: int
    value_type: str

    @classmethod
    def of(cls, s: MetricSummary) -> SummaryOut:
        return cls(
            key=s.key,
            count=s.count,
            last=encode_value(s.last),
            min=encode_value(s.min),
            max=encode_value(s.max),
            last_step=s.last_step,
            value_type=s.value_type,
        )

    def to_entity(self) -> MetricSummary:
        where = f"metric {self.key!r}"
        return MetricSummary(
            key=self.key,
            count=self.count,
            last=None if self.last is None else decode_value(self.last, where),
            min=None if self.min is None else decode_value(self.min, where),  # type: ignore[arg-type]
            max=None if self.max is None else decode_value(self.max, where),  # type: ignore[arg-type]
            last_step=self.last_step,
            value_type=self.value_type,
        )


class SummariesOut(Answer):
    """``GET /api/runs/{run_id}/metrics``."""

    metrics: dict[str, SummaryOut]


class ManySummariesOut(Answer):
    """``GET /api/metric-summaries?runs=a,b``: each run's summaries (runs without
    metrics, or unknown, left out)."""

    runs: dict[str, dict[str, SummaryOut]]


class SeriesOut(Answer):
    """A metric's points from index ``start`` on (down-sampled when so marked)."""

    key: str
    value_type: str
    start: int
    total_count: int
    downsampled: bool
    steps: list[int]
    timestamps: list[float]
    values: list[ValueJson]

    @classmethod
    def of(cls, series: MetricSeries, value_type: str, start: int) -> SeriesOut:
        return cls(
            key=series.key,
            value_type=value_type,
            start=start,
            total_count=series.total_count,
            downsampled=series.downsampled,
            steps=_as_list(series.steps),
            timestamps=_as_list(series.timestamps),
            values=encode_values(series.values),
        )

    def to_entity(self) -> MetricSeries:
        return MetricSeries(
            key=self.key,
            steps=self.steps,
            timestamps=self.timestamps,
            values=decode_values(self.values, f"metric {self.key!r}"),
            total_count=self.total_count,
            downsampled=self.downsampled,
        )


class RecordsOut(Answer):
    """``GET /api/runs/{run_id}/records``."""

    records: list[RecordBody]


class JournalOffsetOut(Answer):
    """How many bytes of the run's journal the store holds."""

    offset: int


class SeriesBatchOut(Answer):
    """One metric of several runs, in the order asked: each series as
    ``/runs/{id}/metrics/{key}`` answers it, None where no such run exists."""

    series: list[SeriesOut | None]


class ValuesAtStepIn(Body):
    """``POST /api/metrics/at-step``: metric ``key`` at ``step`` for each of ``runs``."""

    runs: list[str] = Field(max_length=10_000)
    key: str
    step: Int64


class ValuesAtStepOut(Answer):
    """Each run's value at the step (non-finite floats tagged); runs without one are
    left out."""

    values: dict[str, ValueJson]

    @classmethod
    def of(cls, values: dict[str, Any]) -> ValuesAtStepOut:
        return cls(values={k: encode_any(v) for k, v in values.items()})

    def decoded(self) -> dict[str, Any]:
        return {k: decode_any(v) for k, v in self.values.items()}
