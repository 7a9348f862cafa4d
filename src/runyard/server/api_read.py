"""Read routes of the REST API: experiments, runs, metrics, records, environments.

Route functions are plain ``def``: the store is synchronous, so FastAPI runs them in
its thread pool and the event loop stays free for live streams.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from runyard import wire
from runyard.entities import RunQuery
from runyard.errors import ExperimentNotFoundError, RunNotFoundError, ValidationError
from runyard.server.deps import StoreDep
from runyard.server.responses import WireJSON, answer
from runyard.server.series_range import series_in_steps
from runyard.store.base import Store
from runyard.store.filtered_search import search_filtered
from runyard.store.runfilter import parse_filter
from runyard.wire import MAX_INT64, parse_status

router = APIRouter(prefix="/api", default_response_class=WireJSON)

MAX_PAGE = 10_000


def split_list(values: list[str] | None) -> list[str]:
    """``?a=x,y&a=z`` → ``[x, y, z]``."""
    out: list[str] = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def parse_tags(values: list[str] | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in values or ():
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ValidationError(f"tag filter {item!r} must look like key:value")
        tags[key] = value
    return tags


def runs_query(
    experiment_id: str | None,
    *,
    status: list[str] | None,
    tag: list[str] | None,
    q: str,
    sort: str,
    order: str,
    limit: int,
    offset: int,
    metrics: list[str] | None,
) -> RunQuery:
    """A RunQuery from the runs list's query parameters (shared with the runs page)."""
    if order not in ("asc", "desc"):
        raise ValidationError(f"order must be 'asc' or 'desc', not {order!r}")
    return RunQuery(
        experiment_id=experiment_id,
        statuses=tuple(parse_status(s) for s in split_list(status)),
        tags=parse_tags(tag),
        text=q,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
        with_metrics=tuple(split_list(metrics)),
    )


@router.get("/experiments", response_model=wire.ExperimentsOut)
def list_experiments(store: StoreDep, lifecycle: str = "active") -> WireJSON:
    """Every experiment (``lifecycle``: active, deleted or all) with run count, last run
    time and status counts."""
    return answer(wire.ExperimentsOut.of(store.list_experiments(lifecycle)))


@router.get("/experiments/by-name/{name}", response_model=wire.ExperimentOut)
def experiment_by_name(store: StoreDep, name: str) -> WireJSON:
    """The experiment called ``name``; 404 when there is none."""
    exp = store.get_experiment_by_name(name)
    if exp is None:
        raise ExperimentNotFoundError(f"no experiment is called {name!r}")
    return answer(wire.ExperimentOut.of(exp))


@router.get("/experiments/{experiment_id}", response_model=wire.ExperimentOut)
def get_experiment(store: StoreDep, experiment_id: str) -> WireJSON:
    return answer(wire.ExperimentOut.of(store.get_experiment(experiment_id)))


@router.get("/experiments/{experiment_id}/runs", response_model=wire.RunListOut)
def list_runs(
    store: StoreDep,
    experiment_id: str,
    status: Annotated[list[str] | None, Query(description="statuses, comma-separated")] = None,
    tag: Annotated[list[str] | None, Query(description="key:value, repeatable")] = None,
    q: str = "",
    sort: Annotated[str, Query(description="column or metric:NAME[:last|min|max]")] = (
        "created_at"
    ),
    order: str = "desc",
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    metrics: Annotated[list[str] | None, Query(description="metric names, comma-separated")] = (
        None
    ),
    filter_text: Annotated[
        str, Query(alias="filter", description='e.g. metrics.acc > 0.9 and tags.model = "cnn"')
    ] = "",
) -> WireJSON:
    """One page of an experiment's runs, with the total and the named metrics' summaries;
    ``filter`` keeps the runs it matches (runyard.store.runfilter; a bad one is a 400)."""
    run_filter = parse_filter(filter_text) if filter_text.strip() else None
    store.get_experiment(experiment_id)
    query = runs_query(
        experiment_id,
        status=status,
        tag=tag,
        q=q,
        sort=sort,
        order=order,
        limit=limit,
        offset=offset,
        metrics=metrics,
    )
    page = wire.RunPageOut.of(search_filtered(store, query, run_filter))
    return answer(wire.RunListOut(**dict(page), limit=limit, offset=offset))


@router.post("/runs/search", response_model=wire.RunPageOut)
def search_runs(store: StoreDep, body: wire.RunQueryIn) -> WireJSON:
    """``Store.search_runs`` with a full query (a POST, so it needs the token)."""
    return answer(wire.RunPageOut.of(store.search_runs(body.to_entity())))


@router.get("/runs/{run_id}", response_model=wire.RunOut)
def get_run(store: StoreDep, run_id: str) -> WireJSON:
    return answer(wire.RunOut.of(store.get_run(run_id)))


@router.get("/change-seqs", response_model=wire.ChangeSeqsOut)
def change_seqs(
    store: StoreDep,
    runs: Annotated[list[str] | None, Query(description="run ids, comma-separated")] = None,
) -> WireJSON:
    """Each run's change counter (unknown ids left out): a live view polls this and
    reads a run again only when its counter moved."""
    return answer(wire.ChangeSeqsOut(change_seqs=store.get_change_seqs(split_list(runs))))


@router.get("/runs/{run_id}/children", response_model=wire.RunPageOut)
def list_children(
    store: StoreDep,
    run_id: str,
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
) -> WireJSON:
    """The run's child runs, oldest first."""
    store.get_run(run_id)
    page = store.search_runs(
        RunQuery(parent_run_id=run_id, sort="number", descending=False, limit=limit, offset=offset)
    )
    return answer(wire.RunPageOut.of(page))


@router.get("/runs/{run_id}/metrics", response_model=wire.SummariesOut)
def metric_summaries(store: StoreDep, run_id: str) -> WireJSON:
    """Last/min/max/count of every metric of the run."""
    summaries = store.get_metric_summaries(run_id)
    if not summaries:
        store.get_run(run_id)  # an unknown run is a 404, not an empty answer
    metrics = {k: wire.SummaryOut.of(s) for k, s in sorted(summaries.items())}
    return answer(wire.SummariesOut(metrics=metrics))


@router.get("/metric-summaries", response_model=wire.ManySummariesOut)
def many_metric_summaries(
    store: StoreDep,
    runs: Annotated[list[str] | None, Query(description="run ids, comma-separated")] = None,
) -> WireJSON:
    """The metric summaries of many runs in one answer (a page of runs)."""
    found = store.get_metric_summaries_of(split_list(runs))
    out = {r: {k: wire.SummaryOut.of(s) for k, s in m.items()} for r, m in found.items()}
    return answer(wire.ManySummariesOut(runs=out))


@router.get("/runs/{run_id}/metrics/{key:path}", response_model=wire.SeriesOut)
def metric_series(
    store: StoreDep,
    run_id: str,
    key: str,
    max_points: Annotated[int | None, Query(ge=2, le=1_000_000)] = None,
    start: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    step_min: Annotated[int | None, Query(ge=-MAX_INT64 - 1, le=MAX_INT64)] = None,
    step_max: Annotated[int | None, Query(ge=-MAX_INT64 - 1, le=MAX_INT64)] = None,
) -> WireJSON:
    """A metric's points from index ``start`` on, down-sampled to ``max_points``
    (keeping each bucket's min and max) when given; ``step_min``/``step_max`` keep only
    the points in that step range (a zoomed chart), ``start`` then ignored."""
    return answer(_series_out(store, run_id, key, max_points, start, step_min, step_max))


# The compare page asks for up to 50 runs at once; a little room beyond that.
MAX_SERIES_RUNS = 100


@router.post("/metrics/at-step", response_model=wire.ValuesAtStepOut)
def metric_values_at_step(store: StoreDep, body: wire.ValuesAtStepIn) -> WireJSON:
    """Metric ``key`` at ``step`` of each run named (the last value logged at that step):
    the runs table's ``at(metrics.NAME, STEP)`` column and filter."""
    values = store.get_metric_values_at_step(body.runs, body.key, body.step)
    return answer(wire.ValuesAtStepOut.of(values))


@router.get("/series", response_model=wire.SeriesBatchOut)
def metric_series_batch(
    store: StoreDep,
    key: str,
    runs: Annotated[list[str] | None, Query()] = None,
    max_points: Annotated[int | None, Query(ge=2, le=1_000_000)] = None,
    step_min: Annotated[int | None, Query(ge=-MAX_INT64 - 1, le=MAX_INT64)] = None,
    step_max: Annotated[int | None, Query(ge=-MAX_INT64 - 1, le=MAX_INT64)] = None,
) -> WireJSON:
    """Metric ``key`` of every run in ``runs=a,b,...`` (at most 100) in one answer, each
    as ``/runs/{id}/metrics/{key}`` answers it (None for a run that does not exist):
    the studio's overlay of many runs is one request, not one per run."""
    run_ids = split_list(runs)
    if not run_ids or len(run_ids) > MAX_SERIES_RUNS:
        raise ValidationError(
            f"runs= names {len(run_ids)} runs: give 1 to {MAX_SERIES_RUNS} run ids, "
            "comma-separated (ask again for the rest)"
        )
    out: list[wire.SeriesOut | None] = []
    for run_id in run_ids:
        try:
            out.append(_series_out(store, run_id, key, max_points, 0, step_min, step_max))
        except RunNotFoundError:
            out.append(None)
    return answer(wire.SeriesBatchOut(series=out))


def _series_out(
    store: Store,
    run_id: str,
    key: str,
    max_points: int | None,
    start: int,
    step_min: int | None,
    step_max: int | None,
) -> wire.SeriesOut:
    summary = store.get_metric_summaries(run_id).get(key)
    if step_min is not None or step_max is not None:
        series = series_in_steps(
            store, run_id, key, step_min=step_min, step_max=step_max, max_points=max_points
        )
        start = 0
    else:
        series = store.get_metric_series(run_id, key, max_points=max_points, start=start)
    value_type = summary.value_type if summary is not None else "float"
    return wire.SeriesOut.of(series, value_type, start)


@router.get("/runs/{run_id}/records", response_model=wire.RecordsOut)
def metric_records(store: StoreDep, run_id: str, key: str | None = None) -> WireJSON:
    """Structured metrics (lists, rows, tables, images) in logging order."""
    records = store.get_metric_records(run_id, key)
    if not records:
        store.get_run(run_id)
    return answer(wire.RecordsOut(records=[wire.RecordBody.of(r) for r in records]))


@router.get("/runs/{run_id}/journal-offset", response_model=wire.JournalOffsetOut)
def journal_offset(store: StoreDep, run_id: str, journal: str = "") -> WireJSON:
    """How many bytes of the run's journal (``journal``: "" the main one) the store holds."""
    return answer(wire.JournalOffsetOut(offset=store.get_journal_offset(run_id, journal)))


@router.get("/environments", response_model=wire.EnvironmentsOut)
def list_environments(store: StoreDep) -> WireJSON:
    """Every version of every registered environment."""
    return answer(wire.EnvironmentsOut.of(store.list_environments()))


@router.get("/environments/{name}", response_model=wire.EnvironmentOut)
def get_environment(
    store: StoreDep, name: str, version: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None
) -> WireJSON:
    """One version of an environment, the latest when ``version`` is not given."""
    return answer(wire.EnvironmentOut.of(store.get_environment(name, version)))
