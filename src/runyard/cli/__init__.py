"""The ``runyard`` command: a thin layer over the library."""

from __future__ import annotations

import sys

import click

from runyard.cli.common import CliContext, run_cli
from runyard.cli.compute import compute
from runyard.cli.environments import env
from runyard.cli.experiments import experiments
from runyard.cli.runs import runs
from runyard.cli.studio import studio
from runyard.cli.submit import submit
from runyard.cli.workspace import init

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=True, dir_okay=True),
    default=None,
    help="Workspace folder or config file (default: found from the current folder).",
)
@click.version_option(package_name="runyard")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None) -> None:
    """Runyard: local-first ML experiments, runs, environments and a studio."""
    ctx.obj = CliContext(workspace)


for command in (init, experiments, runs, submit, compute, env, studio):
    cli.add_command(command)


def main() -> None:
    sys.exit(run_cli(cli))
