"""``runyard sweeps``: list, show, cancel and resume hyperparameter sweeps."""

from __future__ import annotations

import time
from typing import Any

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.cli.output import echo_json, echo_table, fmt_time, list_json, run_json
from runyard.entities import RunInfo, RunKind, RunQuery


@click.group()
def sweeps() -> None:
    """Hyperparameter sweeps (HyperDriveConfig): list, show, cancel, resume."""


@sweeps.command("list")
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "sweeps": [...]}.')
@pass_cli
def list_sweeps(cli: CliContext, as_json: bool) -> None:
    """Every sweep, newest first, with its trials and why it ended."""
    from runyard.sweeps.report import sweep_rows, sweep_spec
    from runyard.sweeps.samplers import planned_total
    from runyard.sweeps.spec import TAG_BEST_RUN, TAG_ENDED_BECAUSE

    store = cli.ws.store
    items: list[tuple[RunInfo, dict[str, Any]]] = []
    for info in _all_sweeps(cli):
        spec = sweep_spec(info)
        rows = sweep_rows(store, info)
        items.append(
            (
                info,
                {
                    "sampling": spec.sampling,
                    "metric": f"{spec.goal} {spec.primary_metric}",
                    "trials": len(rows),
                    "planned": planned_total(spec),
                    "best_run_id": info.tags.get(TAG_BEST_RUN),
                    "best": rows[0]["best_primary_metric"] if rows else None,
                    "ended_because": info.tags.get(TAG_ENDED_BECAUSE, ""),
                },
            )
        )
    if as_json:
        echo_json(list_json("sweep", [{**run_json(info), **extra} for info, extra in items]))
        return
    echo_table(
        ["id", "status", "created", "sampling", "goal", "trials", "best", "ended because"],
        [
            [
                info.run_id,
                info.status,
                fmt_time(info.created_at),
                extra["sampling"],
                extra["metric"],
                f"{extra['trials']}/{extra['planned']}",
                "" if extra["best"] is None else extra["best"],
                extra["ended_because"],
            ]
            for info, extra in items
        ],
    )


def _all_sweeps(cli: CliContext) -> list[RunInfo]:
    store = cli.ws.store
    out: list[RunInfo] = []
    offset = 0
    while True:
        page = store.search_runs(RunQuery(limit=500, offset=offset))
        out += [r for r in page.runs if r.kind is RunKind.SWEEP]
        offset += len(page.runs)
        if not page.runs or offset >= page.total:
            return out


def _sweep(cli: CliContext, sweep_id: str) -> RunInfo:
    from runyard.errors import ValidationError

    info = cli.ws.store.get_run(sweep_id)
    if info.kind is not RunKind.SWEEP:
        raise ValidationError(f"run {sweep_id} is a {info.kind.value} run, not a sweep")
    return info


@sweeps.command("show")
@click.argument("sweep_id")
@click.option("--json", "as_json", is_flag=True, help='Print {"sweep": {...}, "trials": [...]}.')
@pass_cli
def show(cli: CliContext, sweep_id: str, as_json: bool) -> None:
    """The sweep's trials sorted by the primary metric, with why each ended."""
    from runyard.sweeps.report import format_table, sweep_rows

    info = _sweep(cli, sweep_id)
    rows = sweep_rows(cli.ws.store, info)
    if as_json:
        echo_json({"sweep": run_json(info), "trials": rows})
    else:
        click.echo(format_table(info, rows))


@sweeps.command("cancel")
@click.argument("sweep_id")
@click.option("--wait", "wait_", is_flag=True, help="Wait until the sweep and its trials stopped.")
@click.option("--json", "as_json", is_flag=True, help="Print the sweep's run object.")
@pass_cli
def cancel(cli: CliContext, sweep_id: str, wait_: bool, as_json: bool) -> None:
    """Cancel a sweep: every unfinished trial is canceled, then the sweep."""
    from runyard.train.hyperdrive import HyperDriveRun

    _sweep(cli, sweep_id)
    run = HyperDriveRun(cli.ws.store, sweep_id, workspace=cli.ws)
    run.cancel()
    if wait_:
        deadline = time.monotonic() + 180
        while not run.info.status.is_terminal() and time.monotonic() < deadline:
            time.sleep(0.2)
    if as_json:
        echo_json(run_json(run.info))
    else:
        click.echo(f"{sweep_id}: {run.get_status()}")


@sweeps.command("resume")
@click.argument("sweep_id")
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"sweep": {...}, "controller_started": B}.'
)
@pass_cli
def resume(cli: CliContext, sweep_id: str, as_json: bool) -> None:
    """Restart the controller of a Running sweep whose controller died; it goes on
    from the trials in the store. (Any command that opens the workspace does this.)"""
    from runyard.sweeps.launch import resume as resume_sweep

    _sweep(cli, sweep_id)
    started = resume_sweep(cli.ws.store, cli.ws.config_path, sweep_id)
    if as_json:
        info = cli.ws.store.get_run(sweep_id)
        echo_json({"sweep": run_json(info), "controller_started": bool(started)})
        return
    click.echo(
        f"{sweep_id}: controller started" if started else f"{sweep_id}: its controller is running"
    )
