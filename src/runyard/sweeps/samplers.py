"""Samplers: the parameters of trial number ``index``, given the trials so far.

Each sampler is a function of the store's history, not of in-memory state: random
sampling draws trial ``index`` from a generator seeded with ``(seed, index)``, grid
sampling takes the ``index``-th combination, and Bayesian sampling (Optuna's TPE, in
:mod:`runyard.sweeps.bayes`) rebuilds its study from the finished trials each time. So
a controller that restarts proposes exactly what the dead one would have.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from runyard.sweeps.space import check_space, draw, grid
from runyard.sweeps.spec import SweepSpec
from runyard.sweeps.trials import Trial


class Sampler(Protocol):
    def propose(self, index: int, history: Sequence[Trial]) -> dict[str, Any] | None:
        """Trial ``index``'s parameters; None when the space is exhausted."""
        ...


class RandomSampler:
    def __init__(self, space: Mapping[str, Any], seed: int) -> None:
        self.space = check_space(space)
        self.seed = seed

    def propose(self, index: int, history: Sequence[Trial]) -> dict[str, Any] | None:
        rng = random.Random(f"{self.seed}:{index}")
        return {name: draw(expr, rng) for name, expr in self.space.items()}


class GridSampler:
    def __init__(self, space: Mapping[str, Any]) -> None:
        self.points = grid(check_space(space))

    def propose(self, index: int, history: Sequence[Trial]) -> dict[str, Any] | None:
        return dict(self.points[index]) if index < len(self.points) else None


def make_sampler(spec: SweepSpec, warm: Sequence[Trial] = ()) -> Sampler:
    """The sampler ``spec`` names; ``warm``: trials of earlier sweeps (``resume_from``)."""
    if spec.sampling == "grid":
        return GridSampler(spec.space)
    if spec.sampling == "bayesian":
        from runyard.sweeps.bayes import BayesianSampler

        return BayesianSampler(spec, warm)
    return RandomSampler(spec.space, spec.seed)


def planned_total(spec: SweepSpec) -> int:
    """How many trials the sweep runs: ``max_total_runs``, or fewer for a small grid."""
    if spec.sampling == "grid":
        return min(spec.max_total_runs, len(grid(check_space(spec.space))))
    return spec.max_total_runs
