"""``azureml.train.hyperdrive.policy``: early termination of poorly performing trials.

Each policy is applied by the sweep's controller to the primary metric summaries as
trials log; see :mod:`runyard.sweeps.policies` for the exact rules."""

from __future__ import annotations

from typing import Any

from runyard.sweeps.policies import Policy


class EarlyTerminationPolicy:
    """The base class; ``to_dict()`` is what the sweep stores."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        if settings.get("kind") != "optuna":
            Policy.from_dict(settings)  # bad settings are refused here, not in the controller

    @property
    def evaluation_interval(self) -> int:
        return int(self._settings.get("evaluation_interval", 1))

    @property
    def delay_evaluation(self) -> int:
        return int(self._settings.get("delay_evaluation", 0))

    def to_dict(self) -> dict[str, Any]:
        return dict(self._settings)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._settings.items() if k != "kind")
        return f"{type(self).__name__}({args})"


class BanditPolicy(EarlyTerminationPolicy):
    """Stops a trial whose best primary metric is not within ``slack_factor`` (a ratio)
    or ``slack_amount`` (an absolute difference) of the best trial's."""

    def __init__(
        self,
        evaluation_interval: int = 1,
        slack_factor: float | None = None,
        slack_amount: float | None = None,
        delay_evaluation: int = 0,
    ) -> None:
        super().__init__(
            kind="bandit",
            evaluation_interval=evaluation_interval,
            slack_factor=slack_factor,
            slack_amount=slack_amount,
            delay_evaluation=delay_evaluation,
        )

    @property
    def slack_factor(self) -> float | None:
        return self._settings["slack_factor"]  # type: ignore[no-any-return]

    @property
    def slack_amount(self) -> float | None:
        return self._settings["slack_amount"]  # type: ignore[no-any-return]


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Stops a trial whose best primary metric is worse than the median of the other
    trials' running averages."""

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 5) -> None:
        super().__init__(
            kind="median",
            evaluation_interval=evaluation_interval,
            delay_evaluation=delay_evaluation,
        )


class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """At each evaluation, stops the worst ``truncation_percentage`` percent of trials."""

    def __init__(
        self,
        truncation_percentage: int,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
        exclude_finished_jobs: bool = False,
    ) -> None:
        super().__init__(
            kind="truncation",
            truncation_percentage=truncation_percentage,
            evaluation_interval=evaluation_interval,
            delay_evaluation=delay_evaluation,
            exclude_finished_jobs=exclude_finished_jobs,
        )


class NoTerminationPolicy(EarlyTerminationPolicy):
    """Every trial runs to its end."""

    def __init__(self) -> None:
        super().__init__(kind="none")


class OptunaPrunerPolicy(EarlyTerminationPolicy):
    """An Optuna pruner as the policy (beyond HyperDrive): ``"median"``,
    ``"percentile"``, ``"successive_halving"`` (or ``"asha"``) or ``"hyperband"``, with
    its keyword arguments (``OptunaPrunerPolicy("asha", min_resource=2)``). Needs
    ``pip install 'runyard[sweeps]'``."""

    def __init__(self, pruner: str = "median", **options: Any) -> None:
        from runyard.sweeps.termination import PRUNERS

        if pruner not in PRUNERS:
            from runyard.errors import ValidationError

            raise ValidationError(f"unknown Optuna pruner {pruner!r}; one of {PRUNERS}")
        super().__init__(kind="optuna", pruner=pruner, options=options)


__all__ = [
    "BanditPolicy",
    "EarlyTerminationPolicy",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "OptunaPrunerPolicy",
    "TruncationSelectionPolicy",
]
