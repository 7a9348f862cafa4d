"""Building with conda, mamba or micromamba when a spec needs it and one is on PATH.

Conda prefixes are not relocatable, so the build happens in place, under the per-hash
lock, with the completion marker written last (see builder.py).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runyard.environments import cache
from runyard.environments.buildlog import BuildLog, label, run_or_fail
from runyard.environments.uvbuild import lock_text, requirements_text, write_metadata
from runyard.errors import EnvironmentBuildError

_CONDA_TOOLS = ("micromamba", "mamba", "conda")


def conda_tool() -> str | None:
    """The first of micromamba, mamba, conda found on PATH (fastest first)."""
    for name in _CONDA_TOOLS:
        found = shutil.which(name)
        if found:
            return found
    return None


def choose_tool(spec: Mapping[str, Any], hash_: str, log: BuildLog, build_log: Path) -> str | None:
    """None for uv, else the conda-like tool to use."""
    if not (spec["conda"] or spec["conda_file"]):
        return None
    tool = conda_tool()
    if tool is not None:
        return tool
    if spec["conda"]:
        message = (
            f"{label(spec, hash_)} needs conda packages ({', '.join(spec['conda'])}) but "
            "none of micromamba, mamba or conda is on PATH. Fix: install one of them and "
            "put it on PATH, or move these packages into the conda file's 'pip:' list "
            "(by their PyPI names) so that Runyard builds the environment with uv. "
            f"Build log: {build_log}"
        )
        log.note(message)
        raise EnvironmentBuildError(message)
    log.note(
        "no conda, mamba or micromamba on PATH; this conda spec lists only python and pip "
        "packages, so it is built with uv instead"
        + (f" (channels {', '.join(spec['channels'])} are not used)" if spec["channels"] else "")
    )
    return None


def _conda_yaml(spec: Mapping[str, Any]) -> str:
    version = spec["python_version"]
    python = (
        "python"
        if not version
        else (f"python{version}" if version[0] in "<>=!~" else f"python={version}")
    )
    deps: list[Any] = [python, "pip", *spec["conda"]]
    if spec["pip"]:
        deps.append({"pip": [*spec["pip_options"], *spec["pip"]]})
    return json.dumps({"channels": spec["channels"], "dependencies": deps}, indent=2)


def build_with_conda(
    tool: str, spec: Mapping[str, Any], hash_: str, entry: Path, log: BuildLog
) -> None:
    log.note(f"building with {tool} in place (conda prefixes cannot be moved)")
    env_file = cache.envs_dir() / f"{cache.TMP_PREFIX}{hash_}-{os.getpid()}.yml"
    env_file.write_text(_conda_yaml(spec), "utf-8")  # JSON is YAML
    try:
        if Path(tool).name == "micromamba":
            argv = [tool, "create", "--yes", "--prefix", str(entry), "--file", str(env_file)]
        else:
            argv = [tool, "env", "create", "--prefix", str(entry), "--file", str(env_file)]
        run_or_fail(argv, spec, hash_, log, dict(os.environ), cache.envs_dir())
        lock = lock_text(cache.venv_python(entry), dict(os.environ), cache.envs_dir(), log)
        (entry / "requirements.txt").write_text(requirements_text(spec), "utf-8")
        write_metadata(spec, hash_, entry, Path(tool).name, lock)
        (entry / "build.log").write_text("".join(log.lines), "utf-8")
        (entry / cache.MARKER).write_text(f"{time.time()}\n", "utf-8")
    except BaseException:
        cache.remove_tree(entry)
        raise
    finally:
        env_file.unlink(missing_ok=True)
