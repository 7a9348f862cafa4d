"""``runyard runs``: list (sorted, filtered, chosen columns), show and metrics; the
commands that act on a run are in runs_actions.py."""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Mapping

import click

from runyard.cli.columns import (
    MetricRef,
    check_metric,
    default_descending,
    parse_columns,
    parse_sort,
)
from runyard.cli.common import CliContext, parse_pairs, pass_cli
from runyard.cli.complete import complete_experiments, complete_run_ids
from runyard.cli.output import (
    echo_json,
    echo_table,
    fmt_duration,
    fmt_number,
    fmt_time,
    json_value,
    list_json,
    run_json,
    status_text,
)
from runyard.entities import MetricSummary, RunInfo, RunQuery, RunStatus
from runyard.errors import ExperimentNotFoundError, ValidationError
from runyard.store.base import Store
from runyard.store.filtered_search import search_filtered, step_sort, with_step_values
from runyard.store.reading import RunsReader
from runyard.store.runfilter import Field, parse_filter


@click.group()
def runs() -> None:
    """List, inspect, follow, cancel, download and rerun runs."""


def _status(value: str) -> RunStatus:
    try:
        return RunStatus.parse(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def experiment_id_of(store: RunsReader, name: str | None) -> str | None:
    """The id of experiment ``name`` (None for None); a clear error when unknown."""
    if name is None:
        return None
    exp = store.get_experiment_by_name(name)
    if exp is None:
        raise ExperimentNotFoundError(
            f"no experiment named {name!r}; `runyard experiments list` shows them"
        )
    return exp.experiment_id


def _logged_metrics(store: Store, listed: list[RunInfo]) -> list[str]:
    names: set[str] = set()
    for r in listed:
        names.update(store.get_metric_summaries(r.run_id))
    return sorted(names)


@runs.command("list")
@click.option(
    "--experiment", "-e", default=None, shell_complete=complete_experiments,
    help="Only runs of this experiment.",
)  # fmt: skip
@click.option("--status", "-s", multiple=True, help="Only runs in this status (repeatable).")
@click.option("--tag", multiple=True, help="KEY=VALUE tag filter (repeatable).")
@click.option(
    "--sort",
    default="created_at",
    show_default=True,
    help="created_at, number, status, duration, started_at, ended_at, "
    "metric:NAME[:last|min|max] (the last value unless a summary is named), or "
    "metric:NAME@STEP (the value at that step; runs without one come last).",
)
@click.option(
    "--asc/--desc",
    "ascending",
    default=None,
    help="Sort order. Default: metrics ascending (lowest first, the best loss first; "
    "--desc for accuracy), columns descending (newest first).",
)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Show at most this many runs (the JSON's total counts them all).",
)
@click.option(
    "--columns",
    default=None,
    help="Comma-separated columns: id, #, name, status, created, started, duration, "
    "compute, tags, params, error, metric:NAME[:last|min|max], metric:NAME@STEP (its value at "
    "that step). "
    "Default: id,#,status,started,duration,compute and the sort metric.",
)
@click.option(
    "--filter",
    "filter_text",
    default=None,
    help="Keep runs matching a filter, e.g. 'metrics.acc > 0.9 and tags.model = \"cnn\"' "
    "(fields metrics.NAME, min(metrics.NAME), params.NAME, tags.NAME, properties.NAME, "
    "status, name, number, duration, compute; and/or, parentheses; see docs/studio.md).",
)
@click.option(
    "--deleted", is_flag=True, help="List deleted runs (runyard runs restore ID brings one back)."
)
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "runs": [...]}.')
@pass_cli
def list_runs(
    cli: CliContext,
    experiment: str | None,
    status: tuple[str, ...],
    tag: tuple[str, ...],
    sort: str,
    ascending: bool | None,
    limit: int,
    columns: str | None,
    filter_text: str | None,
    deleted: bool,
    as_json: bool,
) -> None:
    """Runs, newest first, or sorted by a metric's summary (lowest first)."""
    run_filter = parse_filter(filter_text) if filter_text else None
    sort_metric = parse_sort(sort)
    chosen = parse_columns(columns, sort_metric)
    refs: list[tuple[str, MetricRef]] = [("--sort", sort_metric)] if sort_metric else []
    refs += [("--columns", c.metric) for c in chosen if c.metric is not None]
    descending = default_descending(sort_metric) if ascending is None else not ascending
    sort_key = sort if sort_metric is None else sort_metric.sort_key
    at_steps = [
        Field("metrics", c.metric.name, aggregate="at", step=c.metric.step)
        for c in chosen
        if c.metric is not None and c.metric.step is not None
    ]
    # A filter or a value at a step reads metric blocks: the store's. A plain list
    # may be read without opening it (Workspace.runs_reader).
    whole_store = run_filter is not None or step_sort(sort_key) is not None or bool(at_steps)
    with contextlib.nullcontext(cli.ws.store) if whole_store else cli.ws.runs_reader() as reader:
        query = RunQuery(
            experiment_id=experiment_id_of(reader, experiment),
            statuses=[_status(s) for s in status],
            tags=parse_pairs("--tag", tag),
            sort=sort_key,
            descending=descending,
            limit=limit,
            with_metrics=sorted({ref.name for _, ref in refs}),
            lifecycle="deleted" if deleted else "active",
        )
        if whole_store:
            page = search_filtered(cli.ws.store, query, run_filter)
        else:
            page = reader.search_runs(query)
    listed = list(page.runs)
    shown: Mapping[str, Mapping[str, MetricSummary]] = page.summaries
    if at_steps:
        shown = with_step_values(cli.ws.store, listed, page.summaries, at_steps)
    logged: list[str] | None = None
    for option, ref in refs:
        if listed and not any(ref.name in page.summaries.get(r.run_id, {}) for r in listed):
            logged = logged if logged is not None else _logged_metrics(cli.ws.store, listed)
            check_metric(ref, option, logged)
    if as_json:
        echo_json(
            list_json(
                "run", [run_json(r, page.summaries.get(r.run_id)) for r in listed], page.total
            )
        )
        return
    title = f"{len(listed)} of {page.total} runs"
    if sort_metric is not None:
        title += f", by {sort_metric.label}, {'highest' if descending else 'lowest'} first"
    echo_table(
        [c.header for c in chosen],
        [[c.cell(r, shown.get(r.run_id, {})) for c in chosen] for r in listed],
        title=title,
    )


@runs.command("show")
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option("--json", "as_json", is_flag=True, help="Print the run object (see docs/cli.md).")
@pass_cli
def show(cli: CliContext, run_id: str, as_json: bool) -> None:
    """A run's details: status, times, script, tags, properties, metric summaries."""
    store = cli.ws.store
    info = store.get_run(run_id)
    summaries = store.get_metric_summaries(run_id)
    if as_json:
        echo_json(run_json(info, summaries))
        return
    tty = sys.stdout.isatty()
    env = info.definition.get("environment")
    fields = [
        ("id", info.run_id),
        ("experiment", store.get_experiment(info.experiment_id).name),
        ("number", info.number),
        ("name", info.display_name),
        ("status", status_text(info.status, tty)),
        ("compute", info.compute_target),
        ("created", fmt_time(info.created_at)),
        ("started", fmt_time(info.started_at)),
        ("ended", fmt_time(info.ended_at)),
        ("duration", fmt_duration(info.duration)),
        ("script", info.definition.get("script")),
        ("arguments", " ".join(str(a) for a in info.definition.get("arguments") or [])),
        ("environment", env.get("name") if isinstance(env, dict) else None),
        ("exit code", info.exit_code),
        ("error", info.error),
    ]
    for key, value in fields:
        if value not in (None, ""):
            click.echo(f"{key}: {value}")
    for title, pairs in (("tags", info.tags), ("properties", info.properties)):
        if pairs:
            click.echo(f"{title}:")
            for k, v in sorted(pairs.items()):
                click.echo(f"  {k}={v}")
    if summaries:
        click.echo("metrics:")
        for key, s in sorted(summaries.items()):
            click.echo(
                f"  {key}: last {fmt_number(s.last)}, min {fmt_number(s.min)}, "
                f"max {fmt_number(s.max)} ({s.count} point{'' if s.count == 1 else 's'})"
            )


@runs.command("metrics")
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option("--name", default=None, help="Only this metric.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv: one line per point; json: one object per metric.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@pass_cli
def metrics(cli: CliContext, run_id: str, name: str | None, fmt: str, as_json: bool) -> None:
    """Every point of a run's scalar metrics, as CSV (metric,step,timestamp,value) or
    JSON ({"total": N, "metrics": [{"name", "steps", "timestamps", "values"}]})."""
    store = cli.ws.store
    store.get_run(run_id)
    keys = sorted(store.get_metric_summaries(run_id))
    if name is not None:
        if name not in keys:
            raise ValidationError(
                f"run {run_id} has no metric {name!r}; it logged: {', '.join(keys) or '(none)'}"
            )
        keys = [name]
    if as_json or fmt == "json":
        series = []
        for key in keys:
            s = store.get_metric_series(run_id, key)
            series.append(
                {
                    "name": key,
                    "steps": list(s.steps),
                    "timestamps": list(s.timestamps),
                    "values": [json_value(v) for v in s.values],
                }
            )
        echo_json(list_json("metric", series))
        return
    writer = csv.writer(sys.stdout)
    writer.writerow(["metric", "step", "timestamp", "value"])
    for key in keys:
        s = store.get_metric_series(run_id, key)
        writer.writerows(zip([key] * len(s.steps), s.steps, s.timestamps, s.values))
