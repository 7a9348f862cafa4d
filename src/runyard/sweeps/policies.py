"""Early-termination policies: HyperDrive's Bandit, median stopping and truncation
selection, as pure rules over the trials' learning curves.

A curve maps an *interval* (the how-many-th value of the primary metric a trial has
logged: the summary's count) to the value logged then. The controller builds the curves
from the summaries it reads at each poll; an interval it did not see between two polls
takes the value seen before it. A rule is applied to a trial at each interval ``i``
with ``i >= max(delay_evaluation, 1)`` and ``i % evaluation_interval == 0``, once.

Semantics (those of the SDK's documentation):

- **Bandit**: the reference is the best value any trial reached up to interval ``i``;
  the trial stops when its own best up to ``i`` is outside the slack: for MAXIMIZE,
  below ``ref / (1 + slack_factor)`` or ``ref - slack_amount``; for MINIMIZE, above
  ``ref * (1 + slack_factor)`` or ``ref + slack_amount``.
- **Median stopping**: the trial stops when its best up to ``i`` is worse than the
  median of the other trials' running averages up to ``i`` (trials that reached ``i``).
- **Truncation selection**: of the trials that reached ``i`` (finished ones too unless
  ``exclude_finished_jobs``), ranked by their value at ``i``, the worst
  ``floor(n * truncation_percentage / 100)`` stop, if this trial is one of them.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runyard.errors import ValidationError

Curve = Mapping[int, float]


def value_at(curve: Curve, interval: int) -> float | None:
    """The value logged at ``interval``, or the last one before it; None if the curve
    has not reached ``interval``."""
    if not curve or max(curve) < interval:
        return None
    return curve[max(k for k in curve if k <= interval)] if min(curve) <= interval else None


def best_up_to(curve: Curve, interval: int, maximize: bool) -> float | None:
    values = [v for k, v in curve.items() if k <= interval]
    if not values:
        return None
    return max(values) if maximize else min(values)


def _worse(a: float, b: float, maximize: bool) -> bool:
    return a < b if maximize else a > b


@dataclass(frozen=True)
class Policy:
    """A rule with its schedule. ``kind``: "none", "bandit", "median", "truncation"."""

    kind: str = "none"
    evaluation_interval: int = 1
    delay_evaluation: int = 0
    slack_factor: float | None = None
    slack_amount: float | None = None
    truncation_percentage: int = 0
    exclude_finished_jobs: bool = False

    def __post_init__(self) -> None:
        if self.evaluation_interval < 1 or self.delay_evaluation < 0:
            raise ValidationError("evaluation_interval must be >= 1 and delay_evaluation >= 0")
        if self.kind == "bandit" and (self.slack_factor is None) == (self.slack_amount is None):
            raise ValidationError("BanditPolicy takes exactly one of slack_factor or slack_amount")
        if self.kind == "truncation" and not 1 <= self.truncation_percentage <= 99:
            raise ValidationError("truncation_percentage must be between 1 and 99")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def due(self, interval: int) -> bool:
        """Whether the rule is applied at ``interval``."""
        if self.kind == "none":
            return False
        return (
            interval >= max(self.delay_evaluation, 1) and interval % self.evaluation_interval == 0
        )

    def decide(
        self,
        run_id: str,
        interval: int,
        curves: Mapping[str, Curve],
        finished: frozenset[str] = frozenset(),
        *,
        maximize: bool,
    ) -> str | None:
        """Why ``run_id`` should stop at ``interval`` (a sentence), or None."""
        mine = curves.get(run_id, {})
        if self.kind == "bandit":
            return self._bandit(mine, interval, curves, maximize)
        if self.kind == "median":
            return self._median(run_id, mine, interval, curves, maximize)
        if self.kind == "truncation":
            return self._truncation(run_id, interval, curves, finished, maximize)
        return None

    def _bandit(
        self, mine: Curve, interval: int, curves: Mapping[str, Curve], maximize: bool
    ) -> str | None:
        own = best_up_to(mine, interval, maximize)
        bests = [b for c in curves.values() if (b := best_up_to(c, interval, maximize)) is not None]
        if own is None or not bests:
            return None
        ref = max(bests) if maximize else min(bests)
        if self.slack_factor is not None:
            limit = ref / (1 + self.slack_factor) if maximize else ref * (1 + self.slack_factor)
            slack = f"slack_factor {self.slack_factor}"
        else:
            amount = self.slack_amount or 0.0
            limit = ref - amount if maximize else ref + amount
            slack = f"slack_amount {amount}"
        if _worse(own, limit, maximize):
            return (
                f"BanditPolicy at interval {interval}: best {own:.6g} is "
                f"{'below' if maximize else 'above'} {limit:.6g} (best of all trials "
                f"{ref:.6g}, {slack})"
            )
        return None

    def _median(
        self, run_id: str, mine: Curve, interval: int, curves: Mapping[str, Curve], maximize: bool
    ) -> str | None:
        own = best_up_to(mine, interval, maximize)
        averages = [
            statistics.fmean(v for k, v in c.items() if k <= interval)
            for other, c in curves.items()
            if other != run_id and value_at(c, interval) is not None
        ]
        if own is None or not averages:
            return None
        median = statistics.median(averages)
        if _worse(own, median, maximize):
            return (
                f"MedianStoppingPolicy at interval {interval}: best {own:.6g} is worse than "
                f"the median {median:.6g} of {len(averages)} other trials' running averages"
            )
        return None

    def _truncation(
        self,
        run_id: str,
        interval: int,
        curves: Mapping[str, Curve],
        finished: frozenset[str],
        maximize: bool,
    ) -> str | None:
        pool = {
            rid: v
            for rid, c in curves.items()
            if (v := value_at(c, interval)) is not None
            and (rid == run_id or not (self.exclude_finished_jobs and rid in finished))
        }
        cut = len(pool) * self.truncation_percentage // 100
        if run_id not in pool or cut == 0:
            return None
        # Worst first; ties keep the trial that got there first (dict order) ahead.
        ranked = sorted(pool, key=lambda rid: pool[rid], reverse=not maximize)
        rank = ranked.index(run_id)
        if rank < cut:
            return (
                f"TruncationSelectionPolicy at interval {interval}: value {pool[run_id]:.6g} "
                f"ranks {rank + 1} of {len(pool)} from the worst; the worst "
                f"{self.truncation_percentage}% ({cut}) stop"
            )
        return None
