"""``runyard compute``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.cli.complete import complete_compute
from runyard.cli.output import echo_json, echo_table, list_json

if TYPE_CHECKING:
    from runyard.core.compute_target import ComputeTarget


def target_json(t: ComputeTarget) -> dict[str, Any]:
    """The one JSON shape of a compute target."""
    return {
        "name": t.name,
        "type": t.type,
        "max_concurrent_runs": t.config.max_concurrent_runs,
        "address": t.config.address or "",
    }


@click.group()
def compute() -> None:
    """Create and list compute targets."""


@compute.command("create")
@click.argument("name")
@click.option(
    "--type",
    "kind",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: runs on this machine; ray: runs on a Ray cluster (needs --address).",
)
@click.option(
    "--max-concurrent-runs",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    help="How many runs it runs at once; the rest wait, queued.",
)
@click.option(
    "--address", default=None, help="Ray job submission address, e.g. http://127.0.0.1:8265."
)
@click.option("--json", "as_json", is_flag=True, help="Print the compute target object.")
@click.option(
    "--server-url",
    default=None,
    help="Ray: the studio address the nodes report to (default: $RUNYARD_STUDIO_URL, "
    "else the workspace's studio). The token comes from $RUNYARD_TOKEN.",
)
@pass_cli
def create(
    cli: CliContext,
    name: str,
    kind: str,
    max_concurrent_runs: int,
    address: str | None,
    server_url: str | None,
    as_json: bool,
) -> None:
    """Add a compute target to the workspace (or update it)."""
    from runyard.core.compute_target import ComputeTarget, LocalCompute, RayCompute

    if kind == "ray":
        if not address:
            raise click.UsageError("--type ray needs --address http://HOST:8265")
        extra = {"server_url": server_url} if server_url else {}
        config = RayCompute.provisioning_configuration(
            address=address, max_concurrent_runs=max_concurrent_runs, **extra
        )
    else:
        config = LocalCompute.provisioning_configuration(max_concurrent_runs=max_concurrent_runs)
    target = ComputeTarget.create(cli.ws, name, config)
    if as_json:
        echo_json(target_json(target))
        return
    click.echo(
        f"compute target {target.name!r} ({target.type}, {max_concurrent_runs} slot(s)) saved"
    )


@compute.command("list")
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"total": N, "compute_targets": [...]}.'
)
@pass_cli
def list_targets(cli: CliContext, as_json: bool) -> None:
    """The workspace's compute targets."""
    targets = [target_json(t) for t in cli.ws.compute_targets.values()]
    if as_json:
        echo_json(list_json("compute_target", targets))
    else:
        echo_table(["name", "type", "slots", "address"], [list(t.values()) for t in targets])


@compute.command("delete")
@click.argument("name", shell_complete=complete_compute)
@click.option("--json", "as_json", is_flag=True, help='Print {"name": NAME, "removed": true}.')
@pass_cli
def delete(cli: CliContext, name: str, as_json: bool) -> None:
    """Remove a compute target from the workspace config."""
    cli.ws.compute_target_config(name)
    cli.ws.remove_compute_target(name)
    if as_json:
        echo_json({"name": name, "removed": True})
    else:
        click.echo(f"compute target {name!r} removed")
