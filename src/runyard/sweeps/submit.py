"""Creating a sweep: the parent run (kind ``sweep``, Running from the start, its config
in ``definition["sweep"]`` and its trials' common definition in ``definition["trial"]``)
and its controller."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runyard.entities import ComputeTargetConfig, RunInfo, RunKind, RunStatus
from runyard.store.base import Store
from runyard.sweeps.launch import start_controller
from runyard.sweeps.samplers import make_sampler
from runyard.sweeps.spec import SweepSpec
from runyard.sweeps.termination import make_terminator


def create_sweep(
    store: Store,
    config_path: Path,
    experiment_id: str,
    target: ComputeTargetConfig,
    trial_definition: Mapping[str, Any],
    spec: SweepSpec,
    *,
    tags: Mapping[str, str] | None = None,
    display_name: str = "",
) -> RunInfo:
    """Stores the sweep and starts its controller. The sampler and the policy are built
    once first, so a bad space or policy is an error now, not in a detached process."""
    make_sampler(spec)
    make_terminator(spec)
    for sweep_id in spec.resume_from:
        store.get_run(sweep_id)  # RunNotFoundError now rather than in the controller
    info = store.create_run(
        experiment_id,
        kind=RunKind.SWEEP,
        status=RunStatus.RUNNING,
        compute_target=target.name,
        display_name=display_name,
        tags=dict(tags or {}),
        properties={
            "sweep.primary_metric": spec.primary_metric,
            "sweep.goal": spec.goal,
            "sweep.sampling": spec.sampling,
        },
        definition={"sweep": spec.to_dict(), "trial": dict(trial_definition)},
    )
    start_controller(config_path, info.run_id)
    return info
