"""Dependencies point down the layers of DESIGN.md; the public names stay put."""

from __future__ import annotations

import ast
from pathlib import Path

import runyard
import runyard.core

SRC = Path(__file__).resolve().parents[1] / "src" / "runyard"

BASE = {"entities", "errors", "config"}
ALLOWED: dict[str, set[str]] = {
    "cli": {"cli", "core", "server", "targets", "runner", "environments", "tracking", "remote"}
    | {"store", "workspace", "assets", "sweeps", "train"}
    | BASE,
    # The sweep page reads a sweep through sweeps.view and draws it with sweeps.plots.
    "server": {"server", "tracking", "store", "wire", "sweeps"} | BASE,
    "core": {"core", "targets", "runner", "environments", "tracking", "remote", "store"}
    | {"workspace", "assets", "sweeps", "sysmetrics"}
    | BASE,
    # SDK-v1 facade (runyard.train.hyperdrive) over the sweeps package.
    "train": {"train", "core", "sweeps", "targets", "runner", "tracking", "store"}
    | {"workspace"}
    | BASE,
    # Sweep controllers, samplers, policies: they submit trials like a control script.
    "sweeps": {"sweeps", "targets", "runner", "environments", "tracking", "remote", "store"}
    | {"workspace"}
    | BASE,
    # The SDK's ``azureml.data`` module paths, re-exporting core's dataset classes.
    "data": {"data", "core", "assets"} | BASE,
    # The SDK's ``azureml.interpret``: explanations as files of a core Run.
    "interpret": {"interpret", "core"} | BASE,
    # Datastores, datasets, models: under core, beside runner (which resolves inputs).
    "assets": {"assets", "store"} | BASE,
    # Where runners start (local slots, Ray): `runyard.compute` would collide with the
    # SDK's name space, so the package is `targets`.
    "targets": {"targets", "runner", "environments", "tracking", "remote", "store", "workspace"}
    | BASE,
    "runner": {"runner", "environments", "tracking", "remote", "store", "workspace", "assets"}
    | {"sysmetrics"}
    | BASE,
    # System metrics (psutil, NVML) written to a journal: sampled by the runner, or by
    # an offline run's own process (core).
    "sysmetrics": {"sysmetrics", "tracking"} | BASE,
    "environments": {"environments", "store"} | BASE,
    "tracking": {"tracking", "store"} | BASE,
    "store": {"store"} | BASE,
    # Workspace files (config, paths, targets, owner): shared by core, targets, runner
    # and cli; it opens no store.
    "workspace": {"workspace"} | BASE,
    # The HTTP client store: a client of the server, speaking the wire format.
    "remote": {"remote", "wire", "store"} | BASE,
    # Request/response models and the error table, shared by server and remote.
    "wire": {"wire"} | BASE,
    # The SDK-v1 notebook widget (``azureml.widgets``): reads a Run's store.
    "widgets": {"widgets", "core", "store", "sweeps"} | BASE,
    # MLflow's tracking store and artifact repository on a workspace (MLflow's plugins).
    "mlflow": {"mlflow", "core", "store", "workspace"} | BASE,
    # TensorBoard over runs (``azureml.tensorboard``): reads a Run's store.
    "tensorboard": {"tensorboard", "core", "store"} | BASE,
    # The SDK-v1 path ``azureml.telemetry``: imports nothing, sends nothing.
    "telemetry": {"telemetry"},
    # The SDK-v1 path ``azureml.exceptions``: names over runyard.errors.
    "exceptions": {"exceptions"} | BASE,
    "entities": set(),
    "errors": set(),
    "config": {"entities", "errors"},
}


def layer_of(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "runyard":  # ``from runyard import wire`` imports a layer too
                names = [f"runyard.{a.name}" for a in node.names if not a.name.startswith("__")]
        for name in names:
            parts = name.split(".")
            if parts[0] == "runyard" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_layers_import_only_downwards() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        if path.parent == SRC and path.name in ("__init__.py", "demo.py"):
            continue
        layer = layer_of(path)
        if layer not in ALLOWED:  # a new package must say what it may import
            bad.append(f"{path.relative_to(SRC)}: layer {layer!r} is not in ALLOWED")
            continue
        for other in imported_layers(path) - ALLOWED[layer] - {layer}:
            bad.append(f"{path.relative_to(SRC)} ({layer}) imports runyard.{other}")
    assert not bad, "\n".join(bad)


def test_modules_stay_small() -> None:
    big = [
        f"{p.relative_to(SRC)}: {n} lines"
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420
    ]
    assert not big, big


def test_public_names() -> None:
    assert runyard.core.__all__ == [
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
    for name in runyard.core.__all__[1:]:
        assert getattr(runyard.core, name).__name__ == name
    assert runyard.Workspace is runyard.core.Workspace
    assert runyard.VERSION == runyard.core.VERSION == runyard.__version__


def test_sdk_module_paths() -> None:
    """The SDK-v1 module paths a ported script imports, with their public names."""
    import importlib

    paths = {
        "runyard.core.compute": ["AmlCompute", "ComputeInstance", "ComputeTarget"],
        "runyard.core.compute_target": ["ComputeTarget", "ComputeTargetException"],
        "runyard.core.runconfig": [
            "DEFAULT_CPU_IMAGE",
            "DockerConfiguration",
            "MpiConfiguration",
            "PyTorchConfiguration",
            "RunConfiguration",
            "TensorflowConfiguration",
        ],
        "runyard.core.conda_dependencies": ["CondaDependencies"],
        "runyard.core.environment": ["CondaDependencies", "Environment"],
        "runyard.core.script_run_config": ["ScriptRunConfig"],
        "runyard.core.workspace": ["Workspace"],
        "runyard.core.experiment": ["Experiment"],
        "runyard.core.run": ["Run"],
        "runyard.exceptions": [
            "AzureMLException",
            "DatasetTimestampMissingError",
            "UserErrorException",
        ],
    }
    for path, names in paths.items():
        module = importlib.import_module(path)
        missing = [n for n in names if not hasattr(module, n)]
        assert not missing, f"{path} lacks {missing}"
    from runyard.core.compute_target import ComputeTargetException
    from runyard.errors import ComputeTargetNotFoundError, RunyardError

    assert issubclass(ComputeTargetNotFoundError, ComputeTargetException)
    assert issubclass(ComputeTargetException, RunyardError)
