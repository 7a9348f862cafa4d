"""Experiments on the wire."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from runyard.entities import Experiment, ExperimentStats
from runyard.wire.base import Answer, Body

__all__ = [
    "ExperimentIn",
    "ExperimentOut",
    "ExperimentStatsOut",
    "ExperimentsOut",
]


class ExperimentIn(Body):
    """``POST /api/experiments``: get or create by name."""

    name: str


class ExperimentOut(Answer):
    experiment_id: str
    name: str
    created_at: float
    deleted_at: float | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, exp: Experiment) -> ExperimentOut:
        return cls(
            experiment_id=exp.experiment_id,
            name=exp.name,
            created_at=exp.created_at,
            deleted_at=exp.deleted_at,
            tags=dict(exp.tags),
        )

    def to_entity(self) -> Experiment:
        return Experiment(
            experiment_id=self.experiment_id,
            name=self.name,
            created_at=self.created_at,
            deleted_at=self.deleted_at,
            tags=dict(self.tags),
        )


class ExperimentStatsOut(ExperimentOut):
    run_count: int
    last_run_at: float | None
    status_counts: dict[str, int]

    @classmethod
    def of_stats(cls, stats: ExperimentStats) -> ExperimentStatsOut:
        exp = stats.experiment
        return cls(
            experiment_id=exp.experiment_id,
            name=exp.name,
            created_at=exp.created_at,
            deleted_at=exp.deleted_at,
            tags=dict(exp.tags),
            run_count=stats.run_count,
            last_run_at=stats.last_run_at,
            status_counts=dict(stats.status_counts),
        )

    def to_stats(self) -> ExperimentStats:
        return ExperimentStats(
            experiment=self.to_entity(),
            run_count=self.run_count,
            last_run_at=self.last_run_at,
            status_counts=self.status_counts,
        )


class ExperimentsOut(Answer):
    """``GET /api/experiments``."""

    experiments: list[ExperimentStatsOut]

    @classmethod
    def of(cls, stats: Sequence[ExperimentStats]) -> ExperimentsOut:
        return cls(experiments=[ExperimentStatsOut.of_stats(s) for s in stats])
