"""What a sweep looks like to a reader (the studio's sweep page, the notebook widget):
its trials sorted by the primary metric with why each ended, every trial's primary
metric curve (where a stopped one was stopped), and how much each parameter seems to
matter. Plain JSON, read from the store only (summaries, and one down-sampled series of
the primary metric per trial)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from runyard.entities import RunInfo, RunStatus
from runyard.store.base import Store
from runyard.sweeps import spec as names
from runyard.sweeps.report import sorted_trials, sweep_spec, trial_row
from runyard.sweeps.samplers import planned_total
from runyard.sweeps.trials import Trial, load_trials

# Points per trial curve: a chart is well under 1,000 px wide and dozens of trials share
# it; the store's down-sampling keeps each bucket's min and max.
CURVE_POINTS = 300
# Outcomes, in the words the table and the legends use.
STOPPED, FAILED, COMPLETED, NO_METRIC, CANCELED = (
    "stopped by policy",
    "failed",
    "completed",
    "no metric",
    "canceled",
)


def is_sweep(run: RunInfo) -> bool:
    """Whether ``run`` is a sweep's parent run (its definition carries the sweep)."""
    return isinstance(run.definition.get("sweep"), dict)


def outcome(trial: Trial) -> str:
    """Why the trial ended (or where it stands): one of the outcome words or a status."""
    tags = trial.info.tags
    reason = tags.get(names.TAG_END_REASON, "")
    if reason.startswith("early-terminated"):
        return STOPPED
    if not trial.finished:
        return trial.status.value.lower()
    if names.TAG_NO_METRIC in tags or (
        trial.summary is None and trial.status is RunStatus.COMPLETED
    ):
        return NO_METRIC
    if trial.status is RunStatus.FAILED:
        return FAILED
    if trial.status is RunStatus.CANCELED:
        return CANCELED
    return COMPLETED


def _curve(store: Store, trial: Trial, metric: str) -> dict[str, Any] | None:
    if trial.summary is None or trial.summary.value_type == "str" or trial.count == 0:
        return None
    series = store.get_metric_series(trial.run_id, metric, max_points=CURVE_POINTS)
    curve: dict[str, Any] = {
        "run_id": trial.run_id,
        "trial": trial.index,
        "steps": list(series.steps),
        "values": [_finite(v) for v in series.values],
        "stopped_at": None,
    }
    stopped_at = trial.info.tags.get(names.TAG_STOPPED_AT, "")
    if stopped_at.isdigit() and int(stopped_at) > 0:
        # The point the policy decided on: the stopped_at-th value logged (later points
        # may have come in before the trial's processes ended).
        point = store.get_metric_series(
            trial.run_id, metric, start=int(stopped_at) - 1, max_points=1
        )
        if point.steps:
            curve["stopped_at"] = {"step": point.steps[0], "value": _finite(point.values[0])}
    return curve


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _ranks(values: Sequence[float]) -> list[float]:
    """Average ranks (ties share their mean rank), for Spearman's correlation."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _correlation_ratio(groups: Sequence[Any], ys: Sequence[float]) -> float | None:
    """η: the share of the metric's spread that the parameter's categories explain
    (sqrt of between-group over total sum of squares)."""
    mean = sum(ys) / len(ys)
    total = sum((y - mean) ** 2 for y in ys)
    if total == 0:
        return None
    by_group: dict[str, list[float]] = {}
    for g, y in zip(groups, ys, strict=True):
        by_group.setdefault(repr(g), []).append(y)
    between = sum(len(v) * (sum(v) / len(v) - mean) ** 2 for v in by_group.values())
    return math.sqrt(between / total)


def importance(trials: Sequence[Trial], maximize: bool) -> list[dict[str, Any]]:
    """Per parameter, how strongly the best primary metric follows it over the scored
    trials: |Spearman's rank correlation| for a numeric parameter, the correlation
    ratio η for a categorical one; both in [0, 1]. One parameter at a time, so
    interactions are not seen; None with fewer than 3 scored trials or no spread."""
    scored = [(t.params, t.best(maximize)) for t in trials if t.best(maximize) is not None]
    keys = sorted({k for params, _ in scored for k in params})
    out = []
    for key in keys:
        pairs = [(p[key], y) for p, y in scored if key in p and y is not None]
        value: float | None = None
        method = "spearman"
        if len(pairs) >= 3:
            xs = [x for x, _ in pairs]
            ys = [float(y) for _, y in pairs]
            if all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs):
                rho = _pearson(_ranks([float(x) for x in xs]), _ranks(ys))
                value = None if rho is None else abs(rho)
            else:
                method = "eta"
                value = _correlation_ratio(xs, ys)
        out.append({"parameter": key, "importance": value, "method": method, "n": len(pairs)})
    return sorted(out, key=lambda r: -1.0 if r["importance"] is None else -r["importance"])


def sweep_view(store: Store, sweep_id: str) -> dict[str, Any]:
    """The whole view of one sweep, read now."""
    sweep = store.get_run(sweep_id)
    spec = sweep_spec(sweep)
    trials = load_trials(store, sweep_id, spec.primary_metric)
    rows = []
    for trial in sorted_trials(trials, spec.maximize):
        row = trial_row(trial, spec.maximize)
        row["outcome"] = outcome(trial)
        row["display_name"] = trial.info.display_name or trial.run_id
        row["duration"] = trial.info.duration
        row["stopped_at_interval"] = trial.info.tags.get(names.TAG_STOPPED_AT)
        rows.append(row)
    curves = [c for t in trials if (c := _curve(store, t, spec.primary_metric)) is not None]
    return {
        "sweep": {
            "run_id": sweep.run_id,
            "display_name": sweep.display_name or sweep.run_id,
            "experiment_id": sweep.experiment_id,
            "status": sweep.status.value,
            "terminal": sweep.status.is_terminal(),
            "change_seq": sweep.change_seq,
            "ended_because": sweep.tags.get(names.TAG_ENDED_BECAUSE, ""),
            "best_run_id": sweep.tags.get(names.TAG_BEST_RUN, ""),
            "sampling": spec.sampling,
            "policy": dict(spec.policy),
            "planned": planned_total(spec),
            "max_concurrent_runs": spec.max_concurrent_runs,
        },
        "metric": spec.primary_metric,
        "goal": spec.goal,
        "parameters": sorted(spec.space),
        "rows": rows,
        "curves": curves,
        "importance": importance(trials, spec.maximize),
    }


def change_key(store: Store, sweep_id: str) -> tuple[int, ...]:
    """A cheap fingerprint of the sweep and its trials (their change counters): the
    view is read again only when it moves."""
    sweep = store.get_run(sweep_id)
    ids = [t.run_id for t in load_trials(store, sweep_id, sweep_spec(sweep).primary_metric)]
    seqs = store.get_change_seqs([sweep_id, *ids])
    return tuple(seqs.get(i, 0) for i in [sweep_id, *ids])
