"""SIGTERM (or SIGINT) to the runner means: cancel the run.

The handler records why; a wakeup pipe lets the supervising loop notice at once. While
the environment is prepared (a build that may take minutes, in build tools the runner
waits on), the handler raises :class:`Interrupted` instead, so the build stops within
moments; a cancel request seen in the store is turned into the same signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

RECEIVED_SIGTERM = "canceled: the runner received SIGTERM"
CANCEL_REQUESTED = "canceled on request"


class Interrupted(BaseException):
    """Raised in the main thread by a cancel during an interruptible step. A
    BaseException, as KeyboardInterrupt: no ``except Exception`` may swallow it."""


class Signals:
    """Installs the handlers; see the module docstring."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.wake_fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._interruptible = False
        self._main = threading.main_thread().ident
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    @property
    def received(self) -> bool:
        return self.reason is not None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.reason is None:
            self.reason = RECEIVED_SIGTERM
        if self._interruptible:
            self._interruptible = False  # once: the cleanup that follows must run
            raise Interrupted(self.reason)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Within the block, a cancel raises Interrupted in the main thread."""
        if self.received:
            raise Interrupted(self.reason)
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def cancel(self, reason: str) -> None:
        """A cancel that came another way (the store): recorded as if signalled, and
        delivered as a signal to the main thread while it is interruptible."""
        if self.reason is None:
            self.reason = reason
        if self._interruptible and self._main is not None:
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pthread_kill(self._main, signal.SIGTERM)
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: a wakeup is pending anyway
            os.write(self._write_fd, b"\0")

    def drain(self) -> None:
        """Empties the wakeup pipe after a wakeup."""
        with contextlib.suppress(BlockingIOError):
            os.read(self.wake_fd, 512)
