"""The local compute target: runners on this machine, at most ``max_concurrent_runs``
of a target at once. No daemon: queued runs wait as rows in the store, and whoever
may have freed a slot (a submission, a finishing runner) dispatches."""

from __future__ import annotations

from pathlib import Path

from runyard.entities import ComputeTargetConfig
from runyard.runner.launch import claim_and_launch
from runyard.runner.reaper import reap_dead_runs
from runyard.store.base import Store


def dispatch(store: Store, config_path: Path, target: ComputeTargetConfig) -> list[str]:
    """Fails runs whose runner died (freeing their slots), then claims queued runs of
    ``target`` into its free slots and starts their runners. Returns the ids started."""
    reap_dead_runs(store)
    return claim_and_launch(store, config_path, target)
