"""The build log: one stream written to the run's log, the cache entry's copy and, when
someone is watching, the terminal; running a tool with its output streamed there; and
turning a failed build step into an error that names the culprit and the log."""

from __future__ import annotations

import collections
import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from runyard.environments import stopping
from runyard.environments.spec import requirement_name
from runyard.errors import EnvironmentBuildError

_PR_SET_PDEATHSIG = 1


class BuildLog:
    """Appends lines to ``path`` (created with its folder) and, when stderr is a
    terminal, to stderr; keeps them in ``lines`` for the cache entry's copy."""

    def __init__(self, path: Path, echo: bool | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._files: list[IO[str]] = [
            self.path.open("a", encoding="utf-8", errors="replace", buffering=1)
        ]
        self._echo = sys.stderr.isatty() if echo is None else echo
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        text = line if line.endswith("\n") else line + "\n"
        self.lines.append(text)
        for fh in self._files:
            fh.write(text)
        if self._echo:
            sys.stderr.write(text)
            sys.stderr.flush()

    def note(self, message: str) -> None:
        """A line of Runyard's own, told apart from tool output by its prefix."""
        self.write(f"[runyard {time.strftime('%H:%M:%S')}] {message}")

    def close(self) -> None:
        for fh in self._files:
            fh.close()
        self._files = []

    def __enter__(self) -> BuildLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec function that makes the child get SIGTERM when the builder dies, so a
    SIGKILLed builder leaves no uv still writing into a temp folder (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork, not in the child
    except OSError:
        return None
    prctl = libc.prctl

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return preexec


_PREEXEC: list[Callable[[], None] | None] = []


def _preexec() -> Callable[[], None] | None:
    if not _PREEXEC:
        _PREEXEC.append(_die_with_parent())
    return _PREEXEC[0]


def _spawn(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, *, stderr: int = subprocess.STDOUT
) -> subprocess.Popen[str]:
    """A build tool with its output (stdout and stderr together, unless ``stderr`` is
    PIPE) readable as text lines, and tied to our life (it dies with us)."""
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=dict(env),
        cwd=str(cwd),
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
        preexec_fn=_preexec(),
    )


def run_logged(
    argv: Sequence[str],
    log: BuildLog,
    env: Mapping[str, str],
    cwd: Path,
    tail_lines: int = 200,
) -> tuple[int, list[str]]:
    """Runs ``argv`` with stdout and stderr streamed line by line into ``log``. Returns
    the exit status (negative: killed by that signal) and the last lines of output."""
    stop = stopping.current()
    stop.check()
    log.note("$ " + " ".join(argv))
    tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
    try:
        proc = _spawn(argv, env, cwd)
    except OSError as exc:
        message = f"cannot start {argv[0]}: {exc}"
        log.note(message)
        return 127, [message]
    assert proc.stdout is not None
    with stop.tool(proc):
        try:
            for line in proc.stdout:
                line = line.rstrip("\n")
                log.write(line)
                tail.append(line)
            status = proc.wait()
        except BaseException:
            # Interrupted (Ctrl-C): do not leave the tool running.
            proc.kill()
            proc.wait()
            raise
        finally:
            proc.stdout.close()
    stop.check()  # killed by a stop: say why, not "killed by SIGKILL"
    return status, list(tail)


def capture(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[int, str, str]:
    """Runs ``argv`` and returns (status, stdout, stderr), for short queries."""
    stop = stopping.current()
    stop.check()
    with _spawn(argv, env, cwd, stderr=subprocess.PIPE) as proc, stop.tool(proc):
        out, err = proc.communicate()
    stop.check()
    return proc.returncode, out, err


def describe_status(status: int) -> str:
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


def run_many_logged(
    argvs: Sequence[Sequence[str]], log: BuildLog, env: Mapping[str, str], cwd: Path
) -> list[int]:
    """Runs the commands at the same time (one per core, say) and logs each one's
    output when it ends. Returns their exit statuses."""
    stop = stopping.current()
    procs: list[subprocess.Popen[str]] = []
    with contextlib.ExitStack() as tracked:
        try:
            for argv in argvs:
                stop.check()
                log.note("$ " + " ".join(argv))
                procs.append(_spawn(argv, env, cwd))
                tracked.enter_context(stop.tool(procs[-1]))
            statuses = []
            for proc in procs:
                out, _ = proc.communicate()
                for line in out.splitlines():
                    log.write(line)
                statuses.append(proc.returncode)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    stop.check()
    return statuses


def label(spec: Mapping[str, Any], hash_: str) -> str:
    """How logs and errors name an environment: its name and short hash."""
    name = spec.get("name") or "(unnamed)"
    return f"environment {name!r} ({hash_[:12]})"


def run_or_fail(
    argv: list[str],
    spec: Mapping[str, Any],
    hash_: str,
    log: BuildLog,
    env: Mapping[str, str],
    cwd: Path,
) -> None:
    """Runs one build step; on failure logs and raises the EnvironmentBuildError."""
    status, tail = run_logged(argv, log, env, cwd)
    if status == 0:
        return
    message = failure_message(spec, hash_, Path(argv[0]).name, argv[1], status, tail, log.path)
    log.note(message)
    raise EnvironmentBuildError(message)


def _error_excerpt(tail: list[str]) -> str:
    """uv's ``error:`` line and the ``cause:``/hint lines after it, joined."""
    start = next((i for i, line in enumerate(tail) if line.startswith("error:")), None)
    if start is None:
        lines = [line for line in tail if line.strip()][-3:]
    else:
        lines = [tail[start]]
        for line in tail[start + 1 : start + 12]:
            if line.strip():
                lines.append(line.strip())
    return " ".join(" ".join(lines).split())[:1500]


def failure_message(
    spec: Mapping[str, Any],
    hash_: str,
    tool: str,
    step: str,
    status: int,
    tail: list[str],
    build_log: Path,
) -> str:
    """The EnvironmentBuildError text: the failing requirement(s), the tool's own
    error line, and the log to read."""
    excerpt = _error_excerpt(tail)
    words = {requirement_name(w) for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", excerpt)}
    culprits = [r for r in spec["pip"] if requirement_name(r) in words]
    if step == "venv":
        what = f"could not create a Python {spec['python_version']} virtual environment"
    elif culprits:
        quoted = ", ".join(repr(r) for r in culprits)
        what = f"failed on requirement{'s' if len(culprits) > 1 else ''} {quoted}"
    else:
        what = "failed to install its requirements"
    return (
        f"{label(spec, hash_)} {what}: {tool} {step} {describe_status(status)}: {excerpt}. "
        f"Fix the spec and run again; nothing was left in the cache. Build log: {build_log}"
    )
