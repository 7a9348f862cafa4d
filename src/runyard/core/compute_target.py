"""Compute targets, with the tutorial SDK's names::

ComputeTarget.create(
    ws, "cpu-cluster", LocalCompute.provisioning_configuration(max_concurrent_runs=2)
)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runyard.config import compute_target_from_dict
from runyard.entities import ComputeTargetConfig
from runyard.errors import ConfigError

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace


class ProvisioningConfiguration:
    def __init__(self, type: str, **settings: Any) -> None:
        self.type = type
        self.settings = settings


class LocalCompute:
    """This machine, running at most ``max_concurrent_runs`` runs at once."""

    @staticmethod
    def provisioning_configuration(max_concurrent_runs: int = 1) -> ProvisioningConfiguration:
        return ProvisioningConfiguration("local", max_concurrent_runs=max_concurrent_runs)


class RayCompute:
    """A Ray cluster, reached through its job submission address."""

    @staticmethod
    def provisioning_configuration(
        address: str, max_concurrent_runs: int = 4, **options: Any
    ) -> ProvisioningConfiguration:
        return ProvisioningConfiguration(
            "ray", address=address, max_concurrent_runs=max_concurrent_runs, options=options
        )


class AmlCompute(LocalCompute):
    """The tutorial's cluster type; here it provisions a local pool of slots."""

    @staticmethod
    def provisioning_configuration(
        max_concurrent_runs: int = 1, max_nodes: int | None = None, **_: Any
    ) -> ProvisioningConfiguration:
        return ProvisioningConfiguration(
            "local", max_concurrent_runs=max_nodes or max_concurrent_runs
        )


class ComputeTarget:
    """A named compute target of a workspace."""

    def __init__(self, workspace: Workspace, config: ComputeTargetConfig | str) -> None:
        self.workspace = workspace
        self.config = workspace.compute_target_config(config) if isinstance(config, str) else config

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def type(self) -> str:
        return self.config.type

    @classmethod
    def create(
        cls, workspace: Workspace, name: str, provisioning_configuration: ProvisioningConfiguration
    ) -> ComputeTarget:
        """Adds (or updates) the target in the workspace config."""
        raw: dict[str, Any] = {
            "type": provisioning_configuration.type,
            **provisioning_configuration.settings,
        }
        if raw.get("options") is None:
            raw.pop("options", None)
        config = compute_target_from_dict(name, raw, "compute target")
        if name == "local" and config.type != "local":
            raise ConfigError("'local' is this machine; give a Ray target another name")
        workspace.add_compute_target(config)
        return cls(workspace, config)

    def wait_for_completion(self, show_output: bool = False, **_: Any) -> None:
        """Nothing to provision: a local pool or an existing cluster is ready at once."""

    def get_status(self) -> Mapping[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "maxConcurrentRuns": self.config.max_concurrent_runs,
        }

    def __repr__(self) -> str:
        return f"ComputeTarget(name={self.name!r}, type={self.type!r})"
