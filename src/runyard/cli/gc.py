"""``runyard gc``: remove deleted runs and experiments for good (as ``mlflow gc``)."""

from __future__ import annotations

import re
import sys
import time

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.cli.output import echo_json
from runyard.entities import Purge
from runyard.errors import ValidationError

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_age(text: str) -> float:
    """Seconds in ``#d#h#m#s`` (any part may be left out: ``30d``, ``1d12h``, ``90m``),
    the format ``mlflow gc --older-than`` takes."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValidationError(
            f"--older-than {text!r} is not an age; write days, hours, minutes and seconds "
            "as #d#h#m#s, e.g. 30d, 1d12h or 90m"
        )
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"


def _said(purge: Purge) -> str:
    runs, exps = len(purge.run_ids), len(purge.experiment_ids)
    what = f"{runs} run(s)" + (f" and {exps} deleted experiment(s)" if exps else "")
    return f"{what}, {_size(purge.file_bytes)} of run files"


def _ids(option: str, noun: str, text: str | None) -> list[str] | None:
    if text is None:
        return None
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise ValidationError(f"{option} is empty; give deleted {noun} ids, comma-separated")
    return ids


@click.command("gc")
@click.option(
    "--older-than",
    default=None,
    metavar="AGE",
    help="Only what was deleted at least AGE ago (#d#h#m#s: 30d, 12h, 1d12h).",
)
@click.option(
    "--run-ids",
    default=None,
    metavar="ID,ID",
    help="Only these deleted runs (comma-separated), with their deleted children.",
)
@click.option(
    "--experiment-ids",
    default=None,
    metavar="ID,ID",
    help="Only these deleted experiments (comma-separated ids), with all their runs.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask on a terminal before removing.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"run_ids", "experiment_ids", "file_bytes", "dry_run"}.',
)
@pass_cli
def gc(
    cli: CliContext,
    older_than: str | None,
    run_ids: str | None,
    experiment_ids: str | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Remove deleted runs and experiments for good: their metrics, tags, files and
    folders (``runs delete`` and ``experiments delete`` only hide them, with undo).
    Registered models keep their files. On a terminal it asks first; --yes does not."""
    before = None if older_than is None else time.time() - parse_age(older_than)
    chosen = {
        "run_ids": _ids("--run-ids", "run", run_ids),
        "experiment_ids": _ids("--experiment-ids", "experiment", experiment_ids),
    }
    store = cli.ws.store
    if not dry_run and not yes and not as_json and sys.stdin.isatty():
        plan = store.purge_deleted(deleted_before=before, dry_run=True, **chosen)
        if not plan.run_ids and not plan.experiment_ids:
            click.echo("nothing to purge: no deleted runs or experiments match")
            return
        click.confirm(f"Remove {_said(plan)} for good?", abort=True, err=True)
        # What was shown, no more: a run deleted while the question waited stays.
        chosen = {"run_ids": list(plan.run_ids), "experiment_ids": list(plan.experiment_ids)}
    purge = store.purge_deleted(deleted_before=before, dry_run=dry_run, **chosen)
    if as_json:
        echo_json(
            {
                "run_ids": list(purge.run_ids),
                "experiment_ids": list(purge.experiment_ids),
                "file_bytes": purge.file_bytes,
                "dry_run": purge.dry_run,
            }
        )
        return
    for run_id in purge.run_ids:
        click.echo(f"{run_id}: {'would be purged' if dry_run else 'purged'}")
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {_said(purge)}")
