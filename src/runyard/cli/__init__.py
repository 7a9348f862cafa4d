"""The ``runyard`` command: a thin layer over the library."""

from __future__ import annotations

import sys

import click

from runyard.cli.assets import dataset, datastore, model
from runyard.cli.common import CliContext, add_workspace_option, run_cli, workspace_option
from runyard.cli.compute import compute
from runyard.cli.environments import env
from runyard.cli.experiments import experiments
from runyard.cli.gc import gc
from runyard.cli.runs import runs
from runyard.cli.runs_actions import cancel, download, logs, rerun
from runyard.cli.studio import studio
from runyard.cli.submit import submit
from runyard.cli.sweeps import sweeps
from runyard.cli.workspace import init

__all__ = ["cli", "main"]

# The actions register themselves on `runs` when imported; named here so they are kept.
_RUN_ACTIONS = (logs, cancel, download, rerun)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="runyard")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Runyard: local-first ML experiments, runs, environments and a studio.

    Every command takes -w/--workspace PATH (before or after the command's name) and,
    where it prints, --json. Shell completion: see docs/cli.md.
    """
    ctx.ensure_object(CliContext)


cli.params.insert(0, workspace_option())
for command in (
    init,
    experiments,
    runs,
    submit,
    compute,
    env,
    studio,
    sweeps,
    datastore,
    dataset,
    model,
    gc,
):
    cli.add_command(command)
add_workspace_option(cli)


def main() -> None:
    sys.exit(run_cli(cli))
