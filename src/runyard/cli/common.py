"""What every command shares: finding the workspace, printing tables and JSON, and
turning Runyard errors into one clear line and exit code 1."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from runyard.errors import RunyardError

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace


class CliContext:
    def __init__(self, workspace: str | None) -> None:
        self.workspace_path = workspace
        self._ws: Workspace | None = None

    @property
    def ws(self) -> Workspace:
        if self._ws is None:
            from runyard.core.workspace import Workspace

            self._ws = Workspace.from_config(self.workspace_path)
        return self._ws


pass_cli = click.make_pass_decorator(CliContext)


def run_cli(group: click.Group) -> int:
    try:
        # Without standalone mode click returns (not raises) a command's Exit code.
        result = group.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except RunyardError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, allow_nan=True))


def echo_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    """A rich table on a terminal; plain tab-separated text when piped."""
    if not sys.stdout.isatty():
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join("" if v is None else str(v) for v in row))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        # markup=False: names come from users and scripts, never interpret them
        table.add_row(*("" if v is None else str(v) for v in row))
    Console().print(table, markup=False)


def fmt_time(ts: float | None) -> str:
    if ts is None:
        return ""
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
