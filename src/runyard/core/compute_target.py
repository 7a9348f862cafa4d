"""Compute targets, with the SDK-v1 names (``runyard.core.compute`` re-exports them)::

    try:
        target = ComputeTarget(workspace=ws, name="cpu-cluster")
    except ComputeTargetException:
        cfg = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=4)
        target = ComputeTarget.create(ws, "cpu-cluster", cfg)
        target.wait_for_completion(show_output=True)

Here an ``AmlCompute`` cluster is a pool of ``max_nodes`` slots on this machine, or on
the workspace's Ray cluster when it names one (:meth:`Workspace.use_ray_cluster`); its
VM size and scale settings are recorded and shown, not provisioned. A
``ComputeInstance`` is this machine with one slot. ``ComputeTarget(ws, name)``,
``ws.compute_targets[name]`` and ``ComputeTarget.create`` return an object of the class
the target was created with, as the SDK does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from runyard.config import compute_target_from_dict
from runyard.core.compute_status import ComputeStatus, ScaleSettings, nodes_of, status_of
from runyard.core.notices import notice
from runyard.entities import ComputeTargetConfig
from runyard.errors import ComputeError, ComputeTargetException, ConfigError

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace

__all__ = [
    "AmlCompute",
    "ComputeInstance",
    "ComputeTarget",
    "ComputeTargetException",
    "LocalCompute",
    "ProvisioningConfiguration",
    "RayCompute",
]

SDK_CLASS = "sdk_class"  # the option naming the class a target was created with
# "cluster": a local pool, or a Ray target when the workspace names a Ray cluster.
_CLUSTER = "cluster"


class ProvisioningConfiguration:
    """What ``*.provisioning_configuration(...)`` returns: a target type and settings."""

    def __init__(self, type: str, sdk_class: str | None = None, **settings: Any) -> None:
        self.type = type
        self.sdk_class = sdk_class
        self.settings = settings

    def __repr__(self) -> str:
        return f"ProvisioningConfiguration(type={self.type!r}, settings={self.settings!r})"


def _ignored(kind: str, unused: Mapping[str, Any]) -> None:
    given = sorted(k for k, v in unused.items() if v not in (None, "", False, "NotSpecified"))
    if given:
        notice(
            f"{kind} setting(s) {', '.join(given)} have no meaning on local compute; "
            "recorded with the target, not used",
            key=f"{kind}:{','.join(given)}",
        )


class ComputeTarget:
    """A named compute target of a workspace: ``ComputeTarget(workspace=ws,
    name="cpu-cluster")`` looks it up, raising ComputeTargetException when the workspace
    has none of that name."""

    def __new__(cls, workspace: Workspace, name: str | ComputeTargetConfig) -> Self:
        config = workspace.compute_target_config(name) if isinstance(name, str) else name
        made = _class_of(config)
        if not issubclass(made, cls):
            raise ComputeTargetException(
                f"compute target {config.name!r} is a {made.__name__}, not a {cls.__name__}; "
                f"look it up with ComputeTarget(workspace=ws, name={config.name!r})"
            )
        return object.__new__(made)

    def __init__(self, workspace: Workspace, name: str | ComputeTargetConfig) -> None:
        self.workspace = workspace
        self.config = workspace.compute_target_config(name) if isinstance(name, str) else name

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def type(self) -> str:
        """Where runs go: ``"local"`` (this machine) or ``"ray"``."""
        return self.config.type

    @property
    def max_nodes(self) -> int:
        """How many runs the target runs at once (its slots)."""
        return self.config.max_concurrent_runs

    @property
    def vm_size(self) -> str | None:
        """The VM size the target was created with (recorded, not provisioned)."""
        value = self.config.options.get("vm_size")
        return value if isinstance(value, str) and value else None

    @property
    def provisioning_state(self) -> str:
        """``"Succeeded"``: a local pool, or an existing Ray cluster, is there at once."""
        return "Succeeded"

    @property
    def scale_settings(self) -> ScaleSettings:
        return ScaleSettings.of(self.config)

    @classmethod
    def create(
        cls, workspace: Workspace, name: str, provisioning_configuration: ProvisioningConfiguration
    ) -> ComputeTarget:
        """Adds (or updates) the target in the workspace config and returns it as an
        object of the class it was configured for."""
        cfg = provisioning_configuration
        raw: dict[str, Any] = {"type": cfg.type, **cfg.settings}
        options = dict(raw.pop("options", None) or {})
        if cfg.sdk_class:
            options[SDK_CLASS] = cfg.sdk_class
            options["created_at"] = time.time()
        if cfg.type == _CLUSTER:
            ray = workspace.config.ray_cluster
            raw["type"] = "ray" if ray else "local"
            if ray:
                raw["address"] = ray["address"]
                options = {**dict(ray.get("options") or {}), **options}
        if options:
            raw["options"] = options
        try:
            config = compute_target_from_dict(name, raw, "compute target")
        except ConfigError as exc:
            raise ComputeTargetException(str(exc)) from None
        if name == "local" and config.type != "local":
            raise ComputeTargetException("'local' is this machine; give a Ray target another name")
        workspace.add_compute_target(config)
        return ComputeTarget(workspace, config)

    @classmethod
    def list(cls, workspace: Workspace) -> list[ComputeTarget]:
        """The workspace's targets, each as an object of the class it was created with."""
        return list(workspace.compute_targets.values())

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 25,
        is_delete_operation: bool = False,
    ) -> None:
        """Provisioning is immediate here: a local pool is ready at once; a Ray target
        is ready when its cluster answers (ComputeTargetException if it does not)."""
        if self.type == "ray" and self.config.address and not is_delete_operation:
            from runyard.runner import ray_jobs

            try:
                ray_jobs.probe(self.config.address)
            except ComputeError as exc:
                raise ComputeTargetException(
                    f"compute target {self.name!r}: provisioning failed: {exc}"
                ) from None
        if show_output:
            print(f"{self.provisioning_state}: {self.describe()}", flush=True)

    def describe(self) -> str:
        """One line: what the target is here, and what the cloud settings were."""
        where = (
            f"the Ray cluster at {self.config.address}" if self.type == "ray" else "this machine"
        )
        size = f"; VM size {self.vm_size} recorded, not provisioned" if self.vm_size else ""
        return f"{self.name} runs up to {self.max_nodes} run(s) at once on {where}{size}"

    def get_status(self) -> ComputeStatus:
        """The target's state, with the SDK's ``serialize()`` keys: slots stand for
        nodes (busy slots run runs, free ones are idle)."""
        return status_of(self.workspace.store, self.config, self.provisioning_state)

    @property
    def status(self) -> ComputeStatus:
        return self.get_status()

    def serialize(self) -> dict[str, Any]:
        """The target as a JSON-able dict (its name, class, settings)."""
        return {
            "name": self.name,
            "type": type(self).__name__,
            "target": self.type,
            "maxNodes": self.max_nodes,
            "address": self.config.address,
            "properties": {k: v for k, v in self.config.options.items() if k != "token"},
        }

    def delete(self) -> None:
        """Removes the target from the workspace (queued runs of it stay queued until
        a target of that name exists again)."""
        if self.name == "local":
            raise ComputeTargetException("'local' is this machine and cannot be deleted")
        self.workspace.remove_compute_target(self.name)

    def detach(self) -> None:
        """As :meth:`delete`: locally there is nothing left behind to keep."""
        self.delete()

    def __repr__(self) -> str:
        size = f", vm_size={self.vm_size!r}" if self.vm_size else ""
        return (
            f"{type(self).__name__}(name={self.name!r}, type={self.type!r}, "
            f"max_nodes={self.max_nodes}{size})"
        )


class LocalCompute(ComputeTarget):
    """This machine, running at most ``max_concurrent_runs`` runs at once."""

    @staticmethod
    def provisioning_configuration(max_concurrent_runs: int = 1) -> ProvisioningConfiguration:
        return ProvisioningConfiguration("local", max_concurrent_runs=max_concurrent_runs)


class RayCompute(ComputeTarget):
    """A Ray cluster, reached through its job submission address."""

    @staticmethod
    def provisioning_configuration(
        address: str, max_concurrent_runs: int = 4, **options: Any
    ) -> ProvisioningConfiguration:
        return ProvisioningConfiguration(
            "ray", address=address, max_concurrent_runs=max_concurrent_runs, options=options
        )


class AmlCompute(ComputeTarget):
    """The SDK's managed cluster: here ``max_nodes`` slots on this machine (or on the
    workspace's Ray cluster). ``vm_size``, ``vm_priority``, ``min_nodes`` and
    ``idle_seconds_before_scaledown`` are recorded and shown; networking and login
    settings are accepted with a notice."""

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        max_concurrent_runs: int | None = None,
        **cloud_only: Any,
    ) -> ProvisioningConfiguration:
        """As the SDK's: ``max_nodes`` (default 1 here) is the number of runs at once."""
        _ignored("AmlCompute", cloud_only)
        slots = max_nodes if max_nodes is not None else (max_concurrent_runs or 1)
        min_nodes, slots = _node_counts(min_nodes, slots)
        options = {
            "vm_size": vm_size,
            "vm_priority": vm_priority,
            "min_nodes": min_nodes,
            "idle_seconds_before_scaledown": idle_seconds_before_scaledown,
            **({"tags": dict(tags)} if tags else {}),
            **({"description": description} if description else {}),
        }
        return ProvisioningConfiguration(
            _CLUSTER, "AmlCompute", max_concurrent_runs=slots, options=options
        )

    @staticmethod
    def supported_vmsizes(
        workspace: Workspace, location: str | None = None
    ) -> list[dict[str, Any]]:
        """This machine, described as the one VM size there is locally."""
        import os

        return [{"name": "local", "vCPUs": os.cpu_count() or 1, "gpus": 0}]

    def update(
        self,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
    ) -> None:
        """As the SDK's: ``max_nodes`` is the number of runs at once from now on (queued
        runs start at once in slots it adds; a running run keeps its slot when it
        removes some); ``min_nodes`` and the scale-down time are recorded."""
        import dataclasses

        from runyard.targets import get_dispatcher

        options = dict(self.config.options)
        least, slots = _node_counts(
            options.get("min_nodes", 0) if min_nodes is None else min_nodes,
            self.config.max_concurrent_runs if max_nodes is None else max_nodes,
        )
        options["min_nodes"] = least
        if idle_seconds_before_scaledown is not None:
            options["idle_seconds_before_scaledown"] = idle_seconds_before_scaledown
        self.config = dataclasses.replace(self.config, max_concurrent_runs=slots, options=options)
        self.workspace.add_compute_target(self.config)
        get_dispatcher(self.config).dispatch(
            self.workspace.store, self.workspace.config_path, self.config
        )

    def list_nodes(self) -> list[dict[str, Any]]:
        """The SDK's node list: one entry per slot, ``nodeState`` ``idle`` or the run's
        (``running``/``preparing``) with its ``runId``; addresses are ``None``."""
        return nodes_of(self.workspace.store, self.config)


def _node_counts(min_nodes: Any, max_nodes: Any) -> tuple[int, int]:
    """``min_nodes`` and ``max_nodes`` (the slots), checked as the SDK's cluster is."""
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise ComputeTargetException(f"max_nodes must be a whole number >= 1, got {max_nodes!r}")
    if not isinstance(min_nodes, int) or isinstance(min_nodes, bool) or min_nodes < 0:
        raise ComputeTargetException(f"min_nodes must be a whole number >= 0, got {min_nodes!r}")
    if min_nodes > max_nodes:
        raise ComputeTargetException(
            f"min_nodes ({min_nodes}) is more than max_nodes ({max_nodes}); lower min_nodes"
        )
    return min_nodes, max_nodes


class ComputeInstance(ComputeTarget):
    """The SDK's single-VM workstation: here this machine, one run at a time."""

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        ssh_public_access: bool = False,
        admin_user_ssh_public_key: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        **cloud_only: Any,
    ) -> ProvisioningConfiguration:
        _ignored("ComputeInstance", {"ssh_public_access": ssh_public_access,
                                     "admin_user_ssh_public_key": admin_user_ssh_public_key,
                                     **cloud_only})  # fmt: skip
        options = {
            "vm_size": vm_size,
            **({"tags": dict(tags)} if tags else {}),
            **({"description": description} if description else {}),
        }
        return ProvisioningConfiguration(
            "local", "ComputeInstance", max_concurrent_runs=1, options=options
        )

    def get(self) -> ComputeInstance:
        """Refreshes the instance from the workspace config."""
        self.config = self.workspace.compute_target_config(self.name)
        return self


_CLASSES: dict[str, type[ComputeTarget]] = {
    "AmlCompute": AmlCompute,
    "ComputeInstance": ComputeInstance,
}


def _class_of(config: ComputeTargetConfig) -> type[ComputeTarget]:
    made = _CLASSES.get(str(config.options.get(SDK_CLASS)))
    if made is not None:
        return made
    return RayCompute if config.type == "ray" else LocalCompute
