"""Filling a compute target's free slots with its queued runs.

Queued runs wait as rows, not processes: whoever may have freed or added work (a
submission, a finishing runner, a reaper that finished a dead run) calls
:func:`fill_slots`, which claims queued runs while the target has room and hands each
to a :class:`RunStarter` (a local runner process, a Ray job). No daemon is needed.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

from runyard.entities import ComputeTargetConfig, RunInfo, RunStatus
from runyard.errors import ComputeError, ConflictError
from runyard.store.runner_protocol import RunnerStore


class RunStarter(Protocol):
    """Starts the runner of one claimed (Preparing) run somewhere."""

    def start(self, run: RunInfo) -> str:
        """Starts it; returns the owner that drives the run until its runner beats its
        own heart (``pid@host``, ``ray-job:ID``). Raises ComputeError."""
        ...


def fill_slots(store: RunnerStore, target: ComputeTargetConfig, starter: RunStarter) -> list[str]:
    """Claims queued runs of ``target`` while it has free slots and starts each with
    ``starter``; returns their ids. A run that cannot be started is marked Failed and
    the error raised as ComputeError (the runs started before it go on)."""
    started: list[str] = []
    while (run := store.claim_next_queued(target.name, target.max_concurrent_runs)) is not None:
        try:
            owner = starter.start(run)
        except ComputeError as exc:
            with contextlib.suppress(ConflictError):  # someone else finished it already
                store.set_status(
                    run.run_id, RunStatus.FAILED, error=str(exc), expected=[RunStatus.PREPARING]
                )
            raise
        # The owner is known before the runner has imported anything: the reaper can
        # tell a slow start from a dead runner at once.
        store.heartbeat(run.run_id, owner=owner)
        started.append(run.run_id)
    return started
