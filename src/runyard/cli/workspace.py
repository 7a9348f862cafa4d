from __future__ import annotations

import click

from runyard.cli.common import echo_json


@click.command()
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Workspace name (default: the folder's name).")
@click.option("--tracking-uri", default=None, help="sqlite:///PATH (default) or postgresql://...")
@click.option("--force", is_flag=True, help="Rewrite an existing config (e.g. one that is broken).")
@click.option("--json", "as_json", is_flag=True, help="Print the workspace as JSON.")
def init(path: str, name: str | None, tracking_uri: str | None, force: bool, as_json: bool) -> None:
    """Create a workspace: PATH/.runyard/config.json with a SQLite store beside it."""
    from runyard.core.workspace import Workspace

    ws = Workspace.create(path, name=name, tracking_uri=tracking_uri, force=force)
    if as_json:
        echo_json(ws.get_details())
    else:
        click.echo(f"Workspace {ws.name!r} ready at {ws.config_path}")
