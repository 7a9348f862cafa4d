"""The runner's store work, in a background thread.

It opens the store and records the heartbeat; once the script is started it records
the run's start (Starting, Running), then ingests the journal every
``INGEST_INTERVAL_S``. It beats every ``HEARTBEAT_INTERVAL_S`` throughout, noticing a
cancel request (``RunInfo.cancel_requested_at``) and a run finished by someone else.
Started before the environment is prepared when that may take long (a build), so that
a long build keeps the run alive for the reaper and a cancel stops it.

The thread runs at a lower CPU priority (Linux nice values are per thread): on a busy
machine the script comes first, and the supervising thread, which only waits for the
script and the clock, keeps its normal priority, as does every process it starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runyard.config import HEARTBEAT_INTERVAL_S
from runyard.errors import (
    ConflictError,
    FencedError,
    RunNotFoundError,
    RunyardError,
    StoreError,
)
from runyard.runner.parts import RunGone
from runyard.runner.process import lower_thread_priority
from runyard.store.runner_protocol import RunnerStore

INGEST_INTERVAL_S = 0.25
INGEST_ERROR_TAG = "runyard.ingest.error"


class Monitor:
    """Background store work for one run; see the module docstring."""

    def __init__(
        self,
        run_id: str,
        journal: Path,
        owner: str,
        *,
        connect: Callable[[], RunnerStore],
        on_cancel: Callable[[], None],
        wake: Callable[[], None],
        say: Callable[[str], None],
        epoch: int | None = None,
    ) -> None:
        self.run_id = run_id
        self.epoch = epoch  # fencing: refused once the reaper has taken the run
        self.journal = journal
        self.owner = owner
        self._connect = connect
        self._on_cancel = on_cancel
        self._wake = wake
        self._say = say
        self.store: RunnerStore | None = None
        self.cancel_requested = False
        self.gone: str | None = None  # why the run is no longer ours
        self.failure: BaseException | None = None
        self._startup: Callable[[RunnerStore], None] | None = None
        self._ingester: Any = None
        self._ingest_error: str | None = None
        self._stopping = False
        self._poke = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-monitor", daemon=True)

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def script_started(self, startup: Callable[[RunnerStore], None]) -> None:
        """The script runs: record the run's start with ``startup``, then ingest."""
        self._startup = startup
        self._poke.set()

    def stop(self) -> None:
        """Stops the thread (after the step it is in); the store stays open."""
        self._stopping = True
        self._poke.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        lower_thread_priority()
        try:
            store = self.store = self._connect()
            self.beat()
            next_beat = time.monotonic() + HEARTBEAT_INTERVAL_S
            running = False
            while True:
                if not running and self._startup is not None:
                    self._startup(store)  # also when asked to stop: the script ran
                    running = True
                if self._stopping:
                    break
                if running:
                    self.ingest(final=False)
                if time.monotonic() >= next_beat:
                    self.beat()
                    next_beat = time.monotonic() + HEARTBEAT_INTERVAL_S
                self._poke.wait(INGEST_INTERVAL_S)
                self._poke.clear()
        except RunGone as exc:
            self.gone = str(exc)
        except ConflictError as exc:  # a status change refused: someone else moved it
            self.gone = str(exc)
        except BaseException as exc:
            self.failure = exc
        finally:
            self._wake()

    def beat(self) -> None:
        """Records the heartbeat; notices a cancel request or a finished run."""
        assert self.store is not None
        try:
            self.store.heartbeat(self.run_id, owner=self.owner, epoch=self.epoch)
            info = self.store.get_run(self.run_id)
        except RunNotFoundError:
            raise RunGone("it was deleted") from None
        except FencedError as exc:
            raise RunGone(str(exc)) from None
        except StoreError as exc:
            # A store that is briefly unavailable must not kill the training: the next
            # beat tries again, and the reaper waits HEARTBEAT_TIMEOUT_S.
            self._say(f"heartbeat failed: {exc}")
            return
        if info.status.is_terminal():
            raise RunGone(f"it is {info.status.value} already")
        if info.cancel_requested_at is not None and not self.cancel_requested:
            self.cancel_requested = True
            self._on_cancel()

    @property
    def status_request(self) -> Any:
        """The status the script asked for (``run.fail()`` and the like), if it did:
        a ``tracking.control.StatusRequest`` read from its journal."""
        return None if self._ingester is None else self._ingester.status_request

    def end_children(self, status: Any, error: str | None) -> list[str]:
        """Ends the child runs the script started and left open (``child_run()``)."""
        return [] if self._ingester is None else list(self._ingester.end_children(status, error))

    def ingest(self, *, final: bool) -> bool:
        """Ingests the journal (all of it when ``final``); False if that failed. Failures
        are reported, and the run goes on; a final failure is tagged on the run."""
        if self.store is None:
            self.store = self._connect()
        try:
            if self._ingester is None:
                from runyard.tracking.ingest import RunJournalsIngester

                # Every process of the script that logged has a journal: all are ingested.
                self._ingester = RunJournalsIngester(
                    self.store,  # type: ignore[arg-type,unused-ignore]
                    self.run_id,
                    self.journal,
                    self.epoch,
                )
            if final:
                self._ingester.drain()
            else:
                self._ingester.ingest_once()
        except FencedError as exc:  # the reaper took the run: nothing more is ours to store
            if not final:
                raise RunGone(str(exc)) from None
            self.gone = self.gone or str(exc)
            return False
        except (RunyardError, OSError) as exc:
            if str(exc) != self._ingest_error:
                self._say(f"ingesting the journal failed: {exc}")
            self._ingest_error = str(exc)
            if final:
                try:
                    self.store.set_tags(self.run_id, {INGEST_ERROR_TAG: str(exc)[:4000]})
                except RunyardError as tag_exc:  # a full disk: the run's end comes first
                    self._say(f"could not tag the ingest error: {tag_exc}")
            return False
        return True
