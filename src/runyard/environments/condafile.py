"""Reading conda environment files (``environment.yml``) into spec parts.

The supported subset is the one ``conda env export`` writes and the tutorials use::

    name: pytorch-env
    channels: [defaults, pytorch]
    dependencies:
      - python=3.11
      - pip
      - numpy=1.26          # a conda package: needs conda, mamba or micromamba
      - pip:
          - torch==2.13.0
    variables: {OMP_NUM_THREADS: "1"}
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.environments.requirements import RequirementLines, add_requirement_line
from runyard.environments.spec import python_version_from_conda
from runyard.errors import EnvironmentBuildError, EnvironmentNotFoundError, ValidationError

_KNOWN_KEYS = ("name", "channels", "dependencies", "variables", "prefix")
# "conda-forge::numpy>=1.2" -> "numpy"
_MATCH_SPEC_NAME = re.compile(r"^(?:[^:\s]+::)?([A-Za-z0-9_][A-Za-z0-9_.-]*)")


@dataclass
class CondaFile:
    """What a conda environment file asks for."""

    name: str | None = None
    channels: list[str] = field(default_factory=list)
    python_version: str | None = None
    conda_packages: list[str] = field(default_factory=list)
    pip: RequirementLines = field(default_factory=RequirementLines)
    variables: dict[str, str] = field(default_factory=dict)


def conda_package_name(match_spec: str) -> str:
    """The package name of a conda match spec (``pytorch::torchvision=0.8`` ->
    ``torchvision``)."""
    m = _MATCH_SPEC_NAME.match(match_spec.strip())
    return m.group(1).lower() if m else match_spec.strip()


def _fail(path: Path, problem: str) -> ValidationError:
    return ValidationError(
        f"conda file {path}: {problem}. Expected keys: name, channels, dependencies "
        "(strings like 'python=3.11', plus an optional 'pip:' list), variables"
    )


def parse_conda_text(text: str, path: Path) -> CondaFile:
    """Parses the text of a conda environment file; ``path`` names it in errors and
    anchors relative ``-r`` includes."""
    import yaml  # imported here: resolving a built environment should not pay for it

    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _fail(path, f"is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise _fail(path, f"the top level must be a mapping, got {type(data).__name__}")
    unknown = [k for k in data if k not in _KNOWN_KEYS]
    if unknown:
        raise _fail(path, f"unknown key(s) {', '.join(map(repr, unknown))}")
    out = CondaFile()
    if data.get("name") is not None:
        if not isinstance(data["name"], str):
            raise _fail(path, "'name' must be a string")
        out.name = data["name"]
    channels = data.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise _fail(path, "'channels' must be a list of strings")
    out.channels = [c.strip() for c in channels]
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise _fail(path, "'variables' must be a mapping of names to values")
    out.variables = {str(k): str(v) for k, v in variables.items()}
    deps = data.get("dependencies")
    if deps is None:
        deps = []
    if not isinstance(deps, list):
        raise _fail(path, "'dependencies' must be a list")
    for index, dep in enumerate(deps, start=1):
        if isinstance(dep, dict):
            if set(dep) != {"pip"} or not isinstance(dep["pip"], list):
                raise _fail(
                    path, f"dependency #{index} {dep!r}: the only mapping allowed is 'pip: [...]'"
                )
            for item in dep["pip"]:
                if not isinstance(item, str) or not item.strip():
                    raise _fail(path, f"pip entry {item!r} must be a requirement string")
                add_requirement_line(item.strip(), out.pip, path.parent, f"conda file {path}")
            continue
        if isinstance(dep, (int, float)) or not isinstance(dep, str) or not dep.strip():
            raise _fail(path, f"dependency #{index} {dep!r} must be a string like 'numpy=1.26'")
        package = conda_package_name(dep)
        if package == "python":
            out.python_version = python_version_from_conda(dep.split("::")[-1])
        elif package != "pip":
            out.conda_packages.append(dep.strip())
    return out


def read_conda_file(path: str | Path) -> CondaFile:
    """Reads and validates a conda environment file. Raises ValidationError naming the
    file and the problem."""
    file_path = Path(path).expanduser()
    try:
        text = file_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"conda file {file_path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read conda file {file_path}: {exc}") from None
    return parse_conda_text(text, file_path)


def export_conda_environment(name: str, timeout_s: float = 120.0) -> CondaFile:
    """The spec of an existing local conda environment, by ``conda env export``.
    Needs conda, mamba or micromamba on PATH (EnvironmentBuildError otherwise)."""
    tool = next((t for t in map(shutil.which, ("conda", "mamba", "micromamba")) if t), None)
    if tool is None:
        raise EnvironmentBuildError(
            f"reading conda environment {name!r} needs conda, mamba or micromamba on PATH, "
            "and none was found. Fix: run Runyard where conda is on PATH, or export the "
            f"environment elsewhere (`conda env export -n {name} > env.yml`) and use "
            "Environment.from_conda_specification(name, 'env.yml')"
        )
    argv = [tool, "env", "export", "--name", name, "--no-builds"]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentBuildError(f"`{' '.join(argv)}` failed: {exc}") from None
    if proc.returncode != 0:
        raise EnvironmentNotFoundError(
            f"conda environment {name!r} could not be exported: "
            f"{(proc.stderr or proc.stdout).strip()[-500:]}; list them with `conda env list`"
        )
    return parse_conda_text(proc.stdout, Path(f"<conda env export of {name!r}>"))
