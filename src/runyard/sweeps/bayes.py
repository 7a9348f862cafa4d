"""Bayesian sampling through Optuna's samplers (TPE by default): ask/tell in memory.

Optuna keeps no storage here: each proposal builds an in-memory study from the sweep's
trials as the store has them (finished ones with their best primary metric, ones a
policy stopped as pruned, failed ones as failed, running ones as running so that
parallel trials spread out) and asks it once. Optuna is the optional ``sweeps`` extra,
imported only by this module and :mod:`runyard.sweeps.pruners`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.entities import RunStatus
from runyard.errors import ValidationError
from runyard.sweeps.spec import SweepSpec
from runyard.sweeps.trials import Trial

SAMPLERS = ("tpe", "random", "qmc", "gp", "cmaes")


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ValidationError(
            "Bayesian sampling and Optuna pruners need Optuna: pip install 'runyard[sweeps]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(space: Mapping[str, Any]) -> dict[str, Any]:
    """Optuna distributions for a space; normal-family expressions have none."""
    optuna = import_optuna()
    dist = optuna.distributions
    out: dict[str, Any] = {}
    for name, (kind, args) in space.items():
        if kind == "choice":
            out[name] = dist.CategoricalDistribution(list(args[0]))
        elif kind == "randint":
            out[name] = dist.IntDistribution(0, int(args[0]) - 1)
        elif kind in ("uniform", "quniform"):
            out[name] = dist.FloatDistribution(float(args[0]), float(args[1]))
        elif kind in ("loguniform", "qloguniform"):
            out[name] = dist.FloatDistribution(math.exp(args[0]), math.exp(args[1]), log=True)
        else:
            raise ValidationError(
                f"parameter {name!r}: BayesianParameterSampling supports choice, randint, "
                f"uniform, quniform, loguniform and qloguniform, not {kind}"
            )
    return out


class BayesianSampler:
    """Trial ``index`` is asked of a study rebuilt from ``history`` (and ``warm``)."""

    def __init__(self, spec: SweepSpec, warm: Sequence[Trial] = ()) -> None:
        self.spec = spec
        self.warm = list(warm)
        self.dists = distributions(spec.space)
        options = dict(spec.sampler_options)
        self.kind = str(options.pop("sampler", "tpe"))
        if self.kind not in SAMPLERS:
            raise ValidationError(f"unknown Optuna sampler {self.kind!r}; one of {SAMPLERS}")
        self.options = options

    def _sampler(self, seed: int) -> Any:
        samplers = import_optuna().samplers
        make = {
            "tpe": samplers.TPESampler,
            "random": samplers.RandomSampler,
            "qmc": samplers.QMCSampler,
            "gp": samplers.GPSampler,
            "cmaes": samplers.CmaEsSampler,
        }[self.kind]
        return make(seed=seed, **self.options)

    def propose(self, index: int, history: Sequence[Trial]) -> dict[str, Any] | None:
        optuna = import_optuna()
        study = optuna.create_study(
            direction="maximize" if self.spec.maximize else "minimize",
            sampler=self._sampler(self.spec.seed * 1_000_003 + index),
        )
        for trial in [*self.warm, *history]:
            frozen = self._frozen(optuna, trial)
            if frozen is not None:
                study.add_trial(frozen)
        asked = study.ask(self.dists)
        return {name: self._value(name, asked.params[name]) for name in self.dists}

    def _value(self, name: str, value: Any) -> Any:
        kind, args = self.spec.space[name]
        if kind in ("quniform", "qloguniform"):
            return round(value / args[2]) * args[2]
        return value

    def _frozen(self, optuna: Any, trial: Trial) -> Any:
        params = {}
        for name, dist in self.dists.items():
            value = trial.params.get(name)
            if isinstance(dist, optuna.distributions.FloatDistribution) and value is not None:
                value = min(max(float(value), dist.low), dist.high)  # q-rounded past a bound
            try:
                if value is None or not dist._contains(dist.to_internal_repr(value)):
                    return None  # a trial of another space (resume_from a different sweep)
            except (ValueError, TypeError):
                return None
            params[name] = value
        state = optuna.trial.TrialState
        best = trial.best(self.spec.maximize)
        common: dict[str, Any] = {"params": params, "distributions": self.dists}
        if not trial.finished:
            return optuna.trial.create_trial(state=state.RUNNING, **common)
        if trial.status is RunStatus.COMPLETED and best is not None:
            return optuna.trial.create_trial(value=best, **common)
        if trial.status is RunStatus.CANCELED and best is not None:
            return optuna.trial.create_trial(
                state=state.PRUNED, intermediate_values={trial.count: best}, **common
            )
        return optuna.trial.create_trial(state=state.FAIL, **common)
