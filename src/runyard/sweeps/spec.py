"""A sweep's configuration as it is kept in the parent run's definition (``"sweep"``),
and the names of the tags and properties the controller writes on runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from runyard.errors import ValidationError
from runyard.sweeps.space import check_space

# On each trial (child run): which trial it is and what it was given (properties, set
# once at creation), and why it ended (tags, written by the controller only).
PROP_TRIAL = "sweep.trial"
PROP_PARAMS = "sweep.parameters"
PROP_RESUMED_FROM = "sweep.resumed_from"
TAG_END_REASON = "sweep.end_reason"
TAG_STOPPED_AT = "sweep.stopped_at_interval"
TAG_NO_METRIC = "sweep.no_primary_metric"
# On the sweep (parent run).
TAG_ENDED_BECAUSE = "sweep.ended_because"
TAG_BEST_RUN = "sweep.best_run_id"
TAG_CONTROLLER_STARTS = "sweep.controller_starts"

SAMPLINGS = ("random", "grid", "bayesian")
POLICIES = ("none", "bandit", "median", "truncation", "optuna")
GOALS = ("maximize", "minimize")


@dataclass(frozen=True)
class SweepSpec:
    """What the controller needs; JSON in the parent's ``definition["sweep"]``."""

    sampling: str  # one of SAMPLINGS
    space: Mapping[str, Any]
    primary_metric: str
    goal: str  # "maximize" or "minimize"
    max_total_runs: int
    max_concurrent_runs: int
    max_duration_minutes: float | None = None
    max_consecutive_failures: int = 5
    seed: int = 0
    sampler_options: Mapping[str, Any] = field(default_factory=dict)
    policy: Mapping[str, Any] = field(default_factory=lambda: {"kind": "none"})
    resume_from: tuple[str, ...] = ()  # earlier sweeps whose trials warm the sampler
    resume_child_runs: tuple[str, ...] = ()  # trials whose parameters run again first

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise ValidationError(f"unknown sampling {self.sampling!r}; one of {SAMPLINGS}")
        if self.goal not in GOALS:
            raise ValidationError(
                f"primary_metric_goal must be MAXIMIZE or MINIMIZE, not {self.goal!r}"
            )
        if not isinstance(self.primary_metric, str) or not self.primary_metric:
            raise ValidationError("primary_metric_name must be a non-empty string")
        for name in ("max_total_runs", "max_concurrent_runs", "max_consecutive_failures"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValidationError(f"{name} must be an integer >= 1, not {value!r}")
        if self.max_duration_minutes is not None and not self.max_duration_minutes > 0:
            raise ValidationError(
                f"max_duration_minutes must be > 0, not {self.max_duration_minutes!r}"
            )
        if self.policy.get("kind") not in POLICIES:
            raise ValidationError(f"unknown policy {self.policy.get('kind')!r}")
        check_space(self.space)

    @property
    def maximize(self) -> bool:
        return self.goal == "maximize"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["resume_from"] = list(self.resume_from)
        out["resume_child_runs"] = list(self.resume_child_runs)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["resume_from"] = tuple(known.get("resume_from", ()))
        known["resume_child_runs"] = tuple(known.get("resume_child_runs", ()))
        return cls(**known)
