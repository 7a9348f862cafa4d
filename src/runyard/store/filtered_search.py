"""Runs lists with a filter (``runyard.store.runfilter``) the store cannot run itself:
the studio's runs table, the API's ``filter=`` and ``runyard runs list --filter``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from runyard.entities import MetricSummary, RunInfo, RunPage, RunQuery
from runyard.store.base import Store
from runyard.store.runfilter import Field, RunFilter

# Runs read per store query while filtering (the filter runs over every candidate).
SCAN_PAGE = 5_000


def search_filtered(store: Store, query: RunQuery, run_filter: RunFilter | None) -> RunPage:
    """``store.search_runs(query)`` keeping only runs ``run_filter`` matches: every
    candidate is read (in the query's order, ``SCAN_PAGE`` at a time, with the metrics
    the filter and the query name) and the page is cut from those that match."""
    if run_filter is None:
        return store.search_runs(query)
    metrics = tuple(dict.fromkeys([*query.with_metrics, *run_filter.metric_names()]))
    kept: list[RunInfo] = []
    summaries: dict[str, Mapping[str, MetricSummary]] = {}
    offset = 0
    while True:
        page = store.search_runs(
            replace(query, limit=SCAN_PAGE, offset=offset, with_metrics=metrics)
        )
        fields = run_filter.step_fields()
        at_steps = (
            with_step_values(store, page.runs, page.summaries, fields) if fields else page.summaries
        )
        for run in page.runs:
            sums = at_steps.get(run.run_id, {})
            if run_filter.matches(run, sums):
                kept.append(run)
                summaries[run.run_id] = sums
        offset += len(page.runs)
        if not page.runs or offset >= page.total:
            break
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
