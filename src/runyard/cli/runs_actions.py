"""``runyard runs logs|cancel|download|rerun``: the commands that act on one run."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.cli.complete import complete_compute, complete_run_ids
from runyard.cli.output import echo_json, list_json, run_json
from runyard.cli.runs import runs
from runyard.entities import RunInfo
from runyard.errors import ArtifactNotFoundError
from runyard.store.artifacts import DRIVER_LOG


def follow_to_end(cli: CliContext, run_id: str, as_json: bool) -> bool:
    """Streams the run (progress on stderr, its log on stdout, or on stderr with
    ``--json``, whose stdout is the final run object); True when it Completed."""
    from runyard.cli.progress import follow

    store = cli.ws.store
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        info = follow(store, run_id)
    if as_json:
        echo_json(run_json(info, store.get_metric_summaries(run_id)))
    return info.status.value == "Completed"


@runs.command("logs")
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option(
    "--follow", "-f", is_flag=True,
    help="Show status changes and build progress, then new lines until the run ends.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help='Print {"run": {...}, "log": "..."}.')
@pass_cli
def logs(cli: CliContext, run_id: str, follow: bool, as_json: bool) -> None:
    """Print the run's driver log (stdout and stderr of its script)."""
    store = cli.ws.store
    store.get_run(run_id)
    if follow and not as_json:
        follow_to_end(cli, run_id, as_json=False)
        return
    if follow:
        from runyard.cli.progress import follow as follow_run

        with contextlib.redirect_stdout(sys.stderr):
            follow_run(store, run_id)
    try:
        text = store.artifacts.read_bytes(run_id, DRIVER_LOG).decode("utf-8", "replace")
    except ArtifactNotFoundError:
        text = None
    if as_json:
        info = store.get_run(run_id)
        echo_json({"run": run_json(info, store.get_metric_summaries(run_id)), "log": text or ""})
    elif text is None:
        click.echo("(no driver log yet)", err=True)
    else:
        sys.stdout.write(text)


@runs.command("cancel")
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option("--wait", "wait_", is_flag=True, help="Wait until the run has stopped.")
@click.option("--json", "as_json", is_flag=True, help="Print the run object.")
@pass_cli
def cancel(cli: CliContext, run_id: str, wait_: bool, as_json: bool) -> None:
    """Cancel a run: its script gets SIGTERM, then SIGKILL after a grace period."""
    from runyard.core.run import Run

    run = Run.get(cli.ws, run_id)
    run.cancel()
    if wait_:
        deadline = time.monotonic() + 120
        while not run.info.status.is_terminal() and time.monotonic() < deadline:
            time.sleep(0.2)
    if as_json:
        echo_json(run_json(run.info, cli.ws.store.get_metric_summaries(run_id)))
    else:
        click.echo(f"{run_id}: {run.get_status()}")


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True, shell_complete=complete_run_ids)
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "runs": [...]}.')
@pass_cli
def delete(cli: CliContext, run_ids: tuple[str, ...], as_json: bool) -> None:
    """Delete ended runs (with their children and trials): they leave the lists, and
    ``runyard runs restore ID`` brings them back. Nothing is removed from disk until
    ``runyard gc`` purges what is deleted."""
    _lifecycle(
        cli, run_ids, as_json, cli.ws.store.delete_run, "deleted (undo: runyard runs restore {})"
    )


@runs.command("restore")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "runs": [...]}.')
@pass_cli
def restore(cli: CliContext, run_ids: tuple[str, ...], as_json: bool) -> None:
    """Bring deleted runs back (with the children deleted with them)."""
    _lifecycle(cli, run_ids, as_json, cli.ws.store.restore_run, "restored")


def _lifecycle(
    cli: CliContext,
    run_ids: tuple[str, ...],
    as_json: bool,
    change: Callable[[str], RunInfo],
    said: str,
) -> None:
    done = [change(run_id) for run_id in run_ids]
    if as_json:
        echo_json(list_json("run", [run_json(r) for r in done]))
        return
    for run in done:
        click.echo(f"{run.run_id}: {said.format(run.run_id)}")


@runs.command("download")
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option("--path", "prefix", default=None, help="Only files under this path (e.g. outputs/).")
@click.option(
    "--output",
    "-o",
    default=".",
    type=click.Path(file_okay=False),
    show_default=True,
    help="Folder to download into (the run's paths are kept below it).",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "files": [...]}.')
@pass_cli
def download(cli: CliContext, run_id: str, prefix: str | None, output: str, as_json: bool) -> None:
    """Download a run's files."""
    from runyard.core.run import Run

    run = Run.get(cli.ws, run_id)
    # A bar of files and bytes on stderr when a person watches (not when piped, or --json).
    show = sys.stderr.isatty() and not as_json
    done = run.download_files(prefix=prefix, output_directory=output, show_progress=show)
    if as_json:
        echo_json(list_json("file", [str(p) for p in done]))
        return
    for path in done:
        click.echo(str(path))
    if not done:
        click.echo("no files matched", err=True)


@runs.command("rerun")
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option(
    "--compute", default=None, shell_complete=complete_compute,
    help="Run it on another compute target.",
)  # fmt: skip
@click.option("--wait", "wait_", is_flag=True, help="Stream its output until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the new run object.")
@pass_cli
def rerun(cli: CliContext, run_id: str, compute: str | None, wait_: bool, as_json: bool) -> None:
    """Start a new run from the same snapshot, arguments and locked environment."""
    from runyard.core.run import Run

    new = Run.get(cli.ws, run_id).resubmit(compute_target=compute)
    if wait_:
        click.echo(f"{new.id} (rerun of {run_id}): {new.get_portal_url()}", err=as_json)
        if not follow_to_end(cli, new.id, as_json):
            raise click.exceptions.Exit(1)
    elif as_json:
        echo_json(run_json(new.info))
    else:
        click.echo(f"{new.id} (rerun of {run_id}): {new.get_portal_url()}")
