"""Stopping an environment build from a signal handler or another thread.

A canceled run must not wait minutes for its build. Raising an exception into the
building thread from a signal handler is not safe: it can land anywhere, in an at-fork
hook of ``logging`` for one, which then never releases its lock and the next thread to
log deadlocks. So a build is stopped from outside instead: :meth:`BuildStop.stop` kills
the build tools running now (their step fails, and the build with it, through the usual
error paths) and makes the steps still to come fail at once. It takes no lock and
allocates nothing that could block, so a signal handler may call it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator

from runyard.errors import EnvironmentBuildError


class BuildStop:
    """The stop switch of the builds this process runs within :func:`stoppable`."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._tools: dict[int, subprocess.Popen[str]] = {}

    def stop(self, reason: str) -> None:
        """Kills the running build tools and fails the steps to come. Signal-safe."""
        if self.reason is None:
            self.reason = reason
        for proc in list(self._tools.values()):
            _kill(proc)

    def check(self) -> None:
        """Raises EnvironmentBuildError when the build was stopped."""
        if self.reason is not None:
            raise EnvironmentBuildError(f"the environment build was stopped: {self.reason}")

    @contextlib.contextmanager
    def tool(self, proc: subprocess.Popen[str]) -> Iterator[None]:
        """Tracks a started build tool while it runs (a stop kills it)."""
        self._tools[id(proc)] = proc
        try:
            if self.reason is not None:  # stopped while it was being started
                _kill(proc)
            yield
        finally:
            self._tools.pop(id(proc), None)


_current = BuildStop()  # outside any stoppable(): a switch nobody flips


def current() -> BuildStop:
    """The switch of the build running now."""
    return _current


@contextlib.contextmanager
def stoppable() -> Iterator[BuildStop]:
    """A fresh switch for the builds within the block."""
    global _current
    previous, _current = _current, BuildStop()
    try:
        yield _current
    finally:
        _current = previous


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.returncode is None:  # not reaped yet: the pid is still the tool's
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signal.SIGKILL)
