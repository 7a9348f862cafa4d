"""Stopping an environment build from outside: a cancel kills the build tools, and a
signal that lands anywhere (in an at-fork hook, say) leaves no lock held."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from runyard.environments import stopping
from runyard.environments.builder import _acquire
from runyard.environments.buildlog import BuildLog, capture, run_logged, run_many_logged
from runyard.errors import EnvironmentBuildError

SLEEP = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"]


def _stop_when(log_path: Path, build: stopping.BuildStop, text: str) -> threading.Thread:
    def stop() -> None:
        deadline = time.monotonic() + 30
        while text not in (log_path.read_text() if log_path.exists() else ""):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        build.stop("canceled on request")

    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    return thread


def test_a_stop_kills_the_running_tool_and_fails_the_step(tmp_path: Path) -> None:
    log_path = tmp_path / "build.log"
    with stopping.stoppable() as build, BuildLog(log_path, echo=False) as log:
        stopper = _stop_when(log_path, build, "started")
        started = time.monotonic()
        with pytest.raises(EnvironmentBuildError, match="stopped: canceled on request"):
            run_logged(SLEEP, log, {}, tmp_path)
        assert time.monotonic() - started < 30  # not the tool's 60 s
        stopper.join()
        # The steps still to come fail at once, without starting their tool.
        with pytest.raises(EnvironmentBuildError, match="stopped"):
            run_many_logged([SLEEP, SLEEP], log, {}, tmp_path)
        with pytest.raises(EnvironmentBuildError, match="stopped"):
            capture(SLEEP, {}, tmp_path)
    assert sum("$ " in line for line in log.lines) == 1  # the first tool only
    # A new build has a new switch.
    with stopping.stoppable(), BuildLog(tmp_path / "next.log", echo=False) as log:
        assert run_logged([sys.executable, "-c", "print('ok')"], log, {}, tmp_path)[0] == 0


def test_a_stop_kills_tools_started_side_by_side(tmp_path: Path) -> None:
    log_path = tmp_path / "build.log"
    with stopping.stoppable() as build, BuildLog(log_path, echo=False) as log:
        threading.Timer(1.0, build.stop, args=("canceled",)).start()
        started = time.monotonic()
        with pytest.raises(EnvironmentBuildError, match="stopped: canceled"):
            run_many_logged([SLEEP, SLEEP], log, {}, tmp_path)
        assert time.monotonic() - started < 30
    assert sum("$ " in line for line in log.lines) == 2


def test_waiting_for_another_processes_build_stops(tmp_path: Path) -> None:
    held = FileLock(tmp_path / "env.lock")
    code = f"import filelock, time; l = filelock.FileLock({str(held.lock_file)!r}); l.acquire(); print('held', flush=True); time.sleep(60)"  # noqa: E501
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline() == "held\n"
        with stopping.stoppable() as build, BuildLog(tmp_path / "b.log", echo=False) as log:
            threading.Timer(0.2, build.stop, args=("canceled",)).start()
            with pytest.raises(EnvironmentBuildError, match="stopped: canceled"):
                _acquire(FileLock(held.lock_file), log, "environment 'x'")
            assert "another process is building environment 'x'" in "".join(log.lines)
    finally:
        other.kill()
        other.wait()


# The runner's SIGTERM lands in logging's at-fork hook of a build tool's spawn: the old
# handler raised there, Python dropped the exception, logging's lock stayed held and the
# runner deadlocked at its next import. Now the handler only stops the build.
SIGNAL_IN_A_FORK_HOOK = """
    import logging, os, signal, sys, threading
    from pathlib import Path
    from runyard.environments import stopping
    from runyard.environments.buildlog import BuildLog, run_logged
    from runyard.errors import EnvironmentBuildError
    from runyard.runner.signals import Signals

    signals = Signals()
    hit = []

    def after_fork() -> None:
        if not hit:
            hit.append(1)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000):  # the handler runs here, in the hook
                pass

    os.register_at_fork(after_in_parent=after_fork)
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    with stopping.stoppable() as build, signals.stopping(build.stop):
        with BuildLog(Path(sys.argv[1]), echo=False) as log:
            try:
                run_logged(argv, log, {}, Path.cwd())
            except EnvironmentBuildError as exc:
                print(exc)
    other = threading.Thread(target=logging.getLogger, args=("another.thread",))
    other.start()
    other.join(10)
    print("logging usable:", not other.is_alive(), "reason:", signals.reason)
"""


def test_a_signal_landing_in_an_at_fork_hook_stops_the_build_and_holds_no_lock(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SIGNAL_IN_A_FORK_HOOK), str(tmp_path / "b.log")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.splitlines() == [
        "the environment build was stopped: canceled: the runner received SIGTERM",
        "logging usable: True reason: canceled: the runner received SIGTERM",
    ], done.stderr
    assert "Exception ignored" not in done.stderr
