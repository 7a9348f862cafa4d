"""The script's process: its own process group, output into the driver log, and
stopping it (SIGTERM to the group, a grace period, then SIGKILL).

The script's stdout and stderr go straight into the driver log file (one
``O_APPEND`` descriptor, stderr merged). The script never waits on the runner to
drain a pipe, every write is in the file the moment it is made, and nothing is lost if
the runner dies. :class:`LogForwarder` tails that file to the runner's own stdout (a
runner on a remote node can add a sink that appends to the run's files on the server).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
BACKGROUND_NICE = 10


def lower_thread_priority() -> None:
    """Makes the calling thread (only it: Linux nice values are per thread) yield the
    CPU to the script on a busy machine."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):  # a priority is a courtesy, not a requirement
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when the runner dies, so a
    killed runner never leaves its script running unsupervised."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The runner may have died between fork and prctl: then no signal would come.
        if os.getppid() != parent:
            os._exit(137)

    return preexec


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: that one also counts
    the parent's memory image that a forked child holds until its exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class ScriptProcess:
    """A started script. ``pid`` is also its process group id."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            self._popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                preexec_fn=_die_with_parent(),
            )
        finally:
            os.close(fd)
        self.pid = self._popen.pid
        self.started = time.monotonic()
        self.kill_at: float | None = None
        self._killed = False
        self.pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.pidfd = os.pidfd_open(self.pid)  # wakes the supervisor at exit

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def signal_group(self, sig: int) -> bool:
        """Sends ``sig`` to the script's whole process group; False if none is left."""
        try:
            os.killpg(self.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self, grace: float) -> None:
        """Asks the script to stop: SIGTERM to its group now, and SIGKILL once ``grace``
        seconds have passed (sent by :meth:`enforce_grace`). Only the first call counts.
        The one place that knows how a script is stopped."""
        if self.kill_at is None:
            self.signal_group(signal.SIGTERM)
            self.kill_at = time.monotonic() + grace

    def enforce_grace(self) -> float | None:
        """SIGKILLs the group once the grace period is over; returns the seconds left
        until then (None: no stop asked, or the SIGKILL was sent)."""
        if self.kill_at is None or self._killed:
            return None
        left = self.kill_at - time.monotonic()
        if left > 0:
            return left
        self.signal_group(signal.SIGKILL)
        self._killed = True
        return None

    def stop(self, grace: float) -> int:
        """:meth:`terminate`, then waits for the script's end (blocking)."""
        self.terminate(grace)
        while (code := self.wait(max(0.0, self.enforce_grace() or 0.0))) is None:
            if self._killed:
                return self._popen.wait()
        self.signal_group(signal.SIGKILL)  # what the script left behind in its group
        return code

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


class LogForwarder:
    """Copies what is appended to a file to ``sinks`` (callables taking bytes), from a
    background thread, until ``stop``, which forwards the rest."""

    def __init__(
        self, path: Path, sinks: Sequence[Callable[[bytes], None]], interval: float = 0.1
    ) -> None:
        self.path = path
        self.sinks = list(sinks)
        self.interval = interval
        self.offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-log-tail", daemon=True)

    def start(self) -> LogForwarder:
        self._thread.start()
        return self

    def _loop(self) -> None:
        lower_thread_priority()
        while not self._stop.wait(self.interval):
            self.forward()

    def forward(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return 0
        moved = 0
        try:
            while chunk := os.pread(fd, 1 << 20, self.offset):
                self.offset += len(chunk)
                moved += len(chunk)
                for sink in self.sinks:
                    with contextlib.suppress(OSError, ValueError):
                        sink(chunk)  # a closed stdout must not stop the run
        finally:
            os.close(fd)
        return moved

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.forward()


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
