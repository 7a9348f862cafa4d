"""What a submitted script logged through MLflow, kept in the process: the reads of a run
its journal carries, until the runner has stored it (a child it has not made yet), or
always where the run's environment has no SQLAlchemy to read the store with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mlflow.entities import Metric
from mlflow.entities import Run as MlflowRun

from runyard.entities import RunInfo, RunKind, RunStatus
from runyard.mlflow import entities as convert


@dataclass
class Logged:
    """What this process logged to a run through MLflow."""

    metrics: dict[str, list[Metric]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def point(metric: Metric) -> tuple[str, int, str, int]:
    """A metric point as a key (its value's repr, so that NaN equals NaN)."""
    return (metric.key, int(metric.step or 0), repr(float(metric.value)), int(metric.timestamp))


def journal_view(run_id: str, logged: Logged, known: RunInfo | None) -> MlflowRun:
    """The run as MLflow reads it: what this process logged, on what it knows of the run
    (a child's details; nothing but the id for the run the runner started)."""
    info = RunInfo(
        run_id=run_id,
        experiment_id=known.experiment_id if known is not None else "",
        number=0,
        kind=known.kind if known is not None else RunKind.SUBMITTED,
        status=RunStatus.RUNNING,
        created_at=known.created_at if known is not None else time.time(),
        display_name=known.display_name if known is not None else "",
        parent_run_id=known.parent_run_id if known is not None else None,
        tags=dict(logged.tags),
        properties=dict(logged.params),
    )
    mlflow_run = convert.run(info, {})
    for history in logged.metrics.values():
        mlflow_run.data._add_metric(history[-1])
    return mlflow_run
