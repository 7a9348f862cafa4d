"""How a script's end becomes a run's final status, exit code and error summary."""

from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

from runyard.entities import RunStatus
from runyard.tracking.control import StatusRequest

TRACEBACK_HEADER = "Traceback (most recent call last):"
TAIL_BYTES = 64 * 1024
MAX_ERROR_CHARS = 8000
# A traceback counts as the cause only if little was printed after it.
_MAX_LINES_AFTER = 20


@dataclass(frozen=True)
class Outcome:
    status: RunStatus
    exit_code: int | None
    error: str | None


def read_tail(path: Path, size: int = TAIL_BYTES) -> str:
    """The last ``size`` bytes of a file as text ("" if it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def last_traceback(text: str) -> str | None:
    """The last Python traceback in ``text``, from its header to its exception line
    (and the message's continuation lines), or None if there is none near the end."""
    start = text.rfind(TRACEBACK_HEADER)
    if start < 0:
        return None
    lines = text[start:].splitlines()
    end = 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
        end += 1  # frames: indented "File ..." and source lines
    if end >= len(lines):
        return None  # cut off before the exception line
    end += 1
    # A multi-line message continues until a blank line or another traceback.
    while end < len(lines) and lines[end].strip() and not lines[end].startswith(TRACEBACK_HEADER):
        end += 1
    if sum(1 for line in lines[end:] if line.strip()) > _MAX_LINES_AFTER:
        return None  # printed (and survived) long before the end
    found = "\n".join(lines[:end]).strip()
    if len(found) > MAX_ERROR_CHARS:
        found = "…" + found[-MAX_ERROR_CHARS:]
    return found


def describe_exit(code: int) -> tuple[int, str]:
    """(exit code as a shell reports it, words) for a Popen return code."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory, or killed by someone)" if -code == signal.SIGKILL else ""
        return 128 - code, f"killed by {name}{hint}"
    return code, f"exited with code {code}"


def decide(
    code: int,
    *,
    stop_reason: str | None,
    canceled: bool,
    driver_log: Path,
    environment: str | None = None,
) -> Outcome:
    """The outcome of a script that ended with Popen return code ``code``.

    ``stop_reason`` is set when the runner stopped the script itself (cancel or
    timeout): that reason wins over whatever the script printed while dying."""
    exit_code, words = describe_exit(code)
    if stop_reason is not None:
        status = RunStatus.CANCELED if canceled else RunStatus.FAILED
        return Outcome(status, exit_code, stop_reason)
    if code == 0:
        return Outcome(RunStatus.COMPLETED, 0, None)
    traceback = last_traceback(read_tail(driver_log))
    if traceback is not None:
        traceback += missing_package_hint(traceback, environment)
    return Outcome(RunStatus.FAILED, exit_code, traceback or words)


_MISSING = re.compile(r"^ModuleNotFoundError: No module named '([^'.]+)[^']*'\s*$", re.MULTILINE)


def missing_package_hint(traceback: str, environment: str | None) -> str:
    """A line to add to a traceback that ends in ModuleNotFoundError: which
    environment lacks the package and how to add it; "" for any other error."""
    found = _MISSING.findall(traceback)
    if not found:
        return ""
    module = found[-1]
    where = f"environment {environment!r}" if environment else "the run's environment"
    return (
        f"\nhint: {module!r} is not installed in {where}; add its package to the "
        f"environment (env.python.conda_dependencies.add_pip_package('{module}'), "
        "CondaDependencies.create(pip_packages=[...]), or a line in the requirements file "
        "of Environment.from_pip_requirements) and submit again"
    )


def with_request(outcome: Outcome, request: StatusRequest | None) -> Outcome:
    """The outcome once the script's own status call is applied, as the SDK does:
    ``run.fail(error_details=...)`` fails the run with those details even if the
    script then exits 0; ``run.cancel()`` cancels it (the runner stops the script as on
    any cancel request); ``run.complete()`` changes nothing, so a crash after it still
    fails the run. A stop by the runner (cancel, time limit) is kept as it is."""
    if request is None or outcome.status is RunStatus.CANCELED:
        return outcome
    if request.status is RunStatus.FAILED and outcome.status is RunStatus.COMPLETED:
        error = request.error or "the script called run.fail()"
        return Outcome(RunStatus.FAILED, outcome.exit_code, error)
    if request.status is RunStatus.FAILED and request.error:
        return Outcome(RunStatus.FAILED, outcome.exit_code, request.error)
    if request.status is RunStatus.CANCELED and outcome.status is RunStatus.COMPLETED:
        return Outcome(
            RunStatus.CANCELED, outcome.exit_code, "canceled by the script (run.cancel())"
        )
    return outcome
