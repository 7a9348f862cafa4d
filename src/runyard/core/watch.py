"""Waiting for a run, with its driver log streamed to the terminal."""

from __future__ import annotations

import codecs
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runyard.entities import ACTIVE_STATUSES, RunInfo, RunStatus
from runyard.errors import ArtifactNotFoundError, RunyardError
from runyard.store.artifacts import DRIVER_LOG
from runyard.store.base import Store

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from runyard.core.run import Run

_POLL_S = 0.1
# How often a waiter checks that the run's process is alive (a local pid check).
_LIVENESS_S = 1.0


def wait(
    store: Store,
    run_id: str,
    *,
    show_output: bool,
    timeout: float | None = None,
    reap: Callable[[], object] | None = None,
) -> RunInfo:
    """Polls until the run is terminal; prints new driver log bytes as they come.
    ``reap``: called when the run's process is found dead (it finishes the run, and
    starts the queued runs its slot frees), so a waiter never waits on a dead runner."""
    from runyard.runner.reaper import death_reason, reap_dead_runs

    deadline = None if timeout is None else time.monotonic() + timeout
    next_check = time.monotonic() + _LIVENESS_S
    offset = 0
    shown_header = False
    # Incremental: a chunk may end inside a multi-byte character.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    out = sys.stdout
    while True:
        info = store.get_run(run_id)
        if show_output:
            if not shown_header:
                out.write(f"RunId: {run_id}\n\nStreaming {DRIVER_LOG}\n{'=' * 40}\n\n")
                shown_header = True
            offset = _show_new(store, run_id, offset, decoder)
        if info.status.is_terminal():
            if show_output:
                _show_new(store, run_id, offset, decoder)
                out.write(f"\nExecution Summary\n{'=' * 17}\n")
                out.write(f"RunId: {run_id}\nStatus: {info.status.value}\n")
                if info.error:
                    out.write(f"Error: {info.error}\n")
                out.flush()
            return info
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + _LIVENESS_S
            if info.status in ACTIVE_STATUSES and death_reason(info, time.time()) is not None:
                try:
                    (reap or (lambda: reap_dead_runs(store)))()
                except RunyardError as exc:  # the next check tries again
                    log.warning("run %s: reaping its dead process failed: %s", run_id, exc)
                continue
        if deadline is not None and time.monotonic() > deadline:
            raise RunyardError(f"run {run_id} is still {info.status.value} after {timeout} s")
        time.sleep(_POLL_S)


def _show_new(store: Store, run_id: str, offset: int, decoder: codecs.IncrementalDecoder) -> int:
    try:
        data = store.artifacts.read_bytes(run_id, DRIVER_LOG, offset)
    except ArtifactNotFoundError:
        return offset
    if data:
        sys.stdout.write(decoder.decode(data))
        sys.stdout.flush()
    return offset + len(data)


def wait_for(
    run: Run, *, show_output: bool, timeout: float | None, raise_on_error: bool
) -> dict[str, Any]:
    """``run.wait_for_completion``: waits, then the details; a Failed or Canceled run
    raises RunFailedError (carrying the details) unless ``raise_on_error=False``."""
    from runyard.errors import RunFailedError

    store = run._require_store("status to wait for")
    reap = None
    if run._workspace is not None:
        from runyard.targets.local import reap_and_refill

        config_path = run._workspace.config_path
        reap = lambda: reap_and_refill(store, config_path)  # noqa: E731
    run._info = info = wait(store, run.id, show_output=show_output, timeout=timeout, reap=reap)
    result = run.get_details()
    if raise_on_error and info.status in (RunStatus.FAILED, RunStatus.CANCELED):
        error = info.error or "no error recorded"
        raise RunFailedError(f"run {run.id} ended {info.status.value}: {error}", result)
    return result
