"""Progress while a run gets going: each status change, and while the environment is
built a live one-line summary (``building Runyard-PyTorch-CPU: 17 packages, 12 s``);
then :func:`runyard.core.watch.wait` streams the driver log to the end.

Progress goes to stderr, so a command's stdout stays its output (or its JSON).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from runyard.cli.output import status_text
from runyard.entities import RunInfo, RunStatus
from runyard.errors import ArtifactNotFoundError
from runyard.store.artifacts import ENVIRONMENT_BUILD_LOG
from runyard.store.base import Store

_POLL_S = 0.2
# Off a terminal the build line cannot be redrawn: one line this often instead.
_PLAIN_EVERY_S = 10.0
_BEFORE_SCRIPT = frozenset(
    {RunStatus.NOT_STARTED, RunStatus.QUEUED, RunStatus.PREPARING, RunStatus.STARTING}
)
_RESOLVED = re.compile(r"\b(?:Resolved|Installed|locked) (\d+) packages?\b")
# Which step a build is at, from its log: Runyard's "$ command" notes and uv's summaries.
_COMMAND = re.compile(r"^\[runyard [\d:]+\] \$ (.*)$")
_UV_STEP = re.compile(r"^(Resolved|Prepared|Installed) (\d+) packages?\b")
_AFTER_UV_STEP = {"Resolved": "downloading", "Prepared": "installing", "Installed": "installed"}


@dataclass
class BuildProgress:
    """What the environment build log says so far (uv's lines and Runyard's notes)."""

    resolved: int = 0
    added: int = 0  # uv's " + name==version" lines, for logs without a count
    cached: bool = False
    offset: int = 0
    step: str = ""  # "creating the venv", "resolving", "downloading 17 packages", ...
    _partial: str = field(default="", repr=False)

    @property
    def packages(self) -> int:
        return self.resolved or self.added

    def feed(self, data: bytes) -> None:
        self.offset += len(data)
        text = self._partial + data.decode("utf-8", "replace")
        *lines, self._partial = text.split("\n")
        for line in lines:
            found = _RESOLVED.search(line)
            if found:
                self.resolved = max(self.resolved, int(found.group(1)))
            elif line.startswith(" + "):
                self.added += 1
            if "is built already" in line:
                self.cached = True
            self._follow_step(line)

    def _follow_step(self, line: str) -> None:
        command = _COMMAND.match(line)
        if command is not None:
            argv = command.group(1).split()
            if "venv" in argv[:3]:
                self.step = "creating the venv"
            elif "install" in argv[:4]:
                self.step = "resolving"
            elif "compileall" in argv:
                self.step = "compiling bytecode"
            elif "freeze" in argv[:4]:
                self.step = "locking versions"
            return
        uv = _UV_STEP.match(line)
        if uv is not None:
            self.step = f"{_AFTER_UV_STEP[uv.group(1)]} {_packages(int(uv.group(2)))}"


def environment_name(info: RunInfo) -> str | None:
    """The run's environment, or None: the submitting interpreter, nothing to build."""
    env = info.definition.get("environment")
    if not isinstance(env, dict):
        return None
    return str(env.get("name") or "the environment")


def _packages(n: int) -> str:
    return f"{n} package" if n == 1 else f"{n} packages"


def build_line(name: str, progress: BuildProgress, seconds: float) -> str:
    """``building NAME: downloading 17 packages, 12 s`` (the live line while Preparing):
    the step the log says the build is at, or the package count when it names none."""
    if progress.cached:
        return f"environment {name} is built already"
    if progress.step:
        return f"building {name}: {progress.step}, {seconds:.0f} s"
    counted = f"{_packages(progress.packages)}, " if progress.packages else ""
    return f"building {name}: {counted}{seconds:.0f} s"


def follow(store: Store, run_id: str, *, err: IO[str] | None = None) -> RunInfo:
    """Shows status changes and build progress until the script starts, then streams
    the driver log until the run ends (``watch.wait``); returns the final info."""
    from runyard.core.watch import wait

    out = err if err is not None else sys.stderr
    tty = out.isatty()
    last: RunStatus | None = None
    build = BuildProgress()
    build_started: float | None = None
    last_plain = 0.0
    live = False
    while True:
        info = store.get_run(run_id)
        if info.status is not last:
            if live:
                out.write("\n")
                live = False
            out.write(f"{run_id}: {status_text(info.status, tty)}\n")
            last = info.status
        name = environment_name(info)
        if info.status is RunStatus.PREPARING and name is not None:
            build_started = build_started or time.monotonic()
            with contextlib.suppress(ArtifactNotFoundError):
                build.feed(store.artifacts.read_bytes(run_id, ENVIRONMENT_BUILD_LOG, build.offset))
            line = build_line(name, build, time.monotonic() - build_started)
            if tty:
                out.write(f"\r\x1b[K{line}")
                live = True
            elif time.monotonic() - last_plain >= _PLAIN_EVERY_S:
                out.write(line + "\n")
                last_plain = time.monotonic()
        out.flush()
        if info.status not in _BEFORE_SCRIPT:
            break
        time.sleep(_POLL_S)
    if live:
        out.write("\n")
    if build_started is not None:
        # A build that ended between two polls: its last lines (the package count) are
        # read now, so the summary line is never lost to timing.
        with contextlib.suppress(ArtifactNotFoundError):
            build.feed(store.artifacts.read_bytes(run_id, ENVIRONMENT_BUILD_LOG, build.offset))
    if build_started is not None and not build.cached and build.packages:
        out.write(
            f"built {environment_name(info)} ({_packages(build.packages)}) in "
            f"{time.monotonic() - build_started:.0f} s\n"
        )
    out.flush()
    return wait(store, run_id, show_output=True)


@contextlib.contextmanager
def build_summary(name: str, log: Path, *, err: IO[str] | None = None) -> Iterator[None]:
    """Around an environment build in this process (``env build``): one live line on a
    terminal instead of the tools' raw output (the full log stays in ``log``), and a
    last line with the package count and the time."""
    out = err if err is not None else sys.stderr
    tty = out.isatty()
    progress = BuildProgress()
    offset = log.stat().st_size if log.exists() else 0  # the log is appended to
    progress.offset = offset
    started = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(_POLL_S):
            _feed_file(progress, log)
            out.write(f"\r\x1b[K{build_line(name, progress, time.monotonic() - started)}")
            out.flush()

    ticker = threading.Thread(target=tick, name="runyard-build-progress", daemon=True)
    if tty:
        ticker.start()
    try:
        # The build log echoes every line to a terminal's stderr; hide that copy.
        with contextlib.redirect_stderr(io.StringIO()) if tty else contextlib.nullcontext():
            yield
    finally:
        done.set()
        if tty:
            ticker.join()
            out.write("\r\x1b[K")
        _feed_file(progress, log)
        out.flush()
    if progress.cached:
        out.write(f"environment {name} is built already\n")
    else:
        counted = f" ({_packages(progress.packages)})" if progress.packages else ""
        out.write(f"built {name}{counted} in {time.monotonic() - started:.0f} s\n")
    out.flush()


def _feed_file(progress: BuildProgress, log: Path) -> None:
    try:
        with log.open("rb") as fh:
            fh.seek(progress.offset)
            progress.feed(fh.read())
    except FileNotFoundError:
        pass
