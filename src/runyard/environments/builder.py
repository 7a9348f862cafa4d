"""spec -> content hash -> a built environment in the shared cache.

Why a temp folder and a rename: a venv made with ``uv venv --relocatable`` has no
absolute path of its own baked in (``bin/python`` links to the base interpreter,
console scripts find their interpreter relative to themselves, and Python fixes up the
file names in byte-code on import), so it is built in ``envs/.tmp-<hash>-*`` and moved
into place with one atomic ``os.rename`` once complete, the completion marker already
inside. A killed build leaves only a temp folder, removed by the next builder of that
hash (or by ``prune``); a failed one removes its own. Conda prefixes are not
relocatable, so conda builds happen in place, under the same per-hash lock, with the
marker written last; an entry without a marker is never used and is removed before a
rebuild. The warm path is one ``stat`` of the marker and one small file read.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.environments import cache, stopping
from runyard.environments.buildlog import BuildLog, label
from runyard.environments.spec import content_hash, normalize_spec
from runyard.errors import EnvironmentBuildError, ValidationError

_LOCK_WAIT_NOTE_S = 30.0
_LOCK_POLL_S = 0.5  # how soon a stop is seen while waiting for another build

# The name reported for ``spec=None``: the interpreter that submitted the run.
SUBMITTING_INTERPRETER = "submitting-interpreter"


@dataclass(frozen=True)
class PreparedEnvironment:
    """A ready environment.

    ``python`` is the interpreter to start the script with (inside a built venv, or a
    user-managed interpreter, or ``sys.executable`` for no spec); ``lock`` the exact
    versions installed (``""`` for user-managed and no spec); ``spec_hash`` the spec's
    content hash (``""`` for no spec).
    """

    python: Path
    environment_variables: dict[str, str] = field(default_factory=dict)
    spec_hash: str = ""
    lock: str = ""
    name: str = ""
    version: int | None = None


def _prepared(spec: Mapping[str, Any], hash_: str, python: Path, lock: str) -> PreparedEnvironment:
    return PreparedEnvironment(
        python=python,
        environment_variables=dict(spec["environment_variables"]),
        spec_hash=hash_,
        lock=lock,
        name=spec["name"],
        version=spec["version"],
    )


def _from_entry(spec: Mapping[str, Any], hash_: str, entry: Path) -> PreparedEnvironment:
    try:
        lock = (entry / "lock.txt").read_text(encoding="utf-8")
    except OSError:
        lock = ""
    return _prepared(spec, hash_, cache.venv_python(entry), lock)


def prepare(spec: Mapping[str, Any] | None, build_log: Path) -> PreparedEnvironment:
    """Returns a ready environment for ``spec``, building it first if the cache lacks
    it. ``spec=None`` means the interpreter that submitted (``sys.executable``).

    The build's output goes to ``build_log`` (appended). Concurrent callers with the
    same spec wait for one build. Raises EnvironmentBuildError naming the failing
    requirement and the log, or ValidationError for a malformed spec.
    """
    if spec is None:
        return PreparedEnvironment(python=Path(sys.executable), name=SUBMITTING_INTERPRETER)
    normalized = normalize_spec(spec)
    hash_ = content_hash(normalized)
    if normalized["docker_base_image"]:
        raise _docker_error(normalized, hash_, Path(build_log))
    if normalized["user_managed"]:
        return _user_managed(normalized, hash_, Path(build_log))
    entry = cache.entry_path(hash_)
    if cache.is_complete(entry):
        cache.touch_last_used(entry)
        with BuildLog(Path(build_log), echo=False) as log:
            log.note(f"{label(normalized, hash_)} is built already: {entry}")
        return _from_entry(normalized, hash_, entry)
    return _build_locked(normalized, hash_, Path(build_log))


def build(spec: Mapping[str, Any], log: Path) -> PreparedEnvironment:
    """Builds ``spec`` into the cache (a no-op when built already); for the CLI."""
    if spec is None:
        raise ValidationError("build() needs an environment spec; got None")
    return prepare(spec, log)


def _user_managed(spec: Mapping[str, Any], hash_: str, build_log: Path) -> PreparedEnvironment:
    given = spec["interpreter_path"] or sys.executable
    found = (
        shutil.which(given) if os.sep not in given else os.path.abspath(os.path.expanduser(given))
    )
    with BuildLog(build_log, echo=False) as log:
        if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
            problem = (
                "does not exist"
                if not found or not os.path.exists(found)
                else ("is not an executable file")
            )
            message = (
                f"{label(spec, hash_)}: user-managed interpreter {given!r} {problem}. Set "
                "env.python.interpreter_path to an existing Python (e.g. /usr/bin/python3), "
                "or set env.python.user_managed_dependencies = False to let Runyard build "
                f"one. Build log: {build_log}"
            )
            log.note(message)
            raise EnvironmentBuildError(message)
        # Not resolved: a venv's bin/python is a symlink that must stay one to find its venv.
        log.note(f"{label(spec, hash_)}: using user-managed interpreter {found} as it is")
        if spec["pip"] or spec["conda"]:
            log.note("its package list is not installed: dependencies are user-managed")
    return _prepared(spec, hash_, Path(found), "")


def _docker_endpoint() -> tuple[str, bool]:
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        if host.startswith("unix://"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                sock.connect(host[len("unix://") :])
            return host, True
        if host.startswith("tcp://"):
            address, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
            with socket.create_connection((address, int(port)), timeout=0.5):
                return host, True
    except (OSError, ValueError):
        pass
    return host, False


def _docker_error(spec: Mapping[str, Any], hash_: str, build_log: Path) -> EnvironmentBuildError:
    host, reachable = _docker_endpoint()
    why = (
        f"Runyard does not run scripts in Docker images (a Docker engine answers at {host})"
        if reachable
        else f"no Docker engine is reachable (tried {host})"
    )
    message = (
        f"{label(spec, hash_)} sets docker.base_image = {spec['docker_base_image']!r}, but "
        f"{why}. Runyard builds Python virtual environments with uv instead of images: "
        "drop the setting with `env.docker.base_image = None` and list the packages in "
        "env.python.conda_dependencies or a requirements file. "
        f"Build log: {build_log}"
    )
    with BuildLog(build_log, echo=False) as log:
        log.note(message)
    return EnvironmentBuildError(message)


def _acquire(lock: Any, log: BuildLog, label: str) -> None:
    from filelock import Timeout

    stop = stopping.current()
    try:
        lock.acquire(timeout=0)
        return
    except Timeout:
        pass
    log.note(f"another process is building {label}; waiting for it (lock {lock.lock_file})")
    started = noted = time.monotonic()
    while True:
        stop.check()  # a canceled run stops waiting for another's build
        try:
            lock.acquire(timeout=_LOCK_POLL_S)
            return
        except Timeout:
            if time.monotonic() - noted >= _LOCK_WAIT_NOTE_S:
                noted = time.monotonic()
                log.note(f"still waiting for the other build of {label} ({noted - started:.0f} s)")


def _build_locked(spec: Mapping[str, Any], hash_: str, build_log: Path) -> PreparedEnvironment:
    what = label(spec, hash_)
    entry = cache.entry_path(hash_)
    with BuildLog(build_log) as log:
        log.note(f"preparing {what}")
        lock = cache.hash_lock(hash_)
        _acquire(lock, log, what)
        try:
            if cache.is_complete(entry):
                log.note(f"{what} was built by another process meanwhile: {entry}")
                cache.touch_last_used(entry)
                return _from_entry(spec, hash_, entry)
            for leftover in cache.clean_leftovers(hash_):
                log.note(f"removed the remains of an unfinished build: {leftover}")
            started = time.monotonic()
            from runyard.environments.condabuild import build_with_conda, choose_tool
            from runyard.environments.uvbuild import build_with_uv

            tool = choose_tool(spec, hash_, log, build_log)
            if tool is None:
                build_with_uv(spec, hash_, entry, log)
            else:
                build_with_conda(tool, spec, hash_, entry, log)
            log.note(f"built {what} in {time.monotonic() - started:.1f} s: {entry}")
        finally:
            lock.release()
    return _from_entry(spec, hash_, entry)
