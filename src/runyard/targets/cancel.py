"""Cancelling a run, whatever state it is in."""

from __future__ import annotations

import contextlib
import os
import signal

from runyard.entities import RunInfo, RunKind
from runyard.store.base import Store
from runyard.workspace.owner import local_pid, process_alive


def cancel_run(store: Store, run_id: str) -> RunInfo:
    """Cancels ``run_id`` and returns it as it is now.

    :meth:`Store.request_cancel` does the work: a Queued run is Canceled at once; an
    active one gets ``cancel_requested_at``, which its runner polls wherever it runs.
    When the runner is a process on this host it also gets a SIGTERM, so that it stops
    at once (also during a long environment build). The runner stops the script
    (SIGTERM, the target's grace period, SIGKILL) and marks the run Canceled. A
    finished run is returned as it is. Raises RunNotFoundError."""
    run = store.request_cancel(run_id)
    if run.status.is_terminal() or run.cancel_requested_at is None:
        return run
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
