"""Environments: spec -> content hash -> a Python environment built once with uv, in a
cache shared by all workspaces (``runyard.config.cache_dir() / "envs"``).

The runner calls :func:`prepare`; the CLI calls :func:`build`, :func:`list_cached` and
:func:`prune`; ``runyard.core.Environment`` makes the specs. Names are imported on
first use, so that resolving a built environment loads only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runyard.environments.builder import (
        SUBMITTING_INTERPRETER,
        PreparedEnvironment,
        build,
        prepare,
    )
    from runyard.environments.cache import CachedEnvironment, list_cached, prune
    from runyard.environments.condafile import CondaFile, read_conda_file
    from runyard.environments.curated import curated_names, find_curated, get_curated
    from runyard.environments.pipconfig import PipSettings, read_pip_settings, uv_settings
    from runyard.environments.requirements import RequirementLines, read_requirements_file
    from runyard.environments.spec import (
        SCHEMA_VERSION,
        normalize_spec,
        spec_from_lock,
        spec_hash,
    )

_WHERE = {
    "build": "builder",
    "prepare": "builder",
    "CachedEnvironment": "cache",
    "list_cached": "cache",
    "prune": "cache",
    "CondaFile": "condafile",
    "read_conda_file": "condafile",
    "curated_names": "curated",
    "find_curated": "curated",
    "get_curated": "curated",
    "PipSettings": "pipconfig",
    "read_pip_settings": "pipconfig",
    "uv_settings": "pipconfig",
    "SUBMITTING_INTERPRETER": "builder",
    "PreparedEnvironment": "builder",
    "RequirementLines": "requirements",
    "read_requirements_file": "requirements",
    "SCHEMA_VERSION": "spec",
    "normalize_spec": "spec",
    "spec_from_lock": "spec",
    "spec_hash": "spec",
}

__all__ = [
    "SCHEMA_VERSION",
    "SUBMITTING_INTERPRETER",
    "CachedEnvironment",
    "CondaFile",
    "PipSettings",
    "PreparedEnvironment",
    "RequirementLines",
    "build",
    "curated_names",
    "find_curated",
    "get_curated",
    "list_cached",
    "normalize_spec",
    "prepare",
    "prune",
    "read_conda_file",
    "read_pip_settings",
    "read_requirements_file",
    "spec_from_lock",
    "spec_hash",
    "uv_settings",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'runyard.environments' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"runyard.environments.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
