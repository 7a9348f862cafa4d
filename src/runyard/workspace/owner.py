"""Who drives a run: ``"pid@host"`` owner strings and whether that process lives."""

from __future__ import annotations

import os
import socket


def owner_string(pid: int | None = None) -> str:
    """``"<pid>@<hostname>"`` of this process (or of ``pid`` on this host)."""
    return f"{os.getpid() if pid is None else pid}@{socket.gethostname()}"


def local_pid(owner: str | None) -> int | None:
    """The pid in ``owner`` when the owner is a process on this host, else None."""
    if not owner:
        return None
    pid, sep, host = owner.partition("@")
    if not sep or host != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid)


def process_alive(pid: int, not_after: float | None = None) -> bool:
    """Whether process ``pid`` is running (a zombie counts as dead). With
    ``not_after`` (a time the owner was known to be alive), a process created later
    is a different one that reused the pid, so the owner counts as dead too."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # One second of slack: create_time has a coarse clock on some systems.
        return not_after is None or proc.create_time() <= not_after + 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # exists, but we may not look at it: not ours to call dead


def process_stopped(pid: int) -> bool:
    """Whether process ``pid`` is stopped (SIGSTOP, a debugger): alive, but it neither
    beats nor writes until someone continues it."""
    import psutil

    try:
        return psutil.Process(pid).status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
    except psutil.Error:
        return False
