"""Applying a policy as the trials' summaries grow: the curves, the schedule, and
Optuna's pruners (median, percentile, successive halving / ASHA, Hyperband).

The controller hands every trial it reads to :meth:`Terminator.observe` at each poll;
the terminator returns why the trial should stop (a sentence) or None. Only the
summary (count, last) is read, never the points. A controller that restarts starts its
curves from the summaries as they are then (the intervals before are not re-judged).
"""

from __future__ import annotations

from typing import Any, Protocol

from runyard.entities import RunStatus
from runyard.errors import ValidationError
from runyard.sweeps.policies import Policy
from runyard.sweeps.spec import SweepSpec
from runyard.sweeps.trials import Trial

_NEVER = 2**62
PRUNERS = ("median", "percentile", "successive_halving", "asha", "hyperband")


class Terminator(Protocol):
    def adopt(self, trial: Trial) -> None:
        """A trial found at start-up (a resumed controller): judged from now on."""
        ...

    def observe(self, trial: Trial) -> str | None:
        """Why ``trial`` should stop now, or None."""
        ...


def make_terminator(spec: SweepSpec) -> Terminator:
    data = dict(spec.policy)
    if data.get("kind") == "optuna":
        return PrunerTerminator(spec, str(data.get("pruner", "median")), data.get("options", {}))
    return CurveTerminator(Policy.from_dict(data), spec.maximize)


class CurveTerminator:
    """HyperDrive's policies (:class:`~runyard.sweeps.policies.Policy`) over curves."""

    def __init__(self, policy: Policy, maximize: bool) -> None:
        self.policy = policy
        self.maximize = maximize
        self.curves: dict[str, dict[int, float]] = {}
        self.judged: dict[str, int] = {}  # run id -> last interval the rule looked at
        self.finished: set[str] = set()

    def adopt(self, trial: Trial) -> None:
        if trial.last is not None and trial.count:
            self.curves[trial.run_id] = {trial.count: trial.last}
        self.judged[trial.run_id] = trial.count

    def observe(self, trial: Trial) -> str | None:
        rid, count, last = trial.run_id, trial.count, trial.last
        curve = self.curves.setdefault(rid, {})
        if last is not None and count > max(curve, default=0):
            curve[count] = last
        if trial.finished:
            self.finished.add(rid)
            return None
        for interval in range(self.judged.get(rid, 0) + 1, count + 1):
            self.judged[rid] = interval
            if self.policy.due(interval):
                reason = self.policy.decide(
                    rid, interval, self.curves, frozenset(self.finished), maximize=self.maximize
                )
                if reason is not None:
                    self.judged[rid] = _NEVER  # stopped once: never judged again
                    return reason
        return None


class PrunerTerminator:
    """One in-memory Optuna study whose trials mirror ours: each value is reported at
    its interval (intervals skipped between two polls get the value seen before) and the
    pruner is asked after each report."""

    def __init__(self, spec: SweepSpec, pruner: str, options: Any) -> None:
        from runyard.sweeps.bayes import import_optuna

        optuna = import_optuna()
        if pruner not in PRUNERS:
            raise ValidationError(f"unknown Optuna pruner {pruner!r}; one of {PRUNERS}")
        make = {
            "median": optuna.pruners.MedianPruner,
            "percentile": optuna.pruners.PercentilePruner,
            "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
            "asha": optuna.pruners.SuccessiveHalvingPruner,
            "hyperband": optuna.pruners.HyperbandPruner,
        }[pruner]
        try:
            made = make(**dict(options or {}))
        except TypeError as exc:
            raise ValidationError(f"Optuna pruner {pruner!r}: {exc}") from None
        self.name = type(made).__name__
        self.maximize = spec.maximize
        self.study = optuna.create_study(
            direction="maximize" if spec.maximize else "minimize", pruner=made
        )
        self.trials: dict[str, Any] = {}
        self.reported: dict[str, tuple[int, float]] = {}
        self.told: set[str] = set()
        self.pruned: set[str] = set()

    def adopt(self, trial: Trial) -> None:
        self.trials[trial.run_id] = self.study.ask()
        if trial.count and trial.last is not None:
            self.trials[trial.run_id].report(trial.last, trial.count)
            self.reported[trial.run_id] = (trial.count, trial.last)
        if trial.finished:
            self._tell(trial)

    def observe(self, trial: Trial) -> str | None:
        rid, count, last = trial.run_id, trial.count, trial.last
        if rid in self.told:
            return None
        if rid not in self.trials:
            self.trials[rid] = self.study.ask()
        if rid in self.pruned:  # stopped already: only its end is told
            if trial.finished:
                self._tell(trial)
            return None
        optuna_trial = self.trials[rid]
        step, previous = self.reported.get(rid, (0, None))
        reason = None
        if last is not None and count > step:
            for interval in range(step + 1, count):
                if previous is not None:
                    optuna_trial.report(previous, interval)
            optuna_trial.report(last, count)
            self.reported[rid] = (count, last)
            if not trial.finished and optuna_trial.should_prune():
                reason = f"{self.name} pruned the trial at interval {count} (value {last:.6g})"
                self.pruned.add(rid)
        if trial.finished:
            self._tell(trial)
        return reason

    def _tell(self, trial: Trial) -> None:
        state = __import__("optuna").trial.TrialState
        best = trial.best(self.maximize)
        tried = self.trials[trial.run_id]
        if trial.status is RunStatus.COMPLETED and best is not None:
            self.study.tell(tried, best)
        elif trial.status is RunStatus.CANCELED and trial.run_id in self.reported:
            self.study.tell(tried, state=state.PRUNED)
        else:
            self.study.tell(tried, state=state.FAIL)
        self.told.add(trial.run_id)
