"""What an SDK-v1 environment becomes on this machine, decided at submit.

Three things real SDK-v1 specs carry that the cloud satisfies and a laptop may not:

- the cloud's runtime packages (``azureml-defaults``, ``azureml-core``,
  ``azureml-dataset-runtime[fuse]`` ...): a ported script imports ``runyard`` instead,
  which the runner provides, so they are dropped, with a notice; ``azureml-mlflow``
  becomes ``mlflow-skinny`` (the plugin it adds to MLflow comes with Runyard);
- conda packages with no conda, mamba or micromamba on PATH: those with a known PyPI
  equivalent (``pytorch`` -> ``torch``, ``numpy=1.26`` -> ``numpy==1.26.*``) are built
  with uv under that name, with a notice listing each translation; any other is an
  error naming it and the fix;
- a Python version no interpreter here provides (``python=3.6.2``): an error naming
  the line and the fix, now rather than in Preparing.

An Azure ML base image (``mcr.microsoft.com/azureml/...``) is dropped with a notice, as
it only supplies Ubuntu and conda; any other image is left for the builder to refuse.
With a conda tool on PATH, conda packages and Python versions are left to it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.core.notices import notice
from runyard.environments.condafile import conda_package_name
from runyard.environments.spec import normalize_spec, requirement_name
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.core.environment import Environment

# Runyard's own client stands in for these: the ported script imports runyard.
RUNTIME_PACKAGES = frozenset(
    {
        "azureml-core",
        "azureml-dataprep",
        "azureml-dataset-runtime",
        "azureml-defaults",
        "azureml-sdk",
        "azureml-telemetry",
        "azureml-train",
        "azureml-train-core",
        "azureml-widgets",
    }
)
# The cloud's packages whose job a public package does here: azureml-mlflow is MLflow's
# plugin for the workspace, which Runyard provides beside its client (runyard.mlflow).
# azureml-interpret is the client of explanations kept with runs (runyard.interpret here)
# over interpret-community's explainers, which the script imports itself.
STAND_INS: dict[str, str] = {
    "azureml-mlflow": "mlflow-skinny>=3.0",
    "azureml-interpret": "interpret-community>=0.31",
}
# conda name -> PyPI name, for packages published on both under a known name.
_SAME_NAME = """numpy scipy pandas scikit-learn matplotlib seaborn pillow requests joblib tqdm
pyyaml h5py lightgbm xgboost statsmodels sympy networkx nltk pytest ipykernel torchvision
torchaudio tensorflow keras mkl setuptools wheel cython numba pyarrow scikit-image plotly
bokeh click psutil onnx onnxruntime transformers tensorboard protobuf six packaging
cloudpickle dask"""
PYPI_EQUIVALENTS: dict[str, str] = {name: name for name in _SAME_NAME.split()}
PYPI_EQUIVALENTS.update(
    {
        "pytorch": "torch",
        "pytorch-cpu": "torch",
        "py-xgboost": "xgboost",
        "opencv": "opencv-python",
        "py-opencv": "opencv-python",
        "tensorflow-mkl": "tensorflow",
        "pytables": "tables",
    }
)
# Conda selectors with no package behind them on PyPI: the choice they make is uv's.
DROPPED_CONDA = frozenset({"cpuonly", "nomkl", "blas"})
_AZURE_IMAGE = re.compile(r"^mcr\.microsoft\.com/azureml/", re.IGNORECASE)
_CONDA_VERSION = re.compile(r"^([<>=!~]*)\s*([0-9][0-9A-Za-z.*+!_-]*)(?:[\s=]+\S+)?$")


def _conda_tool() -> str | None:
    return next((t for t in map(shutil.which, ("micromamba", "mamba", "conda")) if t), None)


def pypi_requirement(match_spec: str) -> str | None:
    """The pip requirement for a conda match spec with a PyPI equivalent, else None:
    ``numpy=1.26`` -> ``numpy==1.26.*``, ``pytorch::pytorch>=1.6`` -> ``torch>=1.6``."""
    name = conda_package_name(match_spec)
    pypi = PYPI_EQUIVALENTS.get(name)
    if pypi is None:
        return None
    rest = match_spec.strip().split("::")[-1].strip()[len(name) :].strip()
    if not rest:
        return pypi
    m = _CONDA_VERSION.match(rest)
    if m is None:
        return None
    op, version = m.group(1), m.group(2)
    if op in ("", "="):  # conda's "=1.26" is the prefix 1.26*
        version = version.rstrip("*").rstrip(".")
        return f"{pypi}=={version}.*"
    return f"{pypi}{op}{version}"


def _line_of(source: Path | None, text: str) -> str:
    """Where ``text`` is written: ``"line 4 of env.yml"``, or the CondaDependencies."""
    if source is not None:
        try:
            for number, line in enumerate(source.read_text("utf-8").splitlines(), 1):
                if text in line:
                    return f"line {number} of {source}"
        except OSError:
            pass
        return str(source)
    return "the environment's CondaDependencies"


def _python_found(version: str) -> bool:
    from runyard.environments.uvbuild import uv_bin

    try:
        proc = subprocess.run(
            [uv_bin(), "python", "find", "--no-project", version],
            capture_output=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return True  # cannot tell: leave it to the build, which reports it
    return proc.returncode == 0


def _downloadable(version: str) -> bool:
    """Whether uv could still fetch a managed build of ``version`` while building."""
    if os.environ.get("UV_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    if os.environ.get("UV_PYTHON_DOWNLOADS", "").lower() in ("never", "manual"):
        return False
    m = re.match(r"^(\d+)\.(\d+)", version)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (3, 8)


def _check_python(env: Environment, spec: dict[str, Any]) -> None:
    version = spec["python_version"]
    if not version or version[0] in "<>=!~" or _python_found(version):
        return
    if _downloadable(version):
        notice(
            f"environment {env.name!r}: no Python {version} is installed here; uv will "
            "try to download one while Preparing",
            key=f"python-download:{version}",
        )
        return
    from runyard.environments.spec import current_python_version

    where = _line_of(getattr(env, "_source", None), f"python={version}")
    raise ValidationError(
        f"environment {env.name!r} asks for Python {version} ('python={version}', "
        f"{where}), and no such interpreter is installed here or can be fetched. Fix: "
        f"remove that line to use this machine's Python {current_python_version()}, "
        f"or set it to a version that is installed (`uv python list --only-installed`), "
        f"or install {version} first (`uv python install {version}`)"
    )


def _translate_conda(env: Environment, spec: dict[str, Any]) -> None:
    translated: list[str] = []
    unknown: list[str] = []
    pip = list(spec["pip"])
    for package in spec["conda"]:
        if conda_package_name(package) in DROPPED_CONDA:
            translated.append(f"{package} -> (dropped: a conda build selector)")
            continue
        requirement = pypi_requirement(package)
        if requirement is None:
            unknown.append(package)
            continue
        if requirement_name(requirement) not in {requirement_name(r) for r in pip}:
            pip.append(requirement)
        translated.append(f"{package} -> {requirement}")
    if unknown:
        source = getattr(env, "_source", None)
        lines = "; ".join(f"{p!r} ({_line_of(source, p)})" for p in unknown)
        raise ValidationError(
            f"environment {env.name!r} needs conda package(s) with no PyPI equivalent "
            f"Runyard knows: {lines}, and no conda, mamba or micromamba is on PATH. Fix: "
            "install one of them, or list the package under 'pip:' by its PyPI name "
            "(cd.add_pip_package('name'))"
        )
    if translated:
        notice(
            f"environment {env.name!r}: no conda on PATH, so its conda packages are built "
            f"with uv from PyPI: {', '.join(translated)}",
            key=f"conda:{env.name}:{','.join(translated)}",
        )
    spec["pip"] = pip
    spec["conda"] = []
    spec["channels"] = []
    spec["conda_file"] = False  # decided: built with uv, as the same pip-only spec is


def submittable_spec(env: Environment) -> dict[str, Any]:
    """``env.to_spec()`` as this machine can build it (see the module docstring), with
    notices for what changed. Raises ValidationError naming what cannot be honoured."""
    spec = env.to_spec()
    if env.docker.base_dockerfile:
        raise ValidationError(
            f"environment {env.name!r} sets docker.base_dockerfile, and Runyard runs no "
            "containers, so a Dockerfile cannot be built into its environment. Fix: list "
            "the Dockerfile's Python packages in env.python.conda_dependencies (or a "
            "requirements file) and set env.docker.base_dockerfile = None"
        )
    if env.docker.enabled:
        notice(
            f"environment {env.name!r}: docker.enabled is recorded; runs here use the "
            "environment's Python on this machine, not a Docker container",
            key="docker",
        )
    image = spec["docker_base_image"]
    if image and _AZURE_IMAGE.match(image):
        spec["docker_base_image"] = None
        notice(
            f"environment {env.name!r}: base image {image} only supplies Ubuntu and "
            "conda; here the environment's packages are built without it",
            key=f"image:{image}",
        )
    if spec["user_managed"]:
        return normalize_spec(spec)
    runtime = [r for r in spec["pip"] if requirement_name(r).split("[")[0] in RUNTIME_PACKAGES]
    if runtime:
        spec["pip"] = [r for r in spec["pip"] if r not in runtime]
        notice(
            f"environment {env.name!r}: {', '.join(runtime)} "
            "are satisfied by Runyard's own client (a ported script imports runyard), "
            "so they are not installed",
            key=f"runtime:{','.join(runtime)}",
        )
    swapped = {
        r: STAND_INS[requirement_name(r)] for r in spec["pip"] if requirement_name(r) in STAND_INS
    }
    if swapped:
        spec["pip"] = [swapped.get(r, r) for r in spec["pip"]]
        names = {requirement_name(r) for r in spec["pip"]}
        mlflow = next((r for r in swapped if requirement_name(r) == "azureml-mlflow"), None)
        if mlflow and "scikit-learn" in names and "skops" not in names:
            # MLflow 3 saves scikit-learn models with skops, which the full mlflow brings.
            spec["pip"].append("skops")
            swapped[mlflow] += " and skops"
        notice(
            f"environment {env.name!r}: "
            + ", ".join(f"{old} is installed as {new}" for old, new in swapped.items())
            + " (Runyard provides the client of the workspace itself: its MLflow plugin, "
            "runyard.interpret)",
            key=f"stand-in:{','.join(swapped)}",
        )
    conda_tool = _conda_tool()
    if spec["conda"] and conda_tool is None:
        _translate_conda(env, spec)
    if conda_tool is None or not (spec["conda"] or spec["conda_file"]):
        _check_python(env, spec)
    return normalize_spec(spec)
