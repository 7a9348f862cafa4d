"""Metrics in the shape the tutorial's SDK returns them from ``run.get_metrics()``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from runyard.entities import MetricRecord
from runyard.tracking.journal import KIND_NUMBER, KIND_RECORD, KIND_STRING
from runyard.tracking.journal_reader import DecodeState, iter_records


def shape_metrics(
    scalars: Mapping[str, Sequence[Any]], records: Iterable[MetricRecord], name: str | None
) -> dict[str, Any]:
    """Scalars: one value where logged once, a list where logged more; list records as
    lists; rows gathered into a dict of columns; tables as logged; images as paths."""
    out: dict[str, Any] = {}
    for key in sorted(scalars):
        if name is None or key == name:
            values = list(scalars[key])
            out[key] = values[0] if len(values) == 1 else values
    for rec in records:
        if name is not None and rec.key != name:
            continue
        if rec.kind == "row":
            table = out.setdefault(rec.key, {})
            if isinstance(table, dict) and isinstance(rec.payload, dict):
                for col, value in rec.payload.items():
                    table.setdefault(col, []).append(value)
        elif rec.kind == "image":
            out[rec.key] = rec.payload.get("path") if isinstance(rec.payload, dict) else None
        else:
            out[rec.key] = rec.payload
    return out


def metrics_from_journal(path: Path, name: str | None = None) -> dict[str, Any]:
    """Everything a journal holds, read with the standard library only."""
    scalars: dict[str, list[Any]] = {}
    records: list[MetricRecord] = []
    with open(path, "rb") as f:
        data = f.read()
    for rec in iter_records(data, 0, DecodeState()):
        if rec.kind in (KIND_NUMBER, KIND_STRING):
            scalars.setdefault(rec.name, []).append(rec.value)
        elif rec.kind == KIND_RECORD and isinstance(rec.value, dict):
            records.append(
                MetricRecord(
                    rec.name, str(rec.value.get("kind")), rec.value.get("payload"), rec.timestamp
                )
            )
    return shape_metrics(scalars, records, name)
