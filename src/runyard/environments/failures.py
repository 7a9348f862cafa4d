"""Turning a failed build step into an error that names the culprit and the log."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runyard.environments.buildlog import BuildLog, describe_status, run_logged
from runyard.environments.spec import requirement_name
from runyard.errors import EnvironmentBuildError


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
