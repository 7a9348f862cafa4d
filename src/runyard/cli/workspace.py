"""``runyard init``: create a workspace, or change an existing one only when told to."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from runyard.cli.common import CliContext
from runyard.cli.output import echo_json
from runyard.config import CONFIG_DIRNAME, CONFIG_FILENAME
from runyard.errors import ConflictError, RunyardError, StoreError


def _differences(config_path: Path, name: str | None, tracking_uri: str | None) -> list[str]:
    from runyard.core.workspace import Workspace

    ws = Workspace.from_config(config_path)
    out = []
    if tracking_uri is not None and tracking_uri != ws.config.tracking_uri:
        out.append(f"its tracking URI is {ws.config.tracking_uri!r}, not {tracking_uri!r}")
    if name is not None and name != ws.name:
        out.append(f"its name is {ws.name!r}, not {name!r}")
    return out


@click.command()
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Workspace name (default: the folder's name).")
@click.option(
    "--tracking-uri",
    default=None,
    help="sqlite:///PATH (default: runyard.db beside the config) or "
    "postgresql://USER:PASSWORD@HOST:PORT/DB (see docs/postgresql.md).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Rewrite an existing config: a broken one, or to change its name or tracking URI "
    "(compute targets are kept).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the workspace as JSON.")
def init(path: str, name: str | None, tracking_uri: str | None, force: bool, as_json: bool) -> None:
    """Create a workspace: PATH/.runyard/config.json with a SQLite store beside it.

    On an existing workspace it changes nothing unless --force; a store that cannot be
    opened (a PostgreSQL server that refuses) leaves the config as it was.
    """
    from runyard.core.workspace import Workspace

    given = click.get_current_context().find_object(CliContext)
    if path == "." and given is not None and given.workspace_path is not None:
        path = given.workspace_path  # `runyard init -w DIR` is `runyard init DIR`
    root = Path(path).resolve()
    config_path = root / CONFIG_DIRNAME / CONFIG_FILENAME
    existed = config_path.exists()
    if existed and not force:
        changes = _differences(config_path, name, tracking_uri)
        if changes:
            flags = " ".join(
                f"--{k} {v}" for k, v in (("name", name), ("tracking-uri", tracking_uri)) if v
            )
            raise ConflictError(
                f"a workspace already exists at {config_path} and {'; '.join(changes)}. "
                f"To change it, run `runyard init {path} {flags} --force` (runs stored in "
                "the old store stay there)"
            )
        ws = Workspace.from_config(config_path)
        if as_json:
            echo_json(ws.get_details())
        else:
            click.echo(f"Workspace {ws.name!r} exists already at {ws.config_path}; unchanged")
        return
    old_text = config_path.read_bytes() if existed else None
    dir_existed = config_path.parent.exists()
    keep_targets = []
    if existed:
        try:
            old = Workspace.from_config(config_path)
            keep_targets = [c for n, c in old.config.compute_targets.items() if n != "local"]
            name = name if name is not None else old.name
        except RunyardError:
            pass  # a broken config: --force rewrites it from scratch
    try:
        ws = Workspace.create(root, name=name, tracking_uri=tracking_uri, force=force)
        for target in keep_targets:
            ws.add_compute_target(target)
    except RunyardError as exc:
        # Never leave a config pointing at a store that could not be opened.
        if old_text is not None:
            config_path.write_bytes(old_text)
        elif not dir_existed:
            shutil.rmtree(config_path.parent, ignore_errors=True)
        else:
            config_path.unlink(missing_ok=True)
        kept = "left as it was" if old_text is not None else "not created"
        hint = " (see docs/postgresql.md)" if tracking_uri and "postgres" in tracking_uri else ""
        raise StoreError(f"{exc}. The workspace config was {kept}{hint}") from exc
    if as_json:
        echo_json(ws.get_details())
    elif existed:
        click.echo(f"Workspace {ws.name!r} rewritten at {ws.config_path} ({ws.tracking_uri})")
    else:
        click.echo(f"Workspace {ws.name!r} ready at {ws.config_path}")
