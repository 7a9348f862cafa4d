"""Journal records that are not metrics: tags, properties and file uploads written by a
script that has no store of its own. Ingest applies them to the store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runyard.entities import MetricRecord
from runyard.errors import ConflictError
from runyard.store.base import Store

CONTROL_KEY = "runyard.control"
CONTROL_KINDS = frozenset({"tags", "properties", "upload"})


def split_control(records: Sequence[MetricRecord]) -> tuple[list[MetricRecord], list[MetricRecord]]:
    """(metric records, control records)."""
    metrics: list[MetricRecord] = []
    control: list[MetricRecord] = []
    for rec in records:
        (control if rec.key == CONTROL_KEY and rec.kind in CONTROL_KINDS else metrics).append(rec)
    return metrics, control


def apply_control(store: Store, run_id: str, records: Sequence[MetricRecord]) -> list[str]:
    """Applies control records in order; each is idempotent, so a batch applied again
    after a crash does no harm. Returns problems (a property set twice to different
    values, a staged upload gone) instead of failing ingest."""
    problems: list[str] = []
    for rec in records:
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        if rec.kind == "tags":
            store.set_tags(run_id, {str(k): str(v) for k, v in payload.items()})
        elif rec.kind == "properties":
            try:
                store.add_properties(run_id, {str(k): str(v) for k, v in payload.items()})
            except ConflictError as exc:
                problems.append(str(exc))
        elif rec.kind == "upload":
            staged = Path(str(payload.get("path", "")))
            if staged.is_file():
                store.artifacts.put_file(run_id, str(payload.get("name")), staged)
            else:
                problems.append(f"upload of {payload.get('name')!r}: staged file {staged} is gone")
    return problems
