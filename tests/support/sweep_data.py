"""A sweep written into a store with the names the sweep controller writes (trial
properties, end-reason and stopped-at tags): known values for the sweep page and the
notebook widget's sweep view. Real sweeps (controller processes) run in
tests/test_sweeps.py."""

from __future__ import annotations

import json
import math
import time

from runyard.entities import MetricColumns, RunInfo, RunKind, RunStatus
from runyard.store.base import Store
from runyard.sweeps import spec as names
from runyard.sweeps.spec import SweepSpec


def make_sweep(store: Store, name: str) -> RunInfo:
    spec = SweepSpec(
        sampling="random",
        space={"--lr": ["uniform", [0.001, 0.1]], "--batch": ["choice", [[16, 32, 64]]]},
        primary_metric="val_acc",
        goal="maximize",
        max_total_runs=6,
        max_concurrent_runs=3,
        policy={"kind": "bandit", "slack_factor": 0.1, "evaluation_interval": 1},
    )
    exp = store.get_or_create_experiment(name)
    return store.create_run(
        exp.experiment_id,
        kind=RunKind.SWEEP,
        status=RunStatus.RUNNING,
        display_name=f"{name}-sweep",
        definition={"sweep": spec.to_dict()},
    )


def add_trial(store: Store, sweep: RunInfo, i: int, params: dict[str, object]) -> RunInfo:
    return store.create_run(
        sweep.experiment_id,
        kind=RunKind.SUBMITTED,
        status=RunStatus.RUNNING,
        parent_run_id=sweep.run_id,
        run_id=f"{sweep.run_id}_{i}",
        display_name=f"trial {i}",
        properties={names.PROP_TRIAL: str(i), names.PROP_PARAMS: json.dumps(params)},
    )


def log_curve(store: Store, run_id: str, values: list[float], start: int = 0) -> None:
    steps = list(range(start, start + len(values)))
    t0 = time.time()
    store.append_metrics(
        run_id, [MetricColumns("val_acc", "float", steps, [t0 + s for s in steps], values)]
    )


def curve(top: float, rate: float, n: int) -> list[float]:
    return [top * (1 - math.exp(-(s + 1) / rate)) for s in range(n)]


def fill(store: Store, sweep: RunInfo) -> list[RunInfo]:
    """Six trials: 3 completed, 1 stopped by Bandit at interval 4, 1 failed, 1 that
    never logged val_acc."""
    plan = [
        (0.05, 32, curve(0.91, 3, 12), "completed"),
        (0.01, 16, curve(0.84, 5, 12), "completed"),
        (0.09, 64, curve(0.88, 2, 12), "completed"),
        (0.002, 16, curve(0.55, 6, 5), "stopped"),
        (0.03, 64, curve(0.70, 3, 3), "failed"),
        (0.07, 32, [], "nometric"),
    ]
    trials = []
    for i, (lr, batch, values, end) in enumerate(plan):
        trial = add_trial(store, sweep, i, {"--lr": lr, "--batch": batch})
        if values:
            log_curve(store, trial.run_id, values)
        if end == "completed":
            store.set_tags(trial.run_id, {names.TAG_END_REASON: "completed"})
            store.set_status(trial.run_id, RunStatus.COMPLETED)
        elif end == "stopped":
            reason = "early-terminated: BanditPolicy at interval 4: best 0.41 is below 0.75"
            store.set_tags(trial.run_id, {names.TAG_END_REASON: reason, names.TAG_STOPPED_AT: "4"})
            store.set_status(trial.run_id, RunStatus.CANCELED)
        elif end == "failed":
            store.set_tags(trial.run_id, {names.TAG_END_REASON: "failed: RuntimeError: boom"})
            store.set_status(trial.run_id, RunStatus.FAILED, error="RuntimeError: boom")
        else:
            store.set_tags(
                trial.run_id,
                {names.TAG_END_REASON: "completed", names.TAG_NO_METRIC: "never logged"},
            )
            store.set_status(trial.run_id, RunStatus.COMPLETED)
        trials.append(trial)
    return trials
