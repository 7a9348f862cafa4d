from __future__ import annotations

import csv
import math
import sys
import time

import click

from runyard.cli.common import CliContext, echo_json, echo_table, fmt_duration, fmt_time, pass_cli
from runyard.entities import RunQuery, RunStatus
from runyard.errors import ArtifactNotFoundError, ValidationError
from runyard.store.artifacts import DRIVER_LOG


@click.group()
def runs() -> None:
    """List, inspect, follow, cancel and download runs."""


def _status(value: str) -> RunStatus:
    try:
        return RunStatus.parse(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


@runs.command("list")
@click.option("--experiment", "-e", default=None, help="Only runs of this experiment.")
@click.option("--status", "-s", multiple=True, help="Only runs in this status (repeatable).")
@click.option("--tag", multiple=True, help="KEY=VALUE tag filter (repeatable).")
@click.option(
    "--sort",
    default="created_at",
    show_default=True,
    help="created_at, number, status, duration, or metric:NAME[:last|min|max].",
)
@click.option("--asc", is_flag=True, help="Ascending order (default: descending).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_cli
def list_runs(
    cli: CliContext,
    experiment: str | None,
    status: tuple[str, ...],
    tag: tuple[str, ...],
    sort: str,
    asc: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Runs, newest first, or sorted by a metric's summary."""
    store = cli.ws.store
    experiment_id = None
    if experiment is not None:
        exp = store.get_experiment_by_name(experiment)
        if exp is None:
            from runyard.errors import ExperimentNotFoundError

            raise ExperimentNotFoundError(
                f"no experiment named {experiment!r}; `runyard experiments list` shows them"
            )
        experiment_id = exp.experiment_id
    tags = {}
    for item in tag:
        if "=" not in item:
            raise ValidationError(f"--tag {item!r} must look like KEY=VALUE")
        key, value = item.split("=", 1)
        tags[key] = value
    metric = sort.split(":")[1] if sort.startswith("metric:") and sort.count(":") >= 1 else None
    page = store.search_runs(
        RunQuery(
            experiment_id=experiment_id,
            statuses=[_status(s) for s in status],
            tags=tags,
            sort=sort,
            descending=not asc,
            limit=limit,
            with_metrics=[metric] if metric else [],
        )
    )
    if as_json:
        echo_json(
            {
                "total": page.total,
                "runs": [
                    {
                        "id": r.run_id,
                        "number": r.number,
                        "status": r.status.value,
                        "experiment_id": r.experiment_id,
                        "created_at": r.created_at,
                        "duration": r.duration,
                        "compute": r.compute_target,
                        "tags": dict(r.tags),
                        **(
                            {metric: _summary(page.summaries.get(r.run_id, {}).get(metric))}
                            if metric
                            else {}
                        ),
                    }
                    for r in page.runs
                ],
            }
        )
        return
    columns = ["id", "#", "status", "started", "duration", "compute"] + ([metric] if metric else [])
    rows = []
    for r in page.runs:
        row = [
            r.run_id,
            r.number,
            r.status.value,
            fmt_time(r.started_at),
            fmt_duration(r.duration),
            r.compute_target,
        ]
        if metric:
            s = page.summaries.get(r.run_id, {}).get(metric)
            row.append("" if s is None else s.last)
        rows.append(row)
    echo_table(columns, rows, title=f"{len(page.runs)} of {page.total} runs")


def _summary(s: object) -> object:
    if s is None:
        return None
    return {k: getattr(s, k) for k in ("count", "last", "min", "max")}


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def show(cli: CliContext, run_id: str, as_json: bool) -> None:
    """A run's details: status, times, definition, tags, properties, metric summaries."""
    from runyard.core.run import Run

    run = Run.get(cli.ws, run_id)
    details = run.get_details()
    summaries = cli.ws.store.get_metric_summaries(run_id)
    details["metrics"] = {k: _summary(v) for k, v in sorted(summaries.items())}
    if as_json:
        echo_json(details)
        return
    for key, value in details.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")


@runs.command("metrics")
@click.argument("run_id")
@click.option("--name", default=None, help="Only this metric.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@pass_cli
def metrics(cli: CliContext, run_id: str, name: str | None, fmt: str) -> None:
    """Every point of a run's scalar metrics, as CSV (metric,step,timestamp,value) or JSON."""
    store = cli.ws.store
    store.get_run(run_id)
    keys = sorted(store.get_metric_summaries(run_id))
    if name is not None:
        keys = [k for k in keys if k == name]
    if fmt == "json":
        out = {}
        for key in keys:
            s = store.get_metric_series(run_id, key)
            out[key] = {
                "steps": list(s.steps),
                "timestamps": list(s.timestamps),
                "values": [_json_value(v) for v in s.values],
            }
        echo_json(out)
        return
    writer = csv.writer(sys.stdout)
    writer.writerow(["metric", "step", "timestamp", "value"])
    for key in keys:
        s = store.get_metric_series(run_id, key)
        writer.writerows(zip([key] * len(s.steps), s.steps, s.timestamps, s.values))


def _json_value(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


@runs.command("logs")
@click.argument("run_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@pass_cli
def logs(cli: CliContext, run_id: str, follow: bool) -> None:
    """Print the run's driver log (stdout and stderr of its script)."""
    store = cli.ws.store
    store.get_run(run_id)
    if follow:
        from runyard.core.watch import wait

        wait(store, run_id, show_output=True)
        return
    try:
        sys.stdout.write(store.artifacts.read_bytes(run_id, DRIVER_LOG).decode("utf-8", "replace"))
    except ArtifactNotFoundError:
        click.echo("(no driver log yet)", err=True)


@runs.command("cancel")
@click.argument("run_id")
@click.option("--wait", "wait_", is_flag=True, help="Wait until the run has stopped.")
@pass_cli
def cancel(cli: CliContext, run_id: str, wait_: bool) -> None:
    """Cancel a run: its script gets SIGTERM, then SIGKILL after a grace period."""
    from runyard.core.run import Run

    run = Run.get(cli.ws, run_id)
    run.cancel()
    if wait_:
        deadline = time.monotonic() + 120
        while not run.info.status.is_terminal() and time.monotonic() < deadline:
            time.sleep(0.2)
    click.echo(f"{run_id}: {run.get_status()}")


@runs.command("download")
@click.argument("run_id")
@click.option("--path", "prefix", default=None, help="Only files under this path (e.g. outputs/).")
@click.option("--output", "-o", default=".", type=click.Path(file_okay=False), show_default=True)
@pass_cli
def download(cli: CliContext, run_id: str, prefix: str | None, output: str) -> None:
    """Download a run's files."""
    from runyard.core.run import Run

    done = Run.get(cli.ws, run_id).download_files(prefix=prefix, output_directory=output)
    for path in done:
        click.echo(str(path))
    if not done:
        click.echo("no files matched", err=True)


@runs.command("rerun")
@click.argument("run_id")
@click.option("--compute", default=None, help="Run it on another compute target.")
@click.option("--wait", "wait_", is_flag=True, help="Stream its output until it ends.")
@pass_cli
def rerun(cli: CliContext, run_id: str, compute: str | None, wait_: bool) -> None:
    """Start a new run from the same snapshot, arguments and locked environment."""
    from runyard.core.run import Run

    new = Run.get(cli.ws, run_id).resubmit(compute_target=compute)
    click.echo(f"{new.id} (rerun of {run_id}): {new.get_portal_url()}")
    if wait_:
        new.wait_for_completion(show_output=True)
