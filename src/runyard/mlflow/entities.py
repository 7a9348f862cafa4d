"""Runyard's records as MLflow's entities, and MLflow's statuses as Runyard's.

A Runyard run is an MLflow run with: its display name as ``run_name``, its tags as
tags (``mlflow.runName`` and ``mlflow.parentRunId`` given too, as MLflow's stores do),
its properties as params (both are set once and never change), and each metric's last
value as the run's metric. Times are milliseconds, as MLflow keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlflow.entities import Experiment as MlflowExperiment
from mlflow.entities import ExperimentTag, LifecycleStage, Metric, Param, RunData, RunTag
from mlflow.entities import Run as MlflowRun
from mlflow.entities import RunInfo as MlflowRunInfo
from mlflow.entities import RunStatus as MlflowStatus
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME, MLFLOW_USER

from runyard.entities import Experiment, MetricSummary, RunInfo, RunStatus
from runyard.workspace.mlflow_uri import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    artifact_uri,
)

# Tags MLflow sets that Runyard keeps in a field of its own.
FIELD_TAGS = frozenset({MLFLOW_RUN_NAME, MLFLOW_PARENT_RUN_ID})

_STATUS = {
    RunStatus.NOT_STARTED: "SCHEDULED",
    RunStatus.QUEUED: "SCHEDULED",
    RunStatus.PREPARING: "SCHEDULED",
    RunStatus.STARTING: "SCHEDULED",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.FINALIZING: "RUNNING",
    RunStatus.COMPLETED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELED: "KILLED",
}


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _stage(deleted_at: float | None) -> str:
    return LifecycleStage.ACTIVE if deleted_at is None else LifecycleStage.DELETED


def mlflow_status(status: RunStatus) -> str:
    """MLflow's name for a Runyard status (Queued and Preparing are SCHEDULED)."""
    return _STATUS[status]


def terminal_status(status: str | int) -> RunStatus | None:
    """The Runyard status an MLflow status ends a run with; None for RUNNING/SCHEDULED."""
    name = MlflowStatus.to_string(status) if isinstance(status, int) else status
    return {
        "FINISHED": RunStatus.COMPLETED,
        "FAILED": RunStatus.FAILED,
        "KILLED": RunStatus.CANCELED,
    }.get(name)


def experiment(
    entity: Experiment, artifact_root: str, *, default: bool = False
) -> MlflowExperiment:
    """An MLflow experiment (its artifact location: the folder of the workspace's run
    files); ``default``: the workspace's "Default", MLflow's id 0."""
    return MlflowExperiment(
        experiment_id=DEFAULT_EXPERIMENT_ID if default else entity.experiment_id,
        name=DEFAULT_EXPERIMENT_NAME if default else entity.name,
        artifact_location=artifact_root,
        lifecycle_stage=_stage(entity.deleted_at),
        tags=[ExperimentTag(key, value) for key, value in sorted(entity.tags.items())],
        creation_time=ms(entity.created_at),
        # A delete is its last update (mlflow gc --older-than reads it so).
        last_update_time=ms(entity.deleted_at or entity.created_at),
    )


def run_info(
    info: RunInfo, default_experiment: str | None = None, *, in_deleted: bool = False
) -> MlflowRunInfo:
    """MLflow's run info; a run of ``default_experiment`` (the id of the workspace's
    "Default") is in MLflow's experiment 0. ``in_deleted``: its experiment is deleted,
    which deletes its runs for MLflow (as MLflow's own stores mark them)."""
    default = default_experiment is not None and info.experiment_id == default_experiment
    return MlflowRunInfo(
        run_id=info.run_id,
        experiment_id=DEFAULT_EXPERIMENT_ID if default else info.experiment_id,
        user_id=info.tags.get(MLFLOW_USER, ""),
        status=mlflow_status(info.status),
        start_time=ms(info.started_at or info.created_at) or 0,
        end_time=ms(info.ended_at),
        lifecycle_stage=LifecycleStage.DELETED if in_deleted else _stage(info.deleted_at),
        artifact_uri=artifact_uri(info.run_id),
        run_name=info.display_name or info.run_id,
    )


def metric_value(value: Any) -> float | None:
    """A Runyard metric value as MLflow's float; None for a string (MLflow has none)."""
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def run(
    info: RunInfo,
    summaries: Mapping[str, MetricSummary],
    default_experiment: str | None = None,
    *,
    in_deleted: bool = False,
) -> MlflowRun:
    """An MLflow run: the last value of each numeric metric, params and tags."""
    stamp = ms(info.ended_at or info.started_at or info.created_at) or 0
    metrics = []
    for key, summary in sorted(summaries.items()):
        value = None if summary.last is None else metric_value(summary.last)
        if value is not None:
            metrics.append(Metric(key, value, stamp, max(summary.last_step, 0)))
    tags = [RunTag(k, v) for k, v in sorted(info.tags.items()) if k not in FIELD_TAGS]
    tags.append(RunTag(MLFLOW_RUN_NAME, info.display_name or info.run_id))
    if info.parent_run_id:
        tags.append(RunTag(MLFLOW_PARENT_RUN_ID, info.parent_run_id))
    params = [Param(k, v) for k, v in sorted(info.properties.items())]
    return MlflowRun(
        run_info(info, default_experiment, in_deleted=in_deleted),
        RunData(metrics=metrics, params=params, tags=tags),
    )


def history_metric(key: str, value: Any, timestamp: float, step: int) -> Metric | None:
    number = metric_value(value)
    return None if number is None else Metric(key, number, ms(timestamp) or 0, step)
