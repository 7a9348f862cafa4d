"""The parts of a runner on the workspace's own machine::

    python -m runyard.runner RUN_ID --workspace-config PATH

The claim comes from the file the launcher wrote (so the script starts before the
store is opened), the run's files are the workspace's, the store is the workspace's,
the logs need no sending, and the next queued run of a local target gets a runner
process of its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from runyard.entities import ComputeTargetConfig, RunStatus
from runyard.errors import RunyardError
from runyard.runner.launch import LocalRunnerStarter
from runyard.runner.parts import NoLogSink, RunGone, RunnerParts, ScriptContext
from runyard.runner.paths import Claim, RunPaths, read_claim
from runyard.runner.signals import Signals
from runyard.runner.slots import RunStarter
from runyard.runner.supervisor import Supervisor, say
from runyard.store.base import Store
from runyard.store.runner_protocol import RunnerStore
from runyard.workspace.paths import ResolvedWorkspace

USAGE = "usage: python -m runyard.runner RUN_ID --workspace-config PATH"


def open_workspace_store(
    config_path: Path, token: str | None = None
) -> tuple[ResolvedWorkspace, Store]:
    """Reads a workspace config and opens its store."""
    from runyard.store import open_store

    ws = ResolvedWorkspace.load(config_path)
    ws.check_store()  # only `runyard init` creates a store
    return ws, open_store(ws.tracking_uri, artifact_root=ws.artifact_root, token=token)


class ClaimFileSource:
    """The claim the launcher wrote beside the run; without one (a runner started by
    hand), the run as the store has it, if it is claimed."""

    def __init__(self, paths: RunPaths) -> None:
        self.paths = paths

    def claim(self, store: Callable[[], RunnerStore]) -> Claim:
        found = read_claim(self.paths)
        if found is not None:
            return found
        info = store().get_run(self.paths.run_id)
        if info.status is not RunStatus.PREPARING:
            raise RunGone(
                f"it is {info.status.value}; a runner only starts a claimed "
                "(Preparing) run: dispatch the target instead"
            )
        return Claim.of(info)


class LocalLauncher:
    """Starts runner processes on this machine for a local target's queued runs."""

    def __init__(self, ws: ResolvedWorkspace) -> None:
        self.ws = ws

    def starter(self, target: ComputeTargetConfig) -> RunStarter | None:
        if target.type != "local":
            return None
        return LocalRunnerStarter(self.ws.config_path, self.ws.artifact_root)


def local_parts(run_id: str, ws: ResolvedWorkspace) -> RunnerParts:
    """The parts of a runner for ``run_id`` of the workspace ``ws``."""
    paths = RunPaths(run_id, ws.artifact_root)

    def connect() -> RunnerStore:
        from runyard.store import open_store  # SQLAlchemy: after the script started

        ws.check_store()  # a database gone meanwhile is not silently made anew
        return open_store(ws.tracking_uri, artifact_root=ws.artifact_root)

    return RunnerParts(
        run_id=run_id,
        paths=paths,
        source=ClaimFileSource(paths),
        open_store=connect,
        logs=NoLogSink(),
        launcher=LocalLauncher(ws),
        targets=ws.target,
        script=ScriptContext(
            tracking_uri=ws.tracking_uri,
            artifact_root=ws.artifact_root,
            studio_url=ws.config.studio_url,
            workspace_config=ws.config_path,
        ),
    )


def parse_args(argv: list[str]) -> tuple[str, Path]:
    """``RUN_ID --workspace-config PATH``. (Not argparse: the runner's start-up time
    is the run's start-up time, and argparse is a slow import for two arguments.)"""
    run_id: str | None = None
    config: str | None = None
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help"):
            print(f"{USAGE}\n\nSupervises one submitted run of a workspace.")
            raise SystemExit(0)
        if arg == "--workspace-config":
            config = next(args, None)
        elif arg.startswith("--workspace-config="):
            config = arg.partition("=")[2]
        elif run_id is None and not arg.startswith("-"):
            run_id = arg
        else:
            print(f"{USAGE}\nunexpected argument {arg!r}", file=sys.stderr)
            raise SystemExit(2)
    if not run_id or not config:
        print(f"{USAGE}\nboth RUN_ID and --workspace-config are required", file=sys.stderr)
        raise SystemExit(2)
    return run_id, Path(config)


def main(argv: list[str]) -> int:
    run_id, config_path = parse_args(argv)
    # Signals first: a cancel that comes while the runner starts must not kill it.
    signals = Signals()
    try:
        ws = ResolvedWorkspace.load(config_path)
    except RunyardError as exc:
        say(f"cannot read the workspace: {exc}")
        return 2
    return Supervisor(local_parts(run_id, ws), signals).run()
