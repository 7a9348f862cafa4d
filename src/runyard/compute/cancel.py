"""Cancelling a run, whatever state it is in."""

from __future__ import annotations

import contextlib
import os
import signal

from runyard.entities import RunInfo, RunKind, RunStatus
from runyard.errors import ConflictError
from runyard.runner.owner import local_pid, process_alive
from runyard.store.base import Store

CANCEL_REQUESTED = "cancel_requested"


def cancel_run(store: Store, run_id: str) -> RunInfo:
    """Cancels ``run_id`` and returns it as it is now.

    A Queued run is Canceled at once. An active one gets ``cancel_requested`` in its
    definition (its runner checks at each heartbeat, wherever it runs) and, when its
    runner is a process on this host, a SIGTERM so that it stops at once: the runner
    stops the script (SIGTERM, a grace period, SIGKILL) and marks the run Canceled.
    A finished run is returned as it is. Raises RunNotFoundError."""
    run = store.get_run(run_id)
    if run.status is RunStatus.QUEUED:
        try:
            return store.set_status(
                run_id,
                RunStatus.CANCELED,
                error="canceled while queued",
                expected=[RunStatus.QUEUED],
            )
        except ConflictError:
            run = store.get_run(run_id)  # claimed meanwhile: cancel it as an active run
    if run.status.is_terminal() or run.status is RunStatus.NOT_STARTED:
        return run
    run = store.update_definition(run_id, {CANCEL_REQUESTED: True})
    pid = local_pid(run.owner)
    # Only a runner is ours to signal: an interactive run's owner is the user's process.
    if (
        run.kind is RunKind.SUBMITTED
        and pid is not None
        and process_alive(pid, not_after=run.heartbeat_at or run.created_at)
    ):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    return store.get_run(run_id)
