"""``azureml.train.hyperdrive.sampling``: how trials' parameters are chosen."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from runyard.sweeps.space import check_space


class HyperParameterSampling:
    """A parameter space and how it is sampled (``sampling`` is the controller's name)."""

    sampling = "random"

    def __init__(
        self, parameter_space: Mapping[str, Any], properties: Mapping[str, Any] | None = None
    ) -> None:
        self._parameter_space = check_space(parameter_space)
        self._properties = dict(properties or {})
        self.seed = int(self._properties.get("rngseed", secrets.randbelow(2**31)))
        self.sampler_options: dict[str, Any] = {}

    @property
    def parameter_space(self) -> dict[str, Any]:
        return dict(self._parameter_space)

    def to_json(self) -> dict[str, Any]:
        return {"name": type(self).__name__, "parameter_space": self.parameter_space}


class RandomParameterSampling(HyperParameterSampling):
    """Each trial's parameters drawn at random; ``properties={"rngseed": N}`` (or
    ``seed=N``) makes the draws repeatable. Supports every expression."""

    sampling = "random"

    def __init__(
        self,
        parameter_space: Mapping[str, Any],
        properties: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(parameter_space, properties)
        if seed is not None:
            self.seed = int(seed)


class GridParameterSampling(HyperParameterSampling):
    """Every combination of ``choice`` values, in order; a sweep runs at most as many
    trials as the grid has points."""

    sampling = "grid"

    def __init__(
        self, parameter_space: Mapping[str, Any], properties: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(parameter_space, properties)
        from runyard.sweeps.space import grid

        grid(self._parameter_space)  # only choice(): refused now, not in the controller


class BayesianParameterSampling(HyperParameterSampling):
    """Trials proposed by an Optuna sampler (``"tpe"``, the default; ``"gp"``,
    ``"cmaes"``, ``"qmc"``, ``"random"``) from the trials so far. Needs
    ``pip install 'runyard[sweeps]'``. Unlike HyperDrive, early termination policies
    may be used with it."""

    sampling = "bayesian"

    def __init__(
        self,
        parameter_space: Mapping[str, Any],
        properties: Mapping[str, Any] | None = None,
        *,
        sampler: str = "tpe",
        seed: int | None = None,
        sampler_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(parameter_space, properties)
        if seed is not None:
            self.seed = int(seed)
        self.sampler_options = {"sampler": sampler, **dict(sampler_options or {})}
        from runyard.sweeps.bayes import distributions

        distributions(self._parameter_space)  # Optuna installed, expressions it takes


__all__ = [
    "BayesianParameterSampling",
    "GridParameterSampling",
    "HyperParameterSampling",
    "RandomParameterSampling",
]
