"""``azureml.train.hyperdrive.runconfig``: ``HyperDriveConfig`` and ``PrimaryMetricGoal``."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runyard.errors import ValidationError
from runyard.sweeps.spec import SweepSpec
from runyard.train.hyperdrive.policy import EarlyTerminationPolicy
from runyard.train.hyperdrive.sampling import GridParameterSampling, HyperParameterSampling

if TYPE_CHECKING:
    from runyard.core.experiment import Experiment
    from runyard.core.script_run_config import ScriptRunConfig
    from runyard.train.hyperdrive.run import HyperDriveRun


class PrimaryMetricGoal(str, enum.Enum):
    """Whether the primary metric is to be maximized or minimized."""

    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"


def _ids(runs: Any) -> tuple[str, ...]:
    if runs is None:
        return ()
    items = runs if isinstance(runs, list | tuple) else [runs]
    return tuple(r if isinstance(r, str) else r.id for r in items)


class HyperDriveConfig:
    """A sweep: ``run_config`` (a ScriptRunConfig) run once per trial with sampled
    arguments, at most ``max_concurrent_runs`` at once, ``max_total_runs`` in all.
    ``experiment.submit(config)`` returns a :class:`HyperDriveRun`.

    Beyond the SDK: ``max_consecutive_failures`` (default 5) trials failing in a row
    stop the sweep with that reason; a failing trial alone does not."""

    def __init__(
        self,
        hyperparameter_sampling: HyperParameterSampling,
        primary_metric_name: str,
        primary_metric_goal: PrimaryMetricGoal | str,
        max_total_runs: int | None = None,
        max_concurrent_runs: int | None = None,
        max_duration_minutes: float | None = 10080,
        policy: EarlyTerminationPolicy | None = None,
        estimator: Any = None,
        run_config: ScriptRunConfig | None = None,
        resume_from: Any = None,
        resume_child_runs: Any = None,
        pipeline: Any = None,
        debug_flag: Any = None,
        custom_run_id: str | None = None,
        *,
        max_consecutive_failures: int = 5,
    ) -> None:
        if estimator is not None or pipeline is not None:
            raise ValidationError(
                "HyperDriveConfig takes run_config=ScriptRunConfig(...); estimators and "
                "pipelines are not supported"
            )
        if run_config is None:
            raise ValidationError("HyperDriveConfig needs run_config=ScriptRunConfig(...)")
        if not isinstance(hyperparameter_sampling, HyperParameterSampling):
            raise ValidationError(
                "hyperparameter_sampling must be a RandomParameterSampling, "
                "GridParameterSampling or BayesianParameterSampling"
            )
        goal = PrimaryMetricGoal(
            str(getattr(primary_metric_goal, "value", primary_metric_goal)).upper()
        )
        if max_total_runs is None:
            if not isinstance(hyperparameter_sampling, GridParameterSampling):
                raise ValidationError("max_total_runs is required (except with a grid)")
            from runyard.sweeps.space import grid

            max_total_runs = len(grid(hyperparameter_sampling.parameter_space))
        self.run_config = run_config
        self.hyperparameter_sampling = hyperparameter_sampling
        self.policy = policy
        self.primary_metric_name = primary_metric_name
        self.primary_metric_goal = goal
        self.max_total_runs = max_total_runs
        self.max_concurrent_runs = max_concurrent_runs or max_total_runs
        self.max_duration_minutes = max_duration_minutes
        self.resume_from = _ids(resume_from)
        self.resume_child_runs = _ids(resume_child_runs)
        self.custom_run_id = custom_run_id
        self.spec = SweepSpec(
            sampling=hyperparameter_sampling.sampling,
            space=hyperparameter_sampling.parameter_space,
            primary_metric=primary_metric_name,
            goal=goal.value.lower(),
            max_total_runs=max_total_runs,
            max_concurrent_runs=self.max_concurrent_runs,
            max_duration_minutes=max_duration_minutes,
            max_consecutive_failures=max_consecutive_failures,
            seed=hyperparameter_sampling.seed,
            sampler_options=hyperparameter_sampling.sampler_options,
            policy=policy.to_dict() if policy is not None else {"kind": "none"},
            resume_from=self.resume_from,
            resume_child_runs=self.resume_child_runs,
        )

    def _submit_to(self, experiment: Experiment, tags: Mapping[str, str] | None) -> HyperDriveRun:
        """What ``experiment.submit(self)`` does: one snapshot for every trial, the sweep
        run, and its controller started."""
        return submit_sweep(experiment, self, tags)

    def __repr__(self) -> str:
        return (
            f"HyperDriveConfig({self.hyperparameter_sampling.sampling}, "
            f"{self.primary_metric_goal.value} {self.primary_metric_name!r}, "
            f"max_total_runs={self.max_total_runs}, max_concurrent_runs={self.max_concurrent_runs})"
        )


def submit_sweep(
    experiment: Experiment, config: HyperDriveConfig, tags: Mapping[str, str] | None = None
) -> HyperDriveRun:
    from runyard.core.submit import prepare
    from runyard.sweeps.submit import create_sweep
    from runyard.targets import get_dispatcher
    from runyard.train.hyperdrive.run import HyperDriveRun

    ws = experiment.workspace
    target, definition = prepare(experiment, config.run_config)
    get_dispatcher(target).check_submission(ws.config_path, target, definition, experiment.id)
    info = create_sweep(
        ws.store,
        ws.config_path,
        experiment.id,
        target,
        definition,
        config.spec,
        tags=tags,
        display_name=config.custom_run_id or "",
    )
    return HyperDriveRun(ws.store, info, workspace=ws)


__all__: Sequence[str] = ["HyperDriveConfig", "PrimaryMetricGoal"]
