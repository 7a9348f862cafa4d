"""``runs list``: what ``--sort`` and ``--columns`` mean, checked before and after the
query so that a typo is an error naming what exists, never an empty column."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runyard.cli.output import fmt_duration, fmt_time
from runyard.entities import MetricSummary, RunInfo
from runyard.errors import ValidationError

SUMMARIES = ("last", "min", "max")
# Sorting by these is newest / highest first unless --asc; metrics are lowest first
# (the best loss first) unless --desc.
SORT_COLUMNS = ("created_at", "number", "status", "duration", "started_at", "ended_at")


@dataclass(frozen=True)
class MetricRef:
    """``metric:NAME[:last|min|max]`` or ``metric:NAME@STEP`` (the value at a step);
    ``explicit`` when the summary was written out."""

    name: str
    summary: str = "last"
    explicit: bool = False
    step: int | None = None

    @property
    def sort_key(self) -> str:
        """What ``RunQuery.sort`` takes (a value at a step is sorted by
        ``runyard.store.filtered_search``, not the store)."""
        if self.step is not None:
            return f"metric:{self.name}@{self.step}"
        return f"metric:{self.name}:{self.summary}"

    @property
    def label(self) -> str:
        if self.step is not None:
            return f"{self.name}@{self.step}"
        return self.name if self.summary == "last" else f"{self.name} ({self.summary})"


def parse_metric(text: str) -> MetricRef:
    """``NAME``, ``NAME:last``, ``NAME:min`` or ``NAME:max`` (after ``metric:``)."""
    if not text:
        raise ValidationError("'metric:' names no metric; use metric:NAME[:last|min|max]")
    at = re.fullmatch(r"(.+)@(-?\d+)", text)
    if at is not None:
        return MetricRef(at.group(1), "at", explicit=True, step=int(at.group(2)))
    head, _, tail = text.rpartition(":")
    if head and tail in SUMMARIES:
        return MetricRef(head, tail, explicit=True)
    return MetricRef(text)


def parse_sort(sort: str) -> MetricRef | None:
    """The metric of ``--sort metric:...``, or None for a column sort."""
    if sort.startswith("metric:"):
        return parse_metric(sort[len("metric:") :])
    if sort not in SORT_COLUMNS:
        raise ValidationError(
            f"cannot sort runs by {sort!r}; use one of {', '.join(SORT_COLUMNS)} "
            "or metric:NAME[:last|min|max] (e.g. --sort metric:loss)"
        )
    return None


def default_descending(metric: MetricRef | None) -> bool:
    """Columns sort newest/largest first; metrics lowest first (the best loss first)."""
    return metric is None


def check_metric(ref: MetricRef, option: str, logged: Sequence[str]) -> None:
    """Raises when no listed run logged ``ref.name``, naming the metrics that exist."""
    if ref.name in logged:
        return
    head, _, tail = ref.name.rpartition(":")
    if head and head in logged:
        raise ValidationError(
            f"{option} metric:{ref.name}: unknown summary {tail!r}; the summaries are "
            f"{', '.join(SUMMARIES)} (e.g. {option} metric:{head}:max)"
        )
    names = ", ".join(sorted(logged)) or "(none: no run listed has logged a metric)"
    close = difflib.get_close_matches(ref.name, logged, n=1)
    hint = f" Did you mean metric:{close[0]}?" if close else ""
    raise ValidationError(
        f"{option} metric:{ref.name}: no run listed logged a metric called {ref.name!r}; "
        f"the metrics logged are: {names}.{hint}"
    )


Cell = Callable[[RunInfo, Mapping[str, MetricSummary]], Any]


def _args(r: RunInfo, _s: Mapping[str, MetricSummary]) -> str:
    return " ".join(str(a) for a in r.definition.get("arguments") or [])


def _tags(r: RunInfo, _s: Mapping[str, MetricSummary]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(r.tags.items()))


COLUMNS: dict[str, Cell] = {
    "id": lambda r, s: r.run_id,
    "#": lambda r, s: r.number,
    "name": lambda r, s: r.display_name,
    "status": lambda r, s: r.status,
    "created": lambda r, s: fmt_time(r.created_at),
    "started": lambda r, s: fmt_time(r.started_at),
    "duration": lambda r, s: fmt_duration(r.duration),
    "compute": lambda r, s: r.compute_target,
    "tags": _tags,
    "params": _args,
    "error": lambda r, s: r.error or "",
}
DEFAULT_COLUMNS = ("id", "#", "status", "started", "duration", "compute")


@dataclass(frozen=True)
class Column:
    header: str
    cell: Cell
    metric: MetricRef | None = None


def metric_cell(ref: MetricRef) -> Cell:
    def cell(_r: RunInfo, summaries: Mapping[str, MetricSummary]) -> Any:
        if ref.step is not None:  # beside the summaries, as filtered_search puts it
            s = summaries.get(f"{ref.name}@{ref.step}")
            return None if s is None else s.last
        s = summaries.get(ref.name)
        return None if s is None else getattr(s, ref.summary)

    return cell


def parse_columns(text: str | None, sort_metric: MetricRef | None) -> list[Column]:
    """``--columns name,tags,params,metric:loss``; the default set plus the sort metric."""
    if text is None:
        names: list[str] = list(DEFAULT_COLUMNS)
        if sort_metric is not None:
            names.append(sort_metric.sort_key)
    else:
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names:
            raise ValidationError("--columns names no column; e.g. --columns id,status,metric:loss")
    out = []
    for name in names:
        if name.startswith("metric:"):
            ref = parse_metric(name[len("metric:") :])
            out.append(Column(ref.label, metric_cell(ref), ref))
        elif name in COLUMNS:
            out.append(Column(name, COLUMNS[name]))
        else:
            raise ValidationError(
                f"--columns: unknown column {name!r}; the columns are "
                f"{', '.join(COLUMNS)}, metric:NAME[:last|min|max] and metric:NAME@STEP"
            )
    return out
