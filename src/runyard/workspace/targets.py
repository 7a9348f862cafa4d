"""A workspace's compute targets: the ``local`` one every workspace has, and the
settings of a target that more than one layer reads."""

from __future__ import annotations

from runyard.config import CANCEL_GRACE_S, WorkspaceConfig
from runyard.entities import ComputeTargetConfig

# The target a workspace always has, also when its config does not list it.
DEFAULT_LOCAL_TARGET = ComputeTargetConfig(name="local", type="local", max_concurrent_runs=1)
# ComputeTargetConfig.options key: seconds between SIGTERM and SIGKILL when a run stops.
CANCEL_GRACE_OPTION = "cancel_grace_seconds"


def all_targets(config: WorkspaceConfig) -> dict[str, ComputeTargetConfig]:
    """Every target of the workspace by name, ``local`` included."""
    return {DEFAULT_LOCAL_TARGET.name: DEFAULT_LOCAL_TARGET, **config.compute_targets}


def find_target(config: WorkspaceConfig, name: str) -> ComputeTargetConfig | None:
    """The named target, or None when the workspace has none of that name."""
    return all_targets(config).get(name)


def cancel_grace_s(target: ComputeTargetConfig | None) -> float:
    """How long a stopped script of ``target`` may take to exit after SIGTERM before
    it is SIGKILLed: the target's ``cancel_grace_seconds`` option, else CANCEL_GRACE_S."""
    value = target.options.get(CANCEL_GRACE_OPTION) if target is not None else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return CANCEL_GRACE_S
