"""``runyard experiments``."""

from __future__ import annotations

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.cli.complete import complete_experiments
from runyard.cli.output import echo_json, echo_table, fmt_time, list_json
from runyard.entities import Experiment
from runyard.errors import ExperimentNotFoundError
from runyard.store.base import Store


@click.group()
def experiments() -> None:
    """List, delete and restore experiments."""


@experiments.command("list")
@click.option("--deleted", is_flag=True, help="List deleted experiments instead.")
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "experiments": [...]}.')
@pass_cli
def list_experiments(cli: CliContext, deleted: bool, as_json: bool) -> None:
    """Every experiment with its run count, last run and status counts."""
    stats = cli.ws.store.list_experiments("deleted" if deleted else "active")
    if as_json:
        echo_json(
            list_json(
                "experiment",
                [
                    {
                        "id": s.experiment.experiment_id,
                        "name": s.experiment.name,
                        "runs": s.run_count,
                        "last_run_at": s.last_run_at,
                        "status_counts": dict(s.status_counts),
                        "deleted_at": s.experiment.deleted_at,
                        "tags": dict(s.experiment.tags),
                    }
                    for s in stats
                ],
            )
        )
        return
    echo_table(
        ["name", "runs", "last run", "statuses"],
        [
            [
                s.experiment.name,
                s.run_count,
                fmt_time(s.last_run_at),
                ", ".join(f"{k} {v}" for k, v in sorted(s.status_counts.items())),
            ]
            for s in stats
        ],
    )


@experiments.command("delete")
@click.argument("name", shell_complete=complete_experiments)
@click.option("--json", "as_json", is_flag=True, help="Print the experiment object.")
@pass_cli
def delete(cli: CliContext, name: str, as_json: bool) -> None:
    """Delete an experiment whose runs have all ended: it and its runs leave the lists,
    and ``runyard experiments restore NAME`` brings them back."""
    store = cli.ws.store
    done = store.delete_experiment(_experiment_id(store, name))
    _said(done, as_json, f"deleted (undo: runyard experiments restore {name})")


@experiments.command("restore")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the experiment object.")
@pass_cli
def restore(cli: CliContext, name: str, as_json: bool) -> None:
    """Bring a deleted experiment back, with its runs."""
    store = cli.ws.store
    _said(store.restore_experiment(_experiment_id(store, name)), as_json, "restored")


def _said(experiment: Experiment, as_json: bool, said: str) -> None:
    if as_json:
        echo_json(
            {
                "id": experiment.experiment_id,
                "name": experiment.name,
                "created_at": experiment.created_at,
                "deleted_at": experiment.deleted_at,
            }
        )
    else:
        click.echo(f"{experiment.name}: {said}")


def _experiment_id(store: Store, name: str) -> str:
    found = store.get_experiment_by_name(name)
    if found is None:
        raise ExperimentNotFoundError(
            f"no experiment named {name!r}; `runyard experiments list --deleted` shows the "
            "deleted ones, `runyard experiments list` the others"
        )
    return found.experiment_id
