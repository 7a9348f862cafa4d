"""SIGTERM (or SIGINT) to the runner means: cancel the run.

The handler records why; a wakeup pipe lets the supervising loop notice at once. While
the environment is prepared (a build that may take minutes, in build tools the runner
waits on), a cancel also calls the step's stop function, which kills those tools so the
build fails within moments; a cancel request seen in the store does the same.

Nothing is raised into the main thread: an exception raised by a signal handler can land
anywhere, in ``logging``'s at-fork hook for one (every ``subprocess`` spawn runs it),
where Python drops it and the hook never releases its lock (the next thread to log, or
import a module that does, deadlocks the runner).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from types import FrameType

RECEIVED_SIGTERM = "canceled: the runner received SIGTERM"
CANCEL_REQUESTED = "canceled on request"


class Signals:
    """Installs the handlers; see the module docstring."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.wake_fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._stop: Callable[[str], None] | None = None
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    @property
    def received(self) -> bool:
        return self.reason is not None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.cancel(RECEIVED_SIGTERM)

    @contextlib.contextmanager
    def stopping(self, stop: Callable[[str], None]) -> Iterator[None]:
        """Within the block, a cancel (also one received before) calls ``stop(reason)``,
        from the signal handler or the monitor's thread: it must take no lock."""
        self._stop = stop
        try:
            if self.reason is not None:
                stop(self.reason)
            yield
        finally:
            self._stop = None

    def cancel(self, reason: str) -> None:
        """Records the cancel (the first reason counts), stops the step in progress and
        wakes the supervising loop. Called by the handler and for a store's request."""
        if self.reason is None:
            self.reason = reason
        if (stop := self._stop) is not None:
            stop(self.reason)
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: a wakeup is pending anyway
            os.write(self._write_fd, b"\0")

    def drain(self) -> None:
        """Empties the wakeup pipe after a wakeup."""
        with contextlib.suppress(BlockingIOError):
            os.read(self.wake_fd, 512)
