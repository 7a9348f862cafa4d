"""Child processes of the harness: driver calls, line watchers, servers.

Every child starts in its own session, so its process group id is its pid: a tool's
helper processes (W&B's service, MLflow's server workers) are stopped through that id,
never by name. Every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

RESULT_PREFIX = "RESULT "


@dataclass
class DriverResult:
    ok: bool
    data: dict[str, Any]
    seconds: float
    problem: str = ""  # "n/a: ..." or "error: ..."


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The harness's own venv must not leak into a peer's interpreter.
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(key, None)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "AIM_UI_TELEMETRY_ENABLED": "0",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        }
    )
    env.update(extra or {})
    return env


def stop_group(
    proc: subprocess.Popen[Any], grace_s: float = 10.0, sig: int = signal.SIGTERM
) -> None:
    """Sends ``sig`` to the child's process group, then SIGKILL after ``grace_s``."""
    for signum, wait_s in ((sig, grace_s), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signum)
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        if signum == signal.SIGKILL or not group_alive(proc.pid):
            return
        wait_group_gone(proc.pid, wait_s)
        if not group_alive(proc.pid):
            return


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_group_gone(pgid: int, deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if not group_alive(pgid):
            return True
        time.sleep(0.05)
    return not group_alive(pgid)


def parse_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            parsed: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return parsed
    return None


def run_driver(
    cmd: Sequence[str],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
) -> DriverResult:
    """Runs a driver to completion (or the deadline) and parses its RESULT line."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stop_group(proc, grace_s=2.0, sig=signal.SIGKILL)
        out, err = proc.communicate()
        _keep_log(log_path, out, err)
        return DriverResult(
            False, {}, time.perf_counter() - started, f"error: timed out after {timeout_s:.0f} s"
        )
    seconds = time.perf_counter() - started
    # Helpers the tool left behind (W&B's service) must not outlive the call.
    if group_alive(proc.pid) and not wait_group_gone(proc.pid, 15.0):
        stop_group(proc, grace_s=2.0)
    _keep_log(log_path, out, err)
    return interpret(parse_result(out), proc.returncode, err, seconds)


def interpret(
    result: dict[str, Any] | None, returncode: int | None, err: str, seconds: float
) -> DriverResult:
    if result is None:
        tail = " | ".join(err.strip().splitlines()[-3:])[-300:]
        return DriverResult(False, {}, seconds, f"error: exit {returncode}, no result ({tail})")
    if result.get("ok"):
        return DriverResult(True, result, seconds)
    if "unsupported" in result:
        return DriverResult(False, result, seconds, f"n/a: {result['unsupported']}")
    return DriverResult(False, result, seconds, f"error: {result.get('error', 'unknown')}")


def _keep_log(path: Path | None, out: str, err: str) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"--- stdout\n{out}\n--- stderr\n{err}\n", encoding="utf-8")


class Watched:
    """A child whose merged stdout/stderr lines are read, with arrival times, by a
    thread; ``wait_line`` waits (bounded) for a line that matches."""

    def __init__(
        self, cmd: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=child_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))
        self.lines.put((time.perf_counter(), None))

    def wait_line(
        self, match: Callable[[str], bool], deadline_s: float
    ) -> tuple[float, str] | None:
        """Seconds from start to the first matching line, and the line; None if the
        child ended or the deadline passed first."""
        end = time.monotonic() + deadline_s
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                at, line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.seen.append(line)
            if match(line):
                return at - self.started, line

    def wait_exit(self, deadline_s: float) -> float | None:
        """Seconds from start to exit (the rest of the output drained); None if the
        deadline passed, in which case the child's group is stopped.

        The wait blocks in ``waitpid``: ``Popen.wait(timeout=)`` polls with sleeps that
        grow to 50 ms, which saw a short-lived child's exit up to 50 ms late (a 117 ms
        ``runyard runs list`` read as 167 ms). A timer stops the group at the deadline."""
        overdue = threading.Event()

        def stop() -> None:
            overdue.set()
            stop_group(self.proc, grace_s=2.0)

        timer = threading.Timer(deadline_s, stop)
        timer.daemon = True
        timer.start()
        try:
            self.proc.wait()
        finally:
            timer.cancel()
        ended = time.perf_counter() - self.started
        if overdue.is_set():
            timer.join()
            return None
        self._reader.join(timeout=5.0)
        while not self.lines.empty():
            _, line = self.lines.get_nowait()
            if line is not None:
                self.seen.append(line)
        return ended

    def tail(self, n: int = 5) -> str:
        return " | ".join(self.seen[-n:])[-400:]

    def stop(self, grace_s: float = 10.0) -> None:
        if self.proc.poll() is None or group_alive(self.proc.pid):
            stop_group(self.proc, grace_s=grace_s)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
