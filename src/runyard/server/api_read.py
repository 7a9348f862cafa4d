"""Read routes of the REST API: experiments, runs, metrics, records, environments.

Route functions are plain ``def``: the store is synchronous, so FastAPI runs them in
its thread pool and the event loop stays free for live streams.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from runyard.entities import RunQuery
from runyard.errors import ExperimentNotFoundError, ValidationError
from runyard.server.deps import StoreDep
from runyard.server.encoding import (
    FastJSONResponse,
    environment_json,
    experiment_json,
    experiment_stats_json,
    record_json,
    run_json,
    run_page_json,
    series_json,
    summary_json,
)
from runyard.server.limits import MAX_INT64
from runyard.server.schemas import RunQueryIn, parse_status

router = APIRouter(prefix="/api", default_response_class=FastJSONResponse)

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


@router.get("/experiments")
def list_experiments(store: StoreDep) -> FastJSONResponse:
    """Every experiment with run count, last run time and status counts."""
    stats = store.list_experiments()
    return FastJSONResponse({"experiments": [experiment_stats_json(s) for s in stats]})


@router.get("/experiments/by-name/{name}")
def experiment_by_name(store: StoreDep, name: str) -> FastJSONResponse:
    """The experiment called ``name``; 404 when there is none."""
    exp = store.get_experiment_by_name(name)
    if exp is None:
        raise ExperimentNotFoundError(f"no experiment is called {name!r}")
    return FastJSONResponse(experiment_json(exp))


@router.get("/experiments/{experiment_id}")
def get_experiment(store: StoreDep, experiment_id: str) -> FastJSONResponse:
    return FastJSONResponse(experiment_json(store.get_experiment(experiment_id)))


@router.get("/experiments/{experiment_id}/runs")
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
) -> FastJSONResponse:
    """One page of an experiment's runs, with the total and the named metrics' summaries."""
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
    page = store.search_runs(query)
    return FastJSONResponse({**run_page_json(page), "limit": limit, "offset": offset})


@router.post("/runs/search")
def search_runs(store: StoreDep, body: RunQueryIn) -> FastJSONResponse:
    """``Store.search_runs`` with a full query (a POST, so it needs the token)."""
    return FastJSONResponse(run_page_json(store.search_runs(body.to_entity())))


@router.get("/runs/{run_id}")
def get_run(store: StoreDep, run_id: str) -> FastJSONResponse:
    return FastJSONResponse(run_json(store.get_run(run_id)))


@router.get("/runs/{run_id}/children")
def list_children(
    store: StoreDep,
    run_id: str,
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
) -> FastJSONResponse:
    """The run's child runs, oldest first."""
    store.get_run(run_id)
    page = store.search_runs(
        RunQuery(parent_run_id=run_id, sort="number", descending=False, limit=limit, offset=offset)
    )
    return FastJSONResponse(run_page_json(page))


@router.get("/runs/{run_id}/metrics")
def metric_summaries(store: StoreDep, run_id: str) -> FastJSONResponse:
    """Last/min/max/count of every metric of the run."""
    summaries = store.get_metric_summaries(run_id)
    if not summaries:
        store.get_run(run_id)  # an unknown run is a 404, not an empty answer
    return FastJSONResponse({"metrics": {k: summary_json(s) for k, s in sorted(summaries.items())}})


@router.get("/runs/{run_id}/metrics/{key:path}")
def metric_series(
    store: StoreDep,
    run_id: str,
    key: str,
    max_points: Annotated[int | None, Query(ge=2, le=1_000_000)] = None,
    start: Annotated[int, Query(ge=0)] = 0,
) -> FastJSONResponse:
    """A metric's points from index ``start`` on, down-sampled to ``max_points``
    (keeping each bucket's min and max) when given."""
    summary = store.get_metric_summaries(run_id).get(key)
    series = store.get_metric_series(run_id, key, max_points=max_points, start=start)
    value_type = summary.value_type if summary is not None else "float"
    return FastJSONResponse(series_json(series, value_type, start))


@router.get("/runs/{run_id}/records")
def metric_records(store: StoreDep, run_id: str, key: str | None = None) -> FastJSONResponse:
    """Structured metrics (lists, rows, tables, images) in logging order."""
    records = store.get_metric_records(run_id, key)
    if not records:
        store.get_run(run_id)
    return FastJSONResponse({"records": [record_json(r) for r in records]})


@router.get("/runs/{run_id}/journal-offset")
def journal_offset(store: StoreDep, run_id: str) -> FastJSONResponse:
    """How many bytes of the run's journal the store holds."""
    return FastJSONResponse({"offset": store.get_journal_offset(run_id)})


@router.get("/environments")
def list_environments(store: StoreDep) -> FastJSONResponse:
    """Every version of every registered environment."""
    envs = store.list_environments()
    return FastJSONResponse({"environments": [environment_json(e) for e in envs]})


@router.get("/environments/{name}")
def get_environment(
    store: StoreDep, name: str, version: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None
) -> FastJSONResponse:
    """One version of an environment, the latest when ``version`` is not given."""
    return FastJSONResponse(environment_json(store.get_environment(name, version)))
