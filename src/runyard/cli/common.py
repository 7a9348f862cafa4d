"""What every command shares: the workspace (``-w`` on every command), ``KEY=VALUE``
parsing, and turning Runyard errors into one clear line and exit code 1."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from runyard.errors import RunyardError, ValidationError

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace

WORKSPACE_HELP = "Workspace folder or config file (default: found from the current folder)."


class CliContext:
    """The workspace a command works on, opened on first use."""

    def __init__(self, workspace: str | None = None) -> None:
        self.workspace_path = workspace
        self._ws: Workspace | None = None

    @property
    def ws(self) -> Workspace:
        if self._ws is None:
            from runyard.core.workspace import Workspace

            self._ws = Workspace.from_config(self.workspace_path)
        return self._ws


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def _set_workspace(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # `runyard runs list -w DIR` and `runyard -w DIR runs list` mean the same; the
    # nearer one wins when both are given.
    if value is not None:
        ctx.ensure_object(CliContext).workspace_path = value


def workspace_option() -> click.Option:
    """``-w/--workspace``, added to every command by :func:`add_workspace_option`."""
    return click.Option(
        ["--workspace", "-w"],
        type=click.Path(file_okay=True, dir_okay=True),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_set_workspace,
        help=WORKSPACE_HELP,
    )


def walk_commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    """Every command and group under ``group`` with its full name, depth first."""
    out: list[tuple[str, click.Command]] = []
    for name, cmd in sorted(group.commands.items()):
        out.append((f"{prefix} {name}", cmd))
        if isinstance(cmd, click.Group):
            out.extend(walk_commands(cmd, f"{prefix} {name}"))
    return out


def add_workspace_option(group: click.Group) -> None:
    """Gives every command under ``group`` its own ``-w`` (so none can forget it)."""
    for _name, cmd in walk_commands(group, ""):
        if not any(p.name == "workspace" for p in cmd.params):
            cmd.params.append(workspace_option())


def parse_pairs(option: str, items: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` items (tags everywhere in the CLI) as a dict."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            hint = f" (did you mean {key.replace(':', '=', 1)!r}?)" if ":" in item else ""
            raise ValidationError(
                f"{option} {item!r} must look like KEY=VALUE, e.g. {option} team=vision{hint}"
            )
        out[key] = value
    return out


def run_cli(group: click.Group) -> int:
    """Runs the command line; Runyard errors become ``error: ...`` and exit code 1."""
    try:
        # Without standalone mode click returns (not raises) a command's Exit code.
        result: Any = group.main(prog_name="runyard", standalone_mode=False)
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
