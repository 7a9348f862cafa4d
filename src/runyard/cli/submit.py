from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from runyard.cli.common import CliContext, pass_cli

if TYPE_CHECKING:
    from runyard.core.environment import Environment
    from runyard.core.workspace import Workspace


def load_environment(ws: Workspace, ref: str) -> Environment:
    """``--environment``: a pip requirements file, a conda YAML file, or NAME[:VERSION]
    of a registered or curated environment."""
    from runyard.core.environment import Environment

    path = Path(ref)
    if path.is_file():
        name = path.stem.replace(" ", "-") or "env"
        if path.suffix in (".yml", ".yaml"):
            return Environment.from_conda_specification(name, str(path))
        return Environment.from_pip_requirements(name, str(path))
    name, _, version = ref.partition(":")
    return Environment.get(ws, name, version=int(version) if version else None)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("script")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--experiment", "-e", required=True, help="Experiment name (created on first use).")
@click.option(
    "--source-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to snapshot; SCRIPT is relative to it.",
)
@click.option("--compute", default="local", show_default=True, help="Compute target name.")
@click.option(
    "--environment",
    default=None,
    help="requirements.txt, conda .yml, or NAME[:VERSION] of a registered/curated one.",
)
@click.option("--max-duration", type=int, default=None, help="max_run_duration_seconds.")
@click.option("--wait", "wait_", is_flag=True, help="Stream the output until the run ends.")
@pass_cli
def submit(
    cli: CliContext,
    script: str,
    args: tuple[str, ...],
    experiment: str,
    source_dir: str,
    compute: str,
    environment: str | None,
    max_duration: int | None,
    wait_: bool,
) -> None:
    """Submit SCRIPT [ARGS...] as a run of an experiment."""
    from runyard.core.experiment import Experiment
    from runyard.core.script_run_config import ScriptRunConfig

    ws = cli.ws
    env = load_environment(ws, environment) if environment else None
    config = ScriptRunConfig(
        source_directory=source_dir,
        script=script,
        arguments=list(args),
        compute_target=compute,
        environment=env,
        max_run_duration_seconds=max_duration,
    )
    run = Experiment(ws, experiment).submit(config)
    click.echo(f"Submitted {run.id}: {run.get_portal_url()}")
    if wait_:
        details = run.wait_for_completion(show_output=True, raise_on_error=False)
        if details["status"] != "Completed":
            raise click.exceptions.Exit(1)
