"""``runyard experiments``."""

from __future__ import annotations

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.cli.output import echo_json, echo_table, fmt_time, list_json


@click.group()
def experiments() -> None:
    """List experiments."""


@experiments.command("list")
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "experiments": [...]}.')
@pass_cli
def list_experiments(cli: CliContext, as_json: bool) -> None:
    """Every experiment with its run count, last run and status counts."""
    stats = cli.ws.store.list_experiments()
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
