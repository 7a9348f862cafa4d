"""Building a venv with uv: ``uv venv --relocatable`` in a temp folder, ``uv pip
install``, byte-code, the lock, then one ``os.rename`` into the cache."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.environments import cache
from runyard.environments.buildlog import (
    BuildLog,
    capture,
    describe_status,
    run_logged,
    run_many_logged,
    run_or_fail,
)
from runyard.errors import EnvironmentBuildError

if TYPE_CHECKING:
    from runyard.environments.pipconfig import UvSettings


def uv_bin() -> str:
    """The uv executable of the ``uv`` package Runyard depends on."""
    from uv import find_uv_bin

    return find_uv_bin()


def uv_environment(log: BuildLog) -> tuple[dict[str, str], UvSettings]:
    """The environment for uv: ours plus the user's pip settings as ``UV_*``."""
    from runyard.environments.pipconfig import read_pip_settings, uv_settings

    settings = uv_settings(read_pip_settings())
    for line in settings.notes:
        log.note(line)
    return {**os.environ, **settings.env}, settings


def requirements_text(spec: Mapping[str, Any]) -> str:
    """The requirements file uv installs from: options first, then requirements."""
    return "".join(f"{line}\n" for line in (*spec["pip_options"], *spec["pip"]))


def write_metadata(spec: Mapping[str, Any], hash_: str, folder: Path, tool: str, lock: str) -> None:
    """``spec.json`` (the spec, its hash, the tool, the time) and ``lock.txt``."""
    record = {**spec, "spec_hash": hash_, "built_with": tool, "built_at": time.time()}
    (folder / "spec.json").write_text(json.dumps(record, indent=2, sort_keys=True), "utf-8")
    (folder / "lock.txt").write_text(lock, "utf-8")


def lock_text(python: Path, env: Mapping[str, str], cwd: Path, log: BuildLog) -> str:
    """The exact versions installed for ``python`` (``uv pip freeze``)."""
    status, out, err = capture([uv_bin(), "pip", "freeze", "--python", str(python)], env, cwd)
    if status != 0:
        raise EnvironmentBuildError(f"`uv pip freeze` {describe_status(status)}: {err.strip()}")
    log.note(f"locked {len(out.splitlines())} packages")
    return out


def build_with_uv(spec: Mapping[str, Any], hash_: str, entry: Path, log: BuildLog) -> None:
    """Builds in a temp folder and renames it to ``entry`` once complete; a failure
    (or an interrupt) removes the temp folder. Call holding the hash's lock."""
    env, settings = uv_environment(log)
    root = cache.envs_dir()
    tmp = cache.new_temp_dir(hash_)
    try:
        uv = uv_bin()
        python = cache.venv_python(tmp)
        venv_argv = [
            uv,
            "venv",
            "--relocatable",
            "--no-project",
            "--python",
            spec["python_version"],
            str(tmp),
        ]
        run_or_fail(venv_argv, spec, hash_, log, env, root)
        requirements = requirements_text(spec)
        (tmp / "requirements.txt").write_text(requirements, "utf-8")
        if spec["pip"]:
            install_argv = [uv, "pip", "install", "--python", str(python), *settings.args,
                            "-r", str(tmp / "requirements.txt")]  # fmt: skip
            run_or_fail(install_argv, spec, hash_, log, env, root)
            compile_bytecode(tmp, python, log, env, root)
        lock = lock_text(python, env, root, log)
        write_metadata(spec, hash_, tmp, "uv", lock)
        (tmp / "build.log").write_text("".join(log.lines), "utf-8")
        (tmp / cache.MARKER).write_text(f"{time.time()}\n", "utf-8")
        os.rename(tmp, entry)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def compile_bytecode(
    venv: Path, python: Path, log: BuildLog, env: Mapping[str, str], cwd: Path
) -> None:
    """Byte-compiles at build time, so that runs neither pay for it nor race to write
    ``.pyc`` files; reusing what sibling environments compiled (see bytecode.py)."""
    from runyard.environments import bytecode

    site = bytecode.site_packages(venv)
    if site is None:
        return
    plan = bytecode.seed_from_siblings(venv)
    if plan.seeded_files:
        log.note(
            f"reused the byte-code of {plan.seeded_dists} distributions "
            f"({plan.seeded_files} files) compiled in other environments"
        )
    started = time.monotonic()
    if plan.whole_tree:
        statuses = [
            run_logged(bytecode.compile_argv(python, site, from_list=False), log, env, cwd)[0]
        ]
    elif plan.to_compile:
        # compileall compiles a file list on one core: split it, one process per core.
        parts = max(1, min(os.cpu_count() or 1, len(plan.to_compile) // 200))
        argvs = []
        for k in range(parts):
            listing = venv / f".compile-list-{k}.txt"
            listing.write_text("".join(f"{p}\n" for p in plan.to_compile[k::parts]), "utf-8")
            argvs.append(bytecode.compile_argv(python, listing, from_list=True))
        statuses = run_many_logged(argvs, log, env, cwd)
        for listing in venv.glob(".compile-list-*.txt"):
            listing.unlink()
    else:
        return
    status = next((s for s in statuses if s != 0), 0)
    # Like uv and pip, a file that does not compile (test data, py2 leftovers) is no error.
    outcome = "done" if status == 0 else f"done; some files did not compile ({status})"
    log.note(f"byte-compiling {outcome} in {time.monotonic() - started:.1f} s")
