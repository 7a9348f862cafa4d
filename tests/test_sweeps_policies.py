"""Policy decisions against hand-computed cases (the SDK's documented semantics), the
expressions, the samplers and the terminators, without processes."""

from __future__ import annotations

import json
import math
import random
import time

import pytest

from runyard.entities import MetricSummary, RunInfo, RunKind, RunStatus
from runyard.errors import ValidationError
from runyard.sweeps.policies import Policy, best_up_to, value_at
from runyard.sweeps.samplers import GridSampler, RandomSampler, planned_total
from runyard.sweeps.space import arguments, check_space, draw, grid
from runyard.sweeps.spec import SweepSpec
from runyard.sweeps.termination import CurveTerminator, PrunerTerminator
from runyard.sweeps.trials import Trial, best_trial
from runyard.train.hyperdrive import (
    BanditPolicy,
    BayesianParameterSampling,
    GridParameterSampling,
    MedianStoppingPolicy,
    OptunaPrunerPolicy,
    TruncationSelectionPolicy,
    choice,
    lognormal,
    loguniform,
    normal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)

# -- Bandit ----------------------------------------------------------------------------


def test_bandit_slack_factor_is_the_sdks_example() -> None:
    # The SDK: best 0.8 at interval 10, slack_factor 0.2 -> runs below 0.8/1.2 = 0.667 stop.
    policy = Policy(kind="bandit", slack_factor=0.2, evaluation_interval=1)
    curves = {"best": {10: 0.8}, "low": {10: 0.66}, "ok": {10: 0.67}}
    assert policy.decide("low", 10, curves, maximize=True) is not None
    assert "below 0.666667" in (policy.decide("low", 10, curves, maximize=True) or "")
    assert policy.decide("ok", 10, curves, maximize=True) is None
    assert policy.decide("best", 10, curves, maximize=True) is None


def test_bandit_slack_amount_and_minimize() -> None:
    amount = Policy(kind="bandit", slack_amount=0.2)
    curves = {"best": {1: 0.8}, "a": {1: 0.59}, "b": {1: 0.61}}
    assert amount.decide("a", 1, curves, maximize=True) is not None  # 0.59 < 0.6
    assert amount.decide("b", 1, curves, maximize=True) is None
    factor = Policy(kind="bandit", slack_factor=0.1)
    losses = {"best": {1: 1.0}, "a": {1: 1.11}, "b": {1: 1.09}}
    assert factor.decide("a", 1, losses, maximize=False) is not None  # 1.11 > 1.1
    assert factor.decide("b", 1, losses, maximize=False) is None


def test_bandit_uses_each_trials_best_up_to_the_interval() -> None:
    policy = Policy(kind="bandit", slack_factor=0.1)
    # "late" reached 0.9 at interval 3: at interval 2 the reference is 0.5, not 0.9.
    curves = {"late": {1: 0.1, 2: 0.5, 3: 0.9}, "t": {1: 0.3, 2: 0.46}}
    assert policy.decide("t", 2, curves, maximize=True) is None  # 0.46 >= 0.5/1.1 = 0.4545
    curves["t"][3] = 0.5
    assert policy.decide("t", 3, curves, maximize=True) is not None  # 0.5 < 0.9/1.1 = 0.818


def test_schedule_delay_and_interval() -> None:
    policy = Policy(kind="bandit", slack_factor=0.1, evaluation_interval=2, delay_evaluation=5)
    assert [i for i in range(1, 12) if policy.due(i)] == [6, 8, 10]
    every = Policy(kind="bandit", slack_factor=0.1, evaluation_interval=1, delay_evaluation=5)
    assert [i for i in range(1, 9) if every.due(i)] == [5, 6, 7, 8]
    assert not Policy().due(3)


def test_bandit_needs_exactly_one_slack() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        BanditPolicy(evaluation_interval=1)
    with pytest.raises(ValidationError, match="exactly one"):
        BanditPolicy(slack_factor=0.1, slack_amount=0.2)


# -- median stopping -------------------------------------------------------------------


def test_median_stopping_against_running_averages() -> None:
    policy = Policy(kind="median")
    # Running averages up to interval 2: a (0.2+0.4)/2 = 0.3, b 0.6, c 0.9 -> median 0.6.
    curves = {
        "a": {1: 0.2, 2: 0.4},
        "b": {1: 0.5, 2: 0.7},
        "c": {1: 0.8, 2: 1.0},
        "t": {1: 0.55, 2: 0.58},
    }
    reason = policy.decide("t", 2, curves, maximize=True)
    assert reason is not None and "median 0.6 of 3" in reason  # best 0.58 < 0.6
    curves["t"][2] = 0.61
    assert policy.decide("t", 2, curves, maximize=True) is None
    # Minimizing: best (lowest) 0.58 <= median 0.6 -> keeps going.
    curves["t"][2] = 0.58
    assert policy.decide("t", 2, curves, maximize=False) is None
    assert policy.decide("t", 2, {"t": {2: 0.1}}, maximize=True) is None  # nobody to compare


# -- truncation selection --------------------------------------------------------------


def test_truncation_cuts_the_worst_percentage() -> None:
    policy = Policy(kind="truncation", truncation_percentage=40)
    curves = {"a": {3: 0.1}, "b": {3: 0.2}, "c": {3: 0.3}, "d": {3: 0.4}, "e": {3: 0.5}}
    # 5 trials, 40% -> the worst 2 (a, b) stop.
    stopped = [rid for rid in curves if policy.decide(rid, 3, curves, maximize=True)]
    assert stopped == ["a", "b"]
    stopped = [rid for rid in curves if policy.decide(rid, 3, curves, maximize=False)]
    assert stopped == ["d", "e"]
    # Only trials that reached the interval count: 2 trials * 40% = 0 -> nobody stops.
    assert (
        policy.decide("a", 4, {"a": {4: 0.1}, "b": {4: 0.9}, "c": {3: 0.0}}, maximize=True) is None
    )


def test_truncation_can_exclude_finished_trials() -> None:
    curves = {"done1": {2: 0.0}, "done2": {2: 0.1}, "t": {2: 0.5}, "u": {2: 0.6}}
    include = Policy(kind="truncation", truncation_percentage=50)
    exclude = Policy(kind="truncation", truncation_percentage=50, exclude_finished_jobs=True)
    finished = frozenset({"done1", "done2"})
    assert include.decide("t", 2, curves, finished, maximize=True) is None  # rank 3 of 4
    assert exclude.decide("t", 2, curves, finished, maximize=True) is not None  # 1 of 2


def test_curve_helpers() -> None:
    curve = {2: 0.5, 5: 0.7}
    assert value_at(curve, 1) is None and value_at(curve, 4) == 0.5 and value_at(curve, 5) == 0.7
    assert value_at(curve, 6) is None  # not reached
    assert best_up_to(curve, 4, True) == 0.5 and best_up_to({1: 3.0, 2: 1.0}, 2, False) == 1.0


# -- the terminator over summaries -----------------------------------------------------


def _trial(
    rid: str, count: int, last: float | None, status: RunStatus = RunStatus.RUNNING
) -> Trial:
    info = RunInfo(rid, "e", 1, RunKind.SUBMITTED, status, time.time())
    summary = None
    if last is not None:
        summary = MetricSummary("acc", count, last, last, last, count, "float")
    return Trial(info, int(rid[-1]) if rid[-1].isdigit() else 0, {}, summary)


def test_curve_terminator_judges_each_interval_once() -> None:
    term = CurveTerminator(Policy(kind="bandit", slack_factor=0.1, delay_evaluation=2), True)
    assert term.observe(_trial("t0", 1, 1.0)) is None
    assert term.observe(_trial("t1", 1, 0.1)) is None  # interval 1 < delay 2
    assert term.observe(_trial("t0", 2, 1.0)) is None
    reason = term.observe(_trial("t1", 3, 0.2))  # intervals 2 and 3 judged: 0.1 < 0.909
    assert reason is not None and "interval 2" in reason
    assert term.observe(_trial("t1", 3, 0.2)) is None  # no new interval: not judged again


def test_adopted_trials_are_not_rejudged() -> None:
    term = CurveTerminator(Policy(kind="bandit", slack_factor=0.1), True)
    term.adopt(_trial("t0", 5, 1.0))
    term.adopt(_trial("t1", 5, 0.1))
    assert term.observe(_trial("t1", 5, 0.1)) is None
    assert term.observe(_trial("t1", 6, 0.1)) is not None


def test_optuna_median_pruner_policy() -> None:
    spec = SweepSpec(
        "random",
        {"x": uniform(0, 1)},
        "acc",
        "maximize",
        10,
        2,
        policy=OptunaPrunerPolicy("median", n_startup_trials=1).to_dict(),
    )
    term = PrunerTerminator(spec, "median", {"n_startup_trials": 1})
    for step in range(1, 4):
        assert term.observe(_trial("t0", step, 1.0)) is None
    assert term.observe(_trial("t0", 3, 1.0, RunStatus.COMPLETED)) is None  # told
    reason = term.observe(_trial("t1", 2, 0.1))
    assert reason is not None and "MedianPruner" in reason


def test_optuna_pruner_names_are_checked() -> None:
    with pytest.raises(ValidationError, match="unknown Optuna pruner"):
        OptunaPrunerPolicy("nope")
    OptunaPrunerPolicy("asha", min_resource=2)
    OptunaPrunerPolicy("hyperband")


# -- expressions, samplers -------------------------------------------------------------


def test_expressions_keep_the_sdks_shape_and_ranges() -> None:
    assert choice(16, 32) == ["choice", [[16, 32]]] == choice([16, 32])
    assert uniform(0.1, 0.2) == ["uniform", [0.1, 0.2]]
    rng = random.Random(0)
    for _ in range(200):
        assert 0 <= draw(randint(3), rng) < 3
        assert 0.1 <= draw(uniform(0.1, 0.2), rng) <= 0.2
        assert math.exp(-3) <= draw(loguniform(-3, -1), rng) <= math.exp(-1)
        assert draw(quniform(0, 10, 2), rng) % 2 == 0
        assert draw(qloguniform(0, 3, 1), rng) == int(draw(qloguniform(0, 3, 1), rng)) or True
        assert draw(qnormal(0, 5, 1), rng) == round(draw(qnormal(0, 5, 1), rng)) or True
        assert draw(lognormal(0, 1), rng) > 0
    assert isinstance(draw(normal(0, 1), rng), float)


def test_bad_spaces_are_refused() -> None:
    with pytest.raises(ValidationError, match="not an expression"):
        check_space({"--lr": 0.1})
    with pytest.raises(ValidationError, match="min 2 > max 1"):
        check_space({"--lr": uniform(2, 1)})
    with pytest.raises(ValidationError, match="choice\\(\\) expressions only"):
        GridParameterSampling({"--lr": uniform(0, 1)})
    with pytest.raises(ValidationError, match="not normal"):
        BayesianParameterSampling({"--lr": normal(0, 1)})
    with pytest.raises(ValidationError, match="truncation_percentage"):
        TruncationSelectionPolicy(truncation_percentage=0)
    MedianStoppingPolicy()


def test_grid_and_random_samplers_are_functions_of_the_index() -> None:
    space = check_space({"--a": choice(1, 2, 3), "b": choice("x", "y")})
    points = grid(space)
    assert (
        len(points) == 6
        and points[0] == {"--a": 1, "b": "x"}
        and points[-1] == {"--a": 3, "b": "y"}
    )
    assert GridSampler(space).propose(6, []) is None
    spec = SweepSpec("grid", space, "acc", "maximize", max_total_runs=50, max_concurrent_runs=2)
    assert planned_total(spec) == 6
    one, two = RandomSampler({"x": uniform(0, 1)}, 7), RandomSampler({"x": uniform(0, 1)}, 7)
    assert [one.propose(i, []) for i in range(5)] == [two.propose(i, []) for i in range(5)]
    assert one.propose(0, []) != one.propose(1, [])
    assert arguments({"--a": 1, "b": "x"}) == ["--a", "1", "--b", "x"]


def test_bayesian_sampler_learns_from_history() -> None:
    from runyard.sweeps.bayes import BayesianSampler

    spec = SweepSpec(
        "bayesian",
        {"x": uniform(0, 10)},
        "acc",
        "minimize",
        30,
        1,
        seed=3,
        sampler_options={"sampler": "tpe", "n_startup_trials": 5},
    )
    sampler = BayesianSampler(spec)
    history: list[Trial] = []
    for index in range(25):
        params = sampler.propose(index, history)
        assert params is not None and 0 <= params["x"] <= 10
        loss = (params["x"] - 7.0) ** 2
        info = RunInfo(
            f"s_{index}",
            "e",
            index,
            RunKind.SUBMITTED,
            RunStatus.COMPLETED,
            0.0,
            properties={"sweep.parameters": json.dumps(params)},
        )
        history.append(
            Trial(info, index, params, MetricSummary("acc", 1, loss, loss, loss, 1, "float"))
        )
    best = best_trial(history, maximize=False)
    assert best is not None and abs(best.params["x"] - 7.0) < 1.0
