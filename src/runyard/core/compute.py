"""The SDK-v1 module path ``azureml.core.compute``:
``from runyard.core.compute import ComputeTarget, AmlCompute, ComputeInstance``.

See :mod:`runyard.core.compute_target` for what each class does locally.
"""

from __future__ import annotations

from runyard.core.compute_status import ComputeStatus, ScaleSettings
from runyard.core.compute_target import (
    AmlCompute,
    ComputeInstance,
    ComputeTarget,
    ComputeTargetException,
    LocalCompute,
    ProvisioningConfiguration,
    RayCompute,
)

__all__ = [
    "AmlCompute",
    "ComputeInstance",
    "ComputeStatus",
    "ComputeTarget",
    "ComputeTargetException",
    "LocalCompute",
    "ProvisioningConfiguration",
    "RayCompute",
    "ScaleSettings",
]
