"""The studio's HTML pages, rendered with Jinja2 (autoescaped); charts, tabs and live
updates are small static scripts that read the API."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from runyard.entities import (
    ExperimentStats,
    MetricSummary,
    RunInfo,
    RunPage,
    RunQuery,
    RunStatus,
)
from runyard.errors import RunNotFoundError, ValidationError
from runyard.server.api_read import runs_query, split_list
from runyard.server.deps import StoreDep
from runyard.store.base import Store
from runyard.store.filtered_search import search_filtered, step_sort, with_step_values
from runyard.store.runfilter import (
    PREFIXES,
    Field,
    FilterSyntaxError,
    RunFilter,
    field_value,
    parameters,
    parse_filter,
)
from runyard.wire import encode_any, run_json, summary_json

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 100
MAX_METRIC_COLUMNS = 8
MAX_COMPARE = 50
MAX_EXTRA_COLUMNS = 12


def fmt_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


def fmt_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:.6g}"
    return str(value)


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every string from a user or a script is escaped
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fmt_time=fmt_time, fmt_duration=fmt_duration, fmt_value=fmt_value)
    return env


def _jinja(state: Any) -> Any:
    """The app's template environment, made on first use."""
    env = getattr(state, "jinja", None)
    if env is None:
        env = state.jinja = _environment()
    return env


def warm_templates(state: Any) -> None:
    """Compiles every page template now, into the app's ``state``: served, the first
    page a browser asks for then answers as fast as the rest (compiling them all takes
    ~90 ms here, ten times that on a machine busy with runs)."""
    env = _jinja(state)
    for name in env.list_templates():
        env.get_template(name)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = request.app.state
    body = (
        _jinja(state)
        .get_template(name)
        .render(workspace_name=state.workspace_name, path=request.url.path, **context)
    )
    return HTMLResponse(body, status_code=status_code)


def run_label(run: RunInfo) -> str:
    return run.display_name or f"Run {run.number}"


@router.get("/")
def experiments_page(request: Request, store: StoreDep) -> HTMLResponse:
    stats: list[ExperimentStats] = sorted(
        store.list_experiments(),
        key=lambda s: s.last_run_at or s.experiment.created_at,
        reverse=True,
    )
    return render(request, "experiments.html", experiments=stats, statuses=list(RunStatus))


Summaries = Callable[[str], Mapping[str, MetricSummary]]
_SUMMARISED = 20  # runs whose metrics the columns and the chooser offer


def _metric_columns(summaries: Summaries, runs: Sequence[RunInfo], wanted: list[str]) -> list[str]:
    """The chosen metrics, or else the metrics the first runs on the page logged."""
    if wanted:
        return wanted[:MAX_METRIC_COLUMNS]
    keys: list[str] = []
    for run in runs[:10]:
        for key, summary in summaries(run.run_id).items():
            if key not in keys and summary.value_type != "str":
                keys.append(key)
    return sorted(keys)[:MAX_METRIC_COLUMNS]


@router.get("/experiments/{experiment_id}")
def runs_page(
    request: Request,
    store: StoreDep,
    experiment_id: str,
    status: Annotated[list[str] | None, Query()] = None,
    tag: str = "",
    q: str = "",
    sort: str = "created_at",
    order: str = "desc",
    page: Annotated[int, Query(ge=1)] = 1,
    metrics: str = "",
    filter_text: Annotated[str, Query(alias="filter")] = "",
    cols: str = "",
) -> HTMLResponse:
    experiment = store.get_experiment(experiment_id)
    run_filter: RunFilter | None = None
    filter_error = ""
    try:
        run_filter = parse_filter(filter_text) if filter_text.strip() else None
    except FilterSyntaxError as exc:
        filter_error = str(exc)
    extra = _extra_columns(cols)
    by_step = step_sort(sort)
    if by_step is not None:  # sorted by a value at a step: that value is a column
        at = Field("metrics", by_step[0], aggregate="at", step=by_step[1])
        extra = extra if at in extra else [*extra, at]
    statuses = split_list(status)
    tags = [t.strip() for t in tag.split(",") if t.strip()]
    wanted = split_list([metrics])
    sort_metric = sort.split(":")[1] if sort.startswith("metric:") and not by_step else ""

    def query(with_metrics: list[str]) -> Any:
        found = runs_query(
            experiment_id,
            status=statuses,
            tag=tags,
            q=q,
            sort=sort,
            order=order,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            metrics=with_metrics,
        )
        # A deleted experiment's page still lists its runs, all "deleted" with it.
        return replace(found, lifecycle="deleted") if experiment.deleted_at else found

    def search(with_metrics: list[str]) -> Any:
        if filter_error:
            return RunPage(runs=[], total=0)
        return search_filtered(store, query(with_metrics), run_filter)

    result = search(wanted)
    # The columns and their chooser read the first runs' summaries: in one read (a read
    # per run made this page the slowest under load: 1.3 s with 32 runs logging).
    first = store.get_metric_summaries_of([r.run_id for r in result.runs[:_SUMMARISED]])

    def summaries(run_id: str) -> Mapping[str, MetricSummary]:
        return first.get(run_id, {})

    columns = _metric_columns(summaries, result.runs, wanted)
    if sort_metric and sort_metric not in columns:
        columns.append(sort_metric)
    if columns != wanted:
        # The summaries of the columns come with the page, in one more query.
        result = search(columns)

    base: dict[str, Any] = {
        "status": ",".join(statuses),
        "tag": tag,
        "q": q,
        "sort": sort,
        "order": order,
        "metrics": metrics,
        "filter": filter_text,
        "cols": cols,
    }

    def url(**changes: Any) -> str:
        params = {**base, "page": page, **changes}
        kept = {k: v for k, v in params.items() if v not in ("", None) and (k != "page" or v != 1)}
        return f"/experiments/{experiment_id}" + (f"?{urlencode(kept)}" if kept else "")

    def sort_url(column: str) -> str:
        order_next = "asc" if sort == column and order == "desc" else "desc"
        return url(sort=column, order=order_next, page=1)

    last_page = max(1, math.ceil(result.total / PAGE_SIZE))
    at_fields = [f for f in extra if f.aggregate == "at"]
    at_steps = with_step_values(store, result.runs, {}, at_fields) if at_fields else {}
    return render(
        request,
        "runs.html",
        status_code=400 if filter_error else 200,
        filter_error=filter_error,
        extra_columns=extra,
        cell=lambda f, run: fmt_value(field_value(f, run, at_steps.get(run.run_id, {}))),
        choices=_column_choices(summaries, result.runs),
        live_data=_live_data(store, experiment_id),
        experiment=experiment,
        runs=result.runs,
        total=result.total,
        summaries=result.summaries,
        metric_columns=columns,
        statuses=list(RunStatus),
        selected_statuses=statuses,
        filters=base,
        page=page,
        last_page=last_page,
        first_index=(page - 1) * PAGE_SIZE + 1,
        url=url,
        sort_url=sort_url,
        sort=sort,
        order=order,
        run_label=run_label,
    )


def _live_data(store: Store, experiment_id: str) -> dict[str, Any]:
    """Where the runs table's live stream starts: the experiment's newest run number and
    run count (the rows' counters are on the rows)."""
    newest = store.search_runs(RunQuery(experiment_id=experiment_id, sort="number", limit=1))
    return {
        "experiment_id": experiment_id,
        "newest": newest.runs[0].number if newest.runs else 0,
        "total": newest.total,
    }


def _extra_columns(text: str) -> list[Field]:
    """``cols=params.lr,tags.model,metrics.loss@100``: the table's parameter, tag and
    property columns, and metrics at a step (a metric's summaries have their own
    ``metrics=`` columns, so another metric name is left out)."""
    fields: list[Field] = []
    for item in split_list([text]):
        prefix, dot, name = item.partition(".")
        at = re.fullmatch(r"(.+)@(-?\d+)", name) if prefix == "metrics" else None
        if at is not None:
            fields.append(Field(prefix, at.group(1), aggregate="at", step=int(at.group(2))))
        elif dot and name and prefix in PREFIXES and prefix != "metrics":
            fields.append(Field(prefix, name))
    return list(dict.fromkeys(fields))[:MAX_EXTRA_COLUMNS]


def _column_choices(summaries: Summaries, runs: Sequence[RunInfo]) -> dict[str, list[str]]:
    """What the column chooser offers: the tags, parameters and metrics the page's runs
    have (metrics of the first 20, to keep the page one quick read)."""
    tags: set[str] = set()
    params: set[str] = set()
    props: set[str] = set()
    metrics: set[str] = set()
    for i, run in enumerate(runs):
        tags.update(run.tags)
        props.update(run.properties)
        params.update(parameters(run.definition.get("arguments")))
        if i < _SUMMARISED:
            metrics.update(k for k, s in summaries(run.run_id).items() if s.value_type != "str")
    return {
        "params": sorted(params),
        "tags": sorted(tags),
        "properties": sorted(props),
        "metrics": sorted(metrics),
    }


@router.get("/runs/{run_id}")
def run_page(request: Request, store: StoreDep, run_id: str) -> HTMLResponse:
    run = store.get_run(run_id)
    experiment = store.get_experiment(run.experiment_id)
    parent = None
    if run.parent_run_id:
        try:
            parent = store.get_run(run.parent_run_id)
        except RunNotFoundError:
            parent = None
    summaries = store.get_metric_summaries(run_id)
    definition = dict(run.definition)
    client = {"run": run_json(run), "metrics": {k: summary_json(s) for k, s in summaries.items()}}
    return render(
        request,
        "run.html",
        run=run,
        experiment=experiment,
        parent=parent,
        label=run_label(run),
        definition=definition,
        environment=_as_mapping(definition.get("environment"), "name"),
        git=_as_mapping(definition.get("git"), "commit"),
        summaries=sorted(summaries.values(), key=lambda s: s.key),
        client_data=client,
    )


def _as_mapping(value: Any, key: str) -> Mapping[str, Any]:
    """A definition entry that may be a dict or a bare string (then it is ``key``)."""
    if isinstance(value, Mapping):
        return value
    return {} if value in (None, "") else {key: value}


@router.get("/compare")
def compare_page(
    request: Request,
    store: StoreDep,
    runs: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    run_ids = list(dict.fromkeys(split_list(runs)))
    if not run_ids:
        raise ValidationError("choose runs to compare: /compare?runs=RUN_ID,RUN_ID")
    if len(run_ids) > MAX_COMPARE:
        raise ValidationError(f"compare at most {MAX_COMPARE} runs at once")
    infos = [store.get_run(r) for r in run_ids]
    summaries: dict[str, dict[str, MetricSummary]] = {
        r.run_id: store.get_metric_summaries(r.run_id) for r in infos
    }
    keys = sorted({k for by_key in summaries.values() for k in by_key})
    experiments = {r.experiment_id: store.get_experiment(r.experiment_id) for r in infos}

    def rows(getter: Any) -> list[tuple[str, list[Any]]]:
        names = sorted({k for r in infos for k in getter(r)})
        return [(n, [getter(r).get(n) for r in infos]) for n in names]

    several = len(experiments) > 1

    def label(r: RunInfo) -> str:
        # Legends stay short: the experiment is named only when runs span several.
        return f"{run_label(r)} ({experiments[r.experiment_id].name})" if several else run_label(r)

    client = {
        "runs": [
            {
                "run_id": r.run_id,
                "label": label(r),
                "started_at": r.started_at or r.created_at,
                "tags": dict(r.tags),
                "params": parameters(r.definition.get("arguments")),
            }
            for r in infos
        ],
        "metrics": sorted(
            {k for by_key in summaries.values() for k, s in by_key.items() if s.value_type != "str"}
        ),
    }
    return render(
        request,
        "compare.html",
        runs=infos,
        experiments=experiments,
        run_label=run_label,
        metric_keys=keys,
        summaries=summaries,
        argument_rows=[("arguments", [encode_any(r.definition.get("arguments")) for r in infos])],
        tag_rows=rows(lambda r: r.tags),
        property_rows=rows(lambda r: r.properties),
        client_data=client,
    )
