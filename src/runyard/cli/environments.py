"""``runyard env``: build, list, show and prune environments."""

from __future__ import annotations

from typing import Any

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.cli.output import echo_json, echo_table, fmt_time, list_json


@click.group()
def env() -> None:
    """Build, list, inspect and prune environments."""


@env.command("build")
@click.argument("ref")
@click.option(
    "--json", "as_json", is_flag=True, help="Print {name, version, hash, python, build_log}."
)
@pass_cli
def build(cli: CliContext, ref: str, as_json: bool) -> None:
    """Build REF (requirements.txt, conda .yml, or NAME[:VERSION]) into the cache."""
    from runyard.cli.progress import build_summary
    from runyard.cli.submit import load_environment
    from runyard.config import cache_dir
    from runyard.environments import build as build_env
    from runyard.environments import spec_hash

    environment = load_environment(cli.ws, ref)
    spec = environment.to_spec()
    # Beside the cache entry it describes, not in a temp folder nobody cleans up.
    log = cache_dir() / "logs" / f"{spec_hash(spec)}.log"
    with build_summary(environment.name, log):
        prepared = build_env(spec, log)
    if as_json:
        echo_json(
            {
                "name": environment.name,
                "version": environment.version,
                "hash": prepared.spec_hash,
                "python": str(prepared.python),
                "build_log": str(log),
            }
        )
        return
    click.echo(f"environment {environment.name} ({prepared.spec_hash[:12]}): {prepared.python}")
    click.echo(f"build log: {log}")


@env.command("list")
@click.option(
    "--json", "as_json", is_flag=True,
    help='Print {"total": N, "environments": [...], "cached": [...]}.',
)  # fmt: skip
@pass_cli
def list_envs(cli: CliContext, as_json: bool) -> None:
    """Registered environments of the workspace, and what is built in the cache."""
    from runyard.environments import curated_names, list_cached

    records = cli.ws.store.list_environments()
    cached = list_cached()
    if as_json:
        out: dict[str, Any] = list_json(
            "environment",
            [
                {
                    "name": r.name,
                    "version": r.version,
                    "hash": r.spec_hash,
                    "created_at": r.created_at,
                }
                for r in records
            ],
        )
        out["curated"] = curated_names()
        out["cached"] = [
            {"hash": c.hash, "path": str(c.path), "size": c.size_bytes, "last_used": c.last_used}
            for c in cached
        ]
        echo_json(out)
        return
    echo_table(
        ["name", "version", "hash", "registered"],
        [[r.name, r.version, r.spec_hash[:12], fmt_time(r.created_at)] for r in records],
        title="registered environments",
    )
    echo_table(["name"], [[n] for n in curated_names()], title="curated environments")
    echo_table(
        ["hash", "size MB", "last used", "path"],
        [[c.hash[:12], round(c.size_bytes / 1e6), fmt_time(c.last_used), c.path] for c in cached],
        title="built environments (cache)",
    )


@env.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Accepted for symmetry: it prints JSON.")
@pass_cli
def show(cli: CliContext, ref: str, as_json: bool) -> None:
    """Spec, hash, lock and location of REF, as JSON ({name, version, hash, spec,
    built, path, lock})."""
    from runyard.cli.submit import load_environment
    from runyard.environments import spec_hash
    from runyard.environments.cache import entry_path, is_complete

    del as_json  # the spec is nested data: JSON is its only form
    environment = load_environment(cli.ws, ref)
    spec = environment.to_spec()
    hash_ = spec_hash(spec)
    entry = entry_path(hash_)
    built = is_complete(entry)
    lock_file = entry / "lock.txt"
    echo_json(
        {
            "name": environment.name,
            "version": environment.version,
            "hash": hash_,
            "spec": spec,
            "built": built,
            "path": str(entry) if built else None,
            "lock": lock_file.read_text().splitlines() if built and lock_file.is_file() else None,
        }
    )


@env.command("prune")
@click.option(
    "--older-than-days",
    type=float,
    default=None,
    help="Only environments unused for this many days (default: every unused one).",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "paths": [...]}.')
def prune(older_than_days: float | None, as_json: bool) -> None:
    """Delete built environments from the cache (they are rebuilt when needed)."""
    from runyard.environments import prune as prune_envs

    removed = prune_envs(older_than_days=older_than_days)
    if as_json:
        echo_json(list_json("path", [str(p) for p in removed]))
        return
    for path in removed:
        click.echo(f"removed {path}")
    click.echo(f"{len(removed)} environment(s) removed")
