"""Runs lists with a filter (``runyard.store.runfilter``) or a sort the store cannot run
itself: the studio's runs table, the API's ``filter=`` and ``runyard runs list --filter``,
and the sort by a metric's value at a step (``metric:NAME@STEP``), which the store does
not index (a value at a step lives inside the metric's blocks)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from runyard.entities import MetricSummary, MetricValue, RunInfo, RunPage, RunQuery
from runyard.store.base import Store
from runyard.store.runfilter import Field, RunFilter

# Runs read per store query while filtering (the filter runs over every candidate).
SCAN_PAGE = 5_000


_STEP_SORT = re.compile(r"metric:(.+)@(-?\d+)")


def step_sort(sort: str) -> tuple[str, int] | None:
    """(metric, step) of a sort by a metric's value at a step, ``metric:NAME@STEP``;
    None for any other sort. (A metric whose name ends in ``@DIGITS`` sorts by its last
    value as ``metric:NAME:last``.)"""
    match = _STEP_SORT.fullmatch(sort)
    return None if match is None else (match.group(1), int(match.group(2)))


def search_filtered(store: Store, query: RunQuery, run_filter: RunFilter | None) -> RunPage:
    """``store.search_runs(query)`` keeping only runs ``run_filter`` matches, in the
    query's order or by a metric's value at a step (``step_sort``): every candidate is
    read (``SCAN_PAGE`` at a time, with the metrics the filter and the query name) and
    the page is cut from those that match."""
    by_step = step_sort(query.sort)
    if run_filter is None and by_step is None:
        return store.search_runs(query)
    names = run_filter.metric_names() if run_filter is not None else ()
    metrics = tuple(dict.fromkeys([*query.with_metrics, *names]))
    # Sorted by a value at a step afterwards: read newest first, the order of ties.
    scan = replace(query, sort="created_at", descending=True) if by_step else query
    kept: list[RunInfo] = []
    summaries: dict[str, Mapping[str, MetricSummary]] = {}
    offset = 0
    while True:
        page = store.search_runs(
            replace(scan, limit=SCAN_PAGE, offset=offset, with_metrics=metrics)
        )
        fields = run_filter.step_fields() if run_filter is not None else []
        at_steps = (
            with_step_values(store, page.runs, page.summaries, fields) if fields else page.summaries
        )
        for run in page.runs:
            sums = at_steps.get(run.run_id, {})
            if run_filter is None or run_filter.matches(run, sums):
                kept.append(run)
                summaries[run.run_id] = sums
        offset += len(page.runs)
        if not page.runs or offset >= page.total:
            break
    if by_step is not None:
        kept = _by_value_at_step(store, kept, *by_step, descending=query.descending)
    shown = kept[query.offset : query.offset + query.limit]
    wanted = set(query.with_metrics)
    return RunPage(
        runs=shown,
        total=len(kept),
        summaries={
            r.run_id: {k: s for k, s in summaries[r.run_id].items() if k in wanted} for r in shown
        },
    )


def with_step_values(
    store: Store,
    runs: Sequence[RunInfo],
    summaries: Mapping[str, Mapping[str, MetricSummary]],
    fields: Sequence[Field],
) -> dict[str, dict[str, MetricSummary]]:
    """The runs' summaries plus, for each ``at(metrics.NAME, STEP)`` field, the value at
    the step under ``Field.step_key`` (one store call per field for all the runs)."""
    out = {r.run_id: dict(summaries.get(r.run_id, {})) for r in runs}
    for field in fields:
        assert field.step is not None
        values = store.get_metric_values_at_step([r.run_id for r in runs], field.name, field.step)
        for run_id, value in values.items():
            kind = type(value).__name__ if isinstance(value, bool | int | str) else "float"
            out[run_id][field.step_key] = MetricSummary(
                field.step_key, 1, value, None, None, field.step, kind
            )
    return out


def _by_value_at_step(
    store: Store, runs: list[RunInfo], name: str, step: int, *, descending: bool
) -> list[RunInfo]:
    """The runs by their value of ``name`` at ``step``; runs with NaN there, then runs
    with no number there (none logged, or a string), come last either way, each group in
    the order given (a stable sort)."""
    values: dict[str, MetricValue] = {}
    for start in range(0, len(runs), SCAN_PAGE):
        chunk = [r.run_id for r in runs[start : start + SCAN_PAGE]]
        values.update(store.get_metric_values_at_step(chunk, name, step))
    numbers: list[RunInfo] = []
    nans: list[RunInfo] = []
    others: list[RunInfo] = []
    for run in runs:
        value = values.get(run.run_id)
        if isinstance(value, bool | int | float):
            (nans if isinstance(value, float) and math.isnan(value) else numbers).append(run)
        else:
            others.append(run)
    # Python compares ints and floats exactly: int64 values past 2**53 keep their order.
    numbers.sort(key=lambda r: values[r.run_id], reverse=descending)
    return numbers + nans + others
