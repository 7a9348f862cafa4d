"""Journal records that are not metrics: tags, properties and file uploads written by a
script that has no store of its own (``JournalWriter.log_control``). They are their own
record kind in the journal (``KIND_CONTROL``), so no metric reader sees them; ingest
applies them to the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard.errors import ConflictError
from runyard.store.base import Store
from runyard.tracking.journal import CONTROL_KINDS

__all__ = ["CONTROL_KINDS", "ControlRecord", "apply_control"]


@dataclass(frozen=True)
class ControlRecord:
    """One control record as decoded from the journal."""

    kind: str  # one of CONTROL_KINDS
    payload: Any
    timestamp: float


def apply_control(store: Store, run_id: str, records: Sequence[ControlRecord]) -> list[str]:
    """Applies control records in order; each is idempotent, so a batch applied again
    after a crash does no harm. Returns problems (a property set twice to different
    values, a staged upload gone, an unknown kind) instead of failing ingest."""
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
        else:
            problems.append(f"control record of unknown kind {rec.kind!r} skipped")
    return problems
