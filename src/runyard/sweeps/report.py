"""A sweep's trials as rows and as a text table (``wait_for_completion(show_output=True)``
and ``runyard sweeps show``), sorted by the primary metric, best first."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.entities import RunInfo
from runyard.store.base import Store
from runyard.sweeps import spec as names
from runyard.sweeps.samplers import planned_total
from runyard.sweeps.spec import SweepSpec
from runyard.sweeps.trials import Trial, load_trials


def sweep_spec(sweep: RunInfo) -> SweepSpec:
    return SweepSpec.from_dict(sweep.definition["sweep"])


def sorted_trials(trials: Sequence[Trial], maximize: bool, reverse: bool = False) -> list[Trial]:
    """Best primary metric first (trials without one last, in trial order)."""
    scored = [t for t in trials if t.best(maximize) is not None]
    unscored = [t for t in trials if t.best(maximize) is None]

    def key(trial: Trial) -> tuple[float, int]:
        value = trial.best(maximize) or 0.0
        return (-value if maximize else value, trial.index)

    ordered = sorted(scored, key=key)
    return [*(ordered[::-1] if reverse else ordered), *unscored]


def trial_row(trial: Trial, maximize: bool) -> dict[str, Any]:
    tags = trial.info.tags
    return {
        "run_id": trial.run_id,
        "trial": trial.index,
        "status": trial.status.value,
        "hyperparameters": trial.params,
        "best_primary_metric": trial.best(maximize),
        "intervals": trial.count,
        "end_reason": tags.get(names.TAG_END_REASON, ""),
        "no_primary_metric": names.TAG_NO_METRIC in tags,
    }


def sweep_rows(store: Store, sweep: RunInfo) -> list[dict[str, Any]]:
    spec = sweep_spec(sweep)
    trials = load_trials(store, sweep.run_id, spec.primary_metric)
    return [trial_row(t, spec.maximize) for t in sorted_trials(trials, spec.maximize)]


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(sweep: RunInfo, rows: Sequence[Mapping[str, Any]]) -> str:
    """The trials table, with a header line saying where the sweep stands."""
    spec = sweep_spec(sweep)
    done = sum(1 for r in rows if r["status"] in ("Completed", "Failed", "Canceled"))
    head = (
        f"sweep {sweep.run_id} {sweep.status.value}: {done}/{planned_total(spec)} trials "
        f"finished, {len(rows) - done} running; {spec.goal} {spec.primary_metric}"
    )
    if sweep.tags.get(names.TAG_ENDED_BECAUSE):
        head += f"\nended because: {sweep.tags[names.TAG_ENDED_BECAUSE]}"
    columns = ["trial", "run_id", "status", spec.primary_metric, "hyperparameters", "why it ended"]
    table = [columns]
    for row in rows:
        metric = row["best_primary_metric"]
        table.append(
            [
                str(row["trial"]),
                row["run_id"],
                row["status"],
                "never logged"
                if row["no_primary_metric"]
                else ("" if metric is None else _short(metric)),
                json.dumps({k: _short(v) for k, v in row["hyperparameters"].items()}),
                row["end_reason"],
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table
    ]
    return "\n".join([head, *lines])
