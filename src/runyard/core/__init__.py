"""The public API, with the tutorial SDK's names:
``from runyard.core import Workspace, Experiment, Environment, ScriptRunConfig, Run``.

The SDK-v1 module paths live beside it: ``runyard.core.compute``,
``.compute_target``, ``.runconfig``, ``.conda_dependencies``, ``.environment``,
``.workspace``, ``.experiment``, ``.run``, ``.script_run_config``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard import __version__ as VERSION  # the SDK-v1 spelling

__all__ = [
    "VERSION",
    "AmlCompute",
    "ComputeTarget",
    "Dataset",
    "Datastore",
    "Environment",
    "Experiment",
    "LocalCompute",
    "Model",
    "RayCompute",
    "Run",
    "RunConfiguration",
    "ScriptRunConfig",
    "Workspace",
]

if TYPE_CHECKING:
    from runyard.core.compute_target import AmlCompute, ComputeTarget, LocalCompute, RayCompute
    from runyard.core.dataset import Dataset
    from runyard.core.datastore import Datastore
    from runyard.core.environment import Environment
    from runyard.core.experiment import Experiment
    from runyard.core.model import Model
    from runyard.core.run import Run
    from runyard.core.script_run_config import RunConfiguration, ScriptRunConfig
    from runyard.core.workspace import Workspace

# Imported on first use: a training script that only needs Run.get_context() and
# run.log() should not pay for SQLAlchemy at start-up.
_WHERE = {
    "AmlCompute": "runyard.core.compute_target",
    "ComputeTarget": "runyard.core.compute_target",
    "LocalCompute": "runyard.core.compute_target",
    "RayCompute": "runyard.core.compute_target",
    "Dataset": "runyard.core.dataset",
    "Datastore": "runyard.core.datastore",
    "Model": "runyard.core.model",
    "Environment": "runyard.core.environment",
    "Experiment": "runyard.core.experiment",
    "Run": "runyard.core.run",
    "RunConfiguration": "runyard.core.script_run_config",
    "ScriptRunConfig": "runyard.core.script_run_config",
    "Workspace": "runyard.core.workspace",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'runyard.core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
