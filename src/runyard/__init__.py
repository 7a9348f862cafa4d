"""Runyard: a local-first ML experiment platform."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
# The SDK-v1 spelling (``azureml.VERSION``, ``azureml.core.VERSION``).
VERSION = __version__
__all__ = [
    "VERSION",
    "ComputeTarget",
    "Environment",
    "Experiment",
    "Run",
    "ScriptRunConfig",
    "Workspace",
    "__version__",
]


# SDK-v1 subpackages a script may reach as attributes after ``import azureml.core``
# (``azureml.data.__version__``: importing the cloud's ``core`` imports them too). Here
# they load on first use, so ``import runyard.core`` stays light.
_SDK_PACKAGES = frozenset({"core", "data", "telemetry", "train", "widgets"})


def __getattr__(name: str) -> Any:
    if name in __all__ and name not in ("__version__", "VERSION"):
        from runyard import core

        return getattr(core, name)
    if name in _SDK_PACKAGES:
        import importlib

        return importlib.import_module(f"runyard.{name}")
    raise AttributeError(f"module 'runyard' has no attribute {name!r}")
