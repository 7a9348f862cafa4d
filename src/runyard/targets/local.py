"""The local compute target: runners on this machine, at most ``max_concurrent_runs``
of a target at once. No daemon: queued runs wait as rows in the store, and whoever
may have freed a slot (a submission, a finishing runner, a reaper) fills the slots."""

from __future__ import annotations

import logging
from pathlib import Path

from runyard.entities import ComputeTargetConfig
from runyard.errors import RunyardError
from runyard.runner.launch import LocalRunnerStarter
from runyard.runner.reaper import reap_dead_runs
from runyard.runner.slots import fill_slots
from runyard.store.base import Store
from runyard.workspace.paths import ResolvedWorkspace
from runyard.workspace.targets import all_targets

log = logging.getLogger(__name__)


def dispatch(store: Store, config_path: Path, target: ComputeTargetConfig) -> list[str]:
    """Fails runs whose runner died (freeing their slots), then claims queued runs of
    ``target`` into its free slots and starts their runners. Returns the ids started."""
    reap_dead_runs(store)
    ws = ResolvedWorkspace.load(config_path)
    return fill_slots(store, target, LocalRunnerStarter(ws.config_path, ws.artifact_root))


def reap_and_refill(store: Store, config_path: Path) -> list[str]:
    """Fails runs whose process died; when some did, fills the local targets' freed
    slots with their queued runs. Returns the ids reaped. Housekeeping: a failure to
    start the next run is logged, never raised into an unrelated command."""
    reaped = reap_dead_runs(store)
    if reaped:
        try:
            ws = ResolvedWorkspace.load(config_path)
            starter = LocalRunnerStarter(ws.config_path, ws.artifact_root)
            for target in all_targets(ws.config).values():
                if target.type == "local":
                    fill_slots(store, target, starter)
        except (RunyardError, OSError) as exc:
            log.warning("could not start the queued runs after reaping: %s", exc)
    return reaped
