"""Curated environments shipped with Runyard, and the Azure ML names they stand in for.

Each curated environment is a spec in ``curated/<name>.json``. The tutorial's Azure
names (``AzureML-PyTorch-1.6-CPU``, ``AzureML-Minimal`` ...) resolve to the closest one,
with a one-line notice on stderr saying which.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from runyard.environments.spec import normalize_spec
from runyard.errors import EnvironmentNotFoundError

CURATED_DIR = Path(__file__).parent / "curated"
MINIMAL = "Runyard-Minimal"
PYTORCH_CPU = "Runyard-PyTorch-CPU"
SKLEARN = "Runyard-sklearn"
TENSORFLOW_CPU = "Runyard-TensorFlow-CPU"

# Checked in order against the lower-cased Azure name; the first keyword found wins.
_AZURE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("pytorch", PYTORCH_CPU),
    ("torch", PYTORCH_CPU),
    ("tensorflow", TENSORFLOW_CPU),  # GPU and CUDA names too: no GPU build offline
    ("keras", TENSORFLOW_CPU),
    ("sklearn", SKLEARN),
    ("scikit", SKLEARN),
    ("tutorial", SKLEARN),
    ("lightgbm", SKLEARN),
    ("xgboost", SKLEARN),
    ("minimal", MINIMAL),
    ("default", MINIMAL),
)
AZURE_PREFIX = "azureml-"
# SDK-v1 curated names that real scripts use; Environment.list(ws) lists them too.
SDK_CURATED = (
    "AzureML-Minimal",
    "AzureML-Tutorial",
    "AzureML-PyTorch-1.6-CPU",
    "AzureML-PyTorch-1.6-GPU",
    "AzureML-pytorch-1.10-ubuntu18.04-py38-cuda11-gpu",
    "AzureML-sklearn-0.24-ubuntu18.04-py37-cpu",
    "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu",
    "AzureML-Scikit-learn-0.20.3",
    "AzureML-lightgbm-3.2-ubuntu18.04-py37-cpu",
    "AzureML-TensorFlow-2.3-CPU",
    "AzureML-TensorFlow-2.3-GPU",
    "AzureML-TensorFlow-2.1-GPU",
    "AzureML-tensorflow-2.4-ubuntu18.04-py37-cpu-inference",
    "AzureML-tensorflow-2.16-cuda12",
)


@dataclass(frozen=True)
class CuratedMatch:
    """A curated spec found for a requested name; ``notice`` is set for an alias."""

    spec: dict[str, Any]
    notice: str | None


@cache
def _load(name: str) -> dict[str, Any]:
    path = CURATED_DIR / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    # Stored as written (python_version may stay null, resolved when built).
    normalize_spec(data)  # fail early on a bad shipped file
    return dict(data)


def curated_names() -> list[str]:
    """The names of the curated environments, sorted."""
    return sorted(p.stem for p in CURATED_DIR.glob("*.json"))


def sdk_curated_names() -> list[str]:
    """The SDK-v1 curated names Runyard knows, each standing for a curated one."""
    return list(SDK_CURATED)


def is_reserved_name(name: str) -> bool:
    """Names that registering may not use: curated ones and Azure's curated prefix."""
    return name.lower().startswith(("runyard-", AZURE_PREFIX))


def alias_target(name: str) -> str | None:
    """The curated environment an Azure ML curated name maps to, if any."""
    lowered = name.lower()
    if not lowered.startswith(AZURE_PREFIX):
        return None
    for keyword, target in _AZURE_KEYWORDS:
        if keyword in lowered:
            return target
    return None


def find_curated(name: str) -> CuratedMatch | None:
    """The curated spec called ``name`` (case-insensitively), or the closest one for
    an Azure ML curated name; None when neither."""
    by_lower = {n.lower(): n for n in curated_names()}
    if name.lower() in by_lower:
        return CuratedMatch(spec=copy.deepcopy(_load(by_lower[name.lower()])), notice=None)
    target = alias_target(name)
    if target is None:
        return None
    notice = (
        f"runyard: Azure ML environment {name!r} is not available locally; "
        f"using the closest curated environment {target!r} instead"
    )
    return CuratedMatch(spec=copy.deepcopy(_load(target)), notice=notice)


def get_curated(name: str, *, announce: bool = True) -> dict[str, Any]:
    """The curated spec for ``name`` (or its Azure alias, printing the one-line
    notice to stderr). Raises EnvironmentNotFoundError listing the curated names."""
    match = find_curated(name)
    if match is None:
        raise EnvironmentNotFoundError(
            f"no curated environment called {name!r}; the curated ones are "
            f"{', '.join(curated_names())}. For another framework (JAX ...) "
            "make one: Environment.from_pip_requirements('my-env', 'requirements.txt')"
        )
    if match.notice and announce:
        print(match.notice, file=sys.stderr)
    return match.spec
