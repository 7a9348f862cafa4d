"""Journal records that are not metrics: what a script that has no store of its own
asks of its run (``JournalWriter.log_control``): tags, properties, file uploads, a new
display name, a status (``run.fail()``/``complete()``/``cancel()``) and child runs
(``run.child_run()``). They are their own record kind in the journal
(``KIND_CONTROL``), so no metric reader sees them; ingest applies them to the store.

A child run's metrics go to a journal of its own under the parent's
(``children/<child id>/journal.bin``), which the parent's ingester finds and ingests
into the child run (``runyard.tracking.ingest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard.entities import RunKind, RunStatus
from runyard.errors import ConflictError, RunyardError
from runyard.store.base import Store
from runyard.tracking.journal import CONTROL_KINDS

__all__ = [
    "CONTROL_KINDS",
    "ControlRecord",
    "StatusRequest",
    "apply_control",
    "child_journal",
    "child_journals",
    "status_request",
]

CHILDREN_DIR = "children"
# The statuses a script may ask for its own run (run.complete/fail/cancel).
_REQUESTABLE = {s.value: s for s in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED)}


@dataclass(frozen=True)
class ControlRecord:
    """One control record as decoded from the journal."""

    kind: str  # one of CONTROL_KINDS
    payload: Any
    timestamp: float


@dataclass(frozen=True)
class StatusRequest:
    """A status the script asked for its run: the runner applies it when the script
    ends (Failed wins over a clean exit; a crash after ``complete()`` still fails)."""

    status: RunStatus
    error: str | None
    timestamp: float
    # Logging failed (a full disk, journal.py): no later request of the script undoes it.
    final: bool = False


def child_journal(parent_journal: Path, child_id: str) -> Path:
    """The journal of child run ``child_id`` of the run whose main journal is given."""
    return parent_journal.parent / CHILDREN_DIR / child_id / parent_journal.name


def child_journals(parent_journal: Path) -> list[tuple[str, Path]]:
    """(child run id, its main journal) for each child journal under a run's."""
    folder = parent_journal.parent / CHILDREN_DIR
    if not folder.is_dir():
        return []
    return [(d.name, d / parent_journal.name) for d in sorted(folder.iterdir()) if d.is_dir()]


def status_request(records: Sequence[ControlRecord]) -> StatusRequest | None:
    """The last status record among ``records`` (a later call wins), if any."""
    found = None
    for rec in records:
        if rec.kind == "status" and isinstance(rec.payload, dict):
            status = _REQUESTABLE.get(str(rec.payload.get("status")))
            error = rec.payload.get("error")
            if status is not None and not (found is not None and found.final):
                text = None if error is None else str(error)
                final = rec.payload.get("final") is True
                found = StatusRequest(status, text, rec.timestamp, final)
    return found


def apply_control(store: Store, run_id: str, records: Sequence[ControlRecord]) -> list[str]:
    """Applies control records in order; each is idempotent, so a batch applied again
    after a crash does no harm. Returns problems (a property set twice to different
    values, a staged upload gone, an unknown kind) instead of failing ingest.

    A status record is not applied here, except a cancel (a cancel request, which the
    runner acts on as on any other): the runner reads the others from the ingester
    (``status_request``) when the script ends."""
    problems: list[str] = []
    for rec in records:
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        if rec.kind == "tags":
            store.set_tags(run_id, {str(k): str(v) for k, v in payload.items()})
        elif rec.kind == "remove_tags":
            keys = payload.get("keys")
            store.remove_tags(run_id, [str(k) for k in keys] if isinstance(keys, list) else [])
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
        elif rec.kind == "display_name":
            try:
                store.set_display_name(run_id, str(payload.get("display_name", "")))
            except RunyardError as exc:
                problems.append(f"display name: {exc}")
        elif rec.kind == "status":
            if payload.get("status") == RunStatus.CANCELED.value:
                store.request_cancel(run_id)
        elif rec.kind == "child":
            problems.extend(_create_child(store, run_id, payload))
        else:
            problems.append(f"control record of unknown kind {rec.kind!r} skipped")
    return problems


def _create_child(store: Store, parent_id: str, payload: dict[str, Any]) -> list[str]:
    """Creates the child run a script started (``run.child_run()``), once."""
    child_id = str(payload.get("run_id", ""))
    try:
        store.get_run(child_id)
        return []  # applied before (a batch ingested again after a crash)
    except LookupError:
        pass
    parent = store.get_run(parent_id)
    try:
        store.create_run(
            parent.experiment_id,
            kind=RunKind.CHILD,
            status=RunStatus.RUNNING,
            compute_target=parent.compute_target,
            parent_run_id=parent_id,
            display_name=str(payload.get("display_name") or ""),
            owner=parent.owner,  # the runner: the reaper finishes both if it dies
            run_id=child_id,
        )
    except RunyardError as exc:
        return [f"child run {child_id!r} could not be created: {exc}"]
    return []
