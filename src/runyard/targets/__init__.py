"""Compute targets: where a submitted run's runner is started.

``local`` runs on this machine in a pool of ``max_concurrent_runs`` slots; other
target types (Ray, later Kubernetes or Slurm) plug in through :func:`get_dispatcher`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from runyard.entities import ComputeTargetConfig
from runyard.errors import ComputeError
from runyard.store.base import Store

__all__ = ["Dispatcher", "get_dispatcher"]


class Dispatcher(Protocol):
    """Starts queued runs of a target: called after a run is queued and whenever a
    slot may have freed."""

    def check_submission(
        self,
        config_path: Path,
        target: ComputeTargetConfig,
        definition: Mapping[str, Any],
        experiment_id: str,
    ) -> None:
        """Raises ComputeError now, before the run exists, when the target can tell
        that it could not start it (a Ray cluster that does not answer, say)."""
        ...

    def dispatch(self, store: Store, config_path: Path, target: ComputeTargetConfig) -> list[str]:
        """Starts what the target has room for; returns the ids of the runs started."""
        ...


class _LocalDispatcher:
    def check_submission(
        self,
        config_path: Path,
        target: ComputeTargetConfig,
        definition: Mapping[str, Any],
        experiment_id: str,
    ) -> None:
        """This machine can always queue a run."""

    def dispatch(self, store: Store, config_path: Path, target: ComputeTargetConfig) -> list[str]:
        from runyard.targets.local import dispatch

        return dispatch(store, config_path, target)


def get_dispatcher(target: ComputeTargetConfig) -> Dispatcher:
    """The dispatcher for ``target.type``. Raises ComputeError for a type this
    installation cannot start runs on."""
    if target.type == "local":
        return _LocalDispatcher()
    if target.type == "ray":
        import importlib

        try:
            module = importlib.import_module("runyard.targets.ray")
        except ImportError as exc:
            raise ComputeError(
                f"compute target {target.name!r} is a Ray cluster, but Ray support is not "
                f"available here ({exc}); install it with `pip install 'runyard[ray]'`"
            ) from None
        dispatcher: Dispatcher = module.RayDispatcher()
        return dispatcher
    raise ComputeError(
        f"compute target {target.name!r} has type {target.type!r}; "
        "this installation can start runs on 'local' and 'ray' targets"
    )
