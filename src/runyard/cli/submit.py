"""``runyard submit``, and what ``--environment`` may name."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from runyard.cli.common import CliContext, parse_pairs, pass_cli
from runyard.cli.complete import complete_compute, complete_experiments
from runyard.errors import EnvironmentNotFoundError, ValidationError

if TYPE_CHECKING:
    from runyard.core.environment import Environment
    from runyard.core.workspace import Workspace

ENV_FILE_SUFFIXES = (".txt", ".yml", ".yaml", ".in", ".lock")


def _looks_like_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.startswith(".") or ref.endswith(ENV_FILE_SUFFIXES)


def _known_names(ws: Workspace) -> list[str]:
    from runyard.environments import curated_names

    return sorted({*curated_names(), *(r.name for r in ws.store.list_environments())})


def load_environment(ws: Workspace, ref: str) -> Environment:
    """``--environment``: a pip requirements file, a conda YAML file, or NAME[:VERSION]
    of a registered or curated environment (names are case-sensitive)."""
    from runyard.core.environment import Environment

    path = Path(ref)
    if path.is_file():
        name = path.stem.replace(" ", "-") or "env"
        if path.suffix in (".yml", ".yaml"):
            return Environment.from_conda_specification(name, str(path))
        return Environment.from_pip_requirements(name, str(path))
    if _looks_like_path(ref):
        raise ValidationError(
            f"--environment {ref}: the file {path.resolve()} does not exist. Give the path "
            "of a pip requirements file or a conda .yml, or the name of an environment "
            "(`runyard env list` shows them)"
        )
    name, _, version_text = ref.partition(":")
    if version_text and not version_text.isdigit():
        raise ValidationError(
            f"--environment {ref}: the version must be a number, e.g. {name}:2 (or just {name})"
        )
    version = int(version_text) if version_text else None
    if not name.lower().startswith("azureml-"):
        known = _known_names(ws)
        if name not in known:
            # Case matters: a near miss must not quietly build something else.
            same = [k for k in known if k.lower() == name.lower()]
            close = same or difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise EnvironmentNotFoundError(
                f"--environment {ref}: no registered environment {name!r} and no curated "
                f"one of that name{hint} (names are case-sensitive). The environments are: "
                f"{', '.join(known)} (`runyard env list` shows them); or give the path of a "
                "requirements.txt or conda .yml"
            )
    return Environment.get(ws, name, version=version)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("script")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--experiment", "-e", required=True, shell_complete=complete_experiments,
    help="Experiment name (created on first use).",
)  # fmt: skip
@click.option(
    "--source-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to snapshot; SCRIPT is relative to it.",
)
@click.option(
    "--compute", default="local", show_default=True, shell_complete=complete_compute,
    help="Compute target name.",
)  # fmt: skip
@click.option(
    "--environment",
    default=None,
    help="requirements.txt, conda .yml, or NAME[:VERSION] of a registered/curated one "
    "(default: the interpreter running runyard, as it is).",
)
@click.option("--tag", multiple=True, help="KEY=VALUE tag for the run (repeatable).")
@click.option("--max-duration", type=int, default=None, help="max_run_duration_seconds.")
@click.option(
    "--wait", "wait_", is_flag=True,
    help="Show status changes and build progress, then the output until the run ends.",
)  # fmt: skip
@click.option(
    "--json", "as_json", is_flag=True,
    help="Print the run object (with --wait: when it ends; its output goes to stderr).",
)  # fmt: skip
@pass_cli
def submit(
    cli: CliContext,
    script: str,
    args: tuple[str, ...],
    experiment: str,
    source_dir: str,
    compute: str,
    environment: str | None,
    tag: tuple[str, ...],
    max_duration: int | None,
    wait_: bool,
    as_json: bool,
) -> None:
    """Submit SCRIPT [ARGS...] as a run of an experiment."""
    from runyard.cli.output import echo_json, run_json
    from runyard.cli.runs_actions import follow_to_end
    from runyard.core.experiment import Experiment
    from runyard.core.script_run_config import ScriptRunConfig

    ws = cli.ws
    tags = parse_pairs("--tag", tag)
    env = load_environment(ws, environment) if environment else None
    config = ScriptRunConfig(
        source_directory=source_dir,
        script=script,
        arguments=list(args),
        compute_target=compute,
        environment=env,
        max_run_duration_seconds=max_duration,
    )
    run = Experiment(ws, experiment).submit(config, tags=tags or None)
    if not as_json or wait_:
        click.echo(f"Submitted {run.id}: {run.get_portal_url()}", err=as_json)
    if wait_:
        if not follow_to_end(cli, run.id, as_json):
            raise click.exceptions.Exit(1)
    elif as_json:
        echo_json(run_json(run.info))
