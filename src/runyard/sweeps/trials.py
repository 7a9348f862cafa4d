"""A sweep's trials as the store has them: its child runs, the parameters each was
given and the summary of its primary metric kept at ingest (no points are read).

This is all the history a controller has, so a killed one resumes from it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runyard.entities import MetricSummary, RunInfo, RunQuery, RunStatus
from runyard.store.base import Store
from runyard.sweeps.spec import PROP_PARAMS, PROP_TRIAL

_PAGE = 500


@dataclass(frozen=True)
class Trial:
    """One child run of a sweep."""

    info: RunInfo
    index: int  # 0, 1, 2 ... in the order the controller created them
    params: dict[str, Any]
    summary: MetricSummary | None  # of the primary metric; None: never logged

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def status(self) -> RunStatus:
        return self.info.status

    @property
    def finished(self) -> bool:
        return self.info.status.is_terminal()

    @property
    def count(self) -> int:
        """How many values of the primary metric it has logged (its interval)."""
        return self.summary.count if self.summary is not None else 0

    @property
    def last(self) -> float | None:
        return _number(self.summary.last) if self.summary is not None else None

    def best(self, maximize: bool) -> float | None:
        """Its best primary metric value so far (max or min as the goal says)."""
        if self.summary is None:
            return None
        return _number(self.summary.max if maximize else self.summary.min)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def load_trials(store: Store, sweep_id: str, metric: str) -> list[Trial]:
    """Every trial of ``sweep_id`` in trial order, with its primary metric summary."""
    out = []
    for info, summary in _children(store, sweep_id, metric):
        try:
            index = int(info.properties.get(PROP_TRIAL, ""))
            params = json.loads(info.properties.get(PROP_PARAMS, "{}"))
        except ValueError:
            continue  # not one of the controller's trials (a child logged by hand)
        out.append(Trial(info, index, params, summary))
    out.sort(key=lambda t: t.index)
    return out


def _children(
    store: Store, sweep_id: str, metric: str
) -> Iterator[tuple[RunInfo, MetricSummary | None]]:
    offset = 0
    while True:
        page = store.search_runs(
            RunQuery(
                parent_run_id=sweep_id,
                sort="created_at",
                descending=False,
                limit=_PAGE,
                offset=offset,
                with_metrics=[metric],
            )
        )
        for info in page.runs:
            yield info, page.summaries.get(info.run_id, {}).get(metric)
        offset += len(page.runs)
        if not page.runs or offset >= page.total:
            return


def best_trial(trials: list[Trial], maximize: bool) -> Trial | None:
    """The trial with the best primary metric value (any status), or None."""
    scored = [t for t in trials if t.best(maximize) is not None]
    if not scored:
        return None

    def score(trial: Trial) -> tuple[float, int]:
        value = trial.best(maximize) or 0.0
        return (value if maximize else -value, -trial.index)  # ties: the earliest trial

    return max(scored, key=score)
