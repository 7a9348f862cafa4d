"""``runyard studio``: bind first, then say where it listens."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.config import DEFAULT_STUDIO_PORT, ENV_TOKEN

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace


def rerun_in(ws: Workspace) -> Callable[[str], str]:
    """The studio's Rerun button: ``runyard runs rerun`` (same snapshot, arguments and
    locked environment) in ``ws``; takes a run id, gives the new run's id. The server
    may not import the SDK, so the CLI hands it this."""

    def rerun(run_id: str) -> str:
        from runyard.core.run import Run

        return Run.get(ws, run_id).resubmit().id

    return rerun


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback needs --token.",
)
@click.option(
    "--port",
    default=DEFAULT_STUDIO_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one (printed).",
)
@click.option(
    "--token",
    default=None,
    envvar=ENV_TOKEN,
    help="Access token (default: generated). Needed for writes, and for every "
    "request on a non-loopback address.",
)
@pass_cli
def studio(cli: CliContext, host: str, port: int, token: str | None) -> None:
    """Serve the studio (web UI) and the REST API for the workspace."""
    from runyard.server import check_bind
    from runyard.server.binding import bind_socket, serve

    ws = cli.ws
    check_bind(host, token)  # before binding: a refused address never listens
    sock = bind_socket(host, port)
    port = int(sock.getsockname()[1])
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    ws.set_studio_url(f"http://{shown_host}:{port}")
    serve(
        ws.store, host=host, port=port, token=token, workspace_name=ws.name, sock=sock,
        rerun=rerun_in(ws),
    )  # fmt: skip
