"""``target.get_status()``: a compute target's state with the SDK's ``serialize()`` keys.

Locally a slot stands for a node: the target always has ``max_nodes`` of them, busy
ones run a run (Preparing through Finalizing), free ones are idle.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from runyard.entities import ACTIVE_STATUSES, ComputeTargetConfig, RunQuery, RunStatus
from runyard.store.base import Store


def _iso(timestamp: object) -> str | None:
    if not isinstance(timestamp, (int, float)):
        return None
    return _dt.datetime.fromtimestamp(timestamp, tz=_dt.UTC).isoformat()


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True)
class ScaleSettings:
    """``target.scale_settings``: node counts and the idle time, as created."""

    minimum_node_count: int
    maximum_node_count: int
    idle_seconds_before_scaledown: int | None

    @classmethod
    def of(cls, config: ComputeTargetConfig) -> ScaleSettings:
        idle = config.options.get("idle_seconds_before_scaledown")
        return cls(
            minimum_node_count=_int(config.options.get("min_nodes"), 0),
            maximum_node_count=config.max_concurrent_runs,
            idle_seconds_before_scaledown=_int(idle, 0) if idle is not None else None,
        )

    def serialize(self) -> dict[str, Any]:
        idle = self.idle_seconds_before_scaledown
        return {
            "minNodeCount": self.minimum_node_count,
            "maxNodeCount": self.maximum_node_count,
            "nodeIdleTimeBeforeScaleDown": f"PT{idle}S" if idle is not None else None,
        }


@dataclass(frozen=True)
class ComputeStatus:
    """What ``get_status()`` returns; ``serialize()`` gives the SDK's dict."""

    name: str
    target_type: str
    provisioning_state: str
    current_node_count: int
    running_node_count: int
    preparing_node_count: int
    queued_run_count: int
    vm_size: str | None
    vm_priority: str | None
    scale_settings: ScaleSettings
    creation_time: str | None

    @property
    def idle_node_count(self) -> int:
        busy = self.running_node_count + self.preparing_node_count
        return max(0, self.current_node_count - busy)

    @property
    def state(self) -> str:
        """A compute instance's state: always ``"Running"`` (it is this machine)."""
        return "Running"

    def serialize(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.target_type,
            "currentNodeCount": self.current_node_count,
            "targetNodeCount": self.current_node_count,
            "maxConcurrentRuns": self.current_node_count,
            "nodeStateCounts": {
                "idleNodeCount": self.idle_node_count,
                "runningNodeCount": self.running_node_count,
                "preparingNodeCount": self.preparing_node_count,
                "unusableNodeCount": 0,
                "leavingNodeCount": 0,
                "preemptedNodeCount": 0,
            },
            "queuedRunCount": self.queued_run_count,
            "allocationState": "Steady",
            "state": self.state,
            "errors": None,
            "creationTime": self.creation_time,
            "provisioningState": self.provisioning_state,
            "scaleSettings": self.scale_settings.serialize(),
            "vmPriority": self.vm_priority,
            "vmSize": self.vm_size,
        }


def status_of(store: Store, config: ComputeTargetConfig, provisioning_state: str) -> ComputeStatus:
    """The target's status now, counting its runs in the store."""
    running = preparing = queued = 0
    statuses = (RunStatus.QUEUED, *ACTIVE_STATUSES)
    page = store.search_runs(RunQuery(compute_target=config.name, statuses=statuses, limit=10_000))
    for run in page.runs:
        if run.status is RunStatus.QUEUED:
            queued += 1
        elif run.status is RunStatus.PREPARING:
            preparing += 1
        else:
            running += 1
    options = config.options
    size = options.get("vm_size")
    priority = options.get("vm_priority")
    return ComputeStatus(
        name=config.name,
        target_type=config.type,
        provisioning_state=provisioning_state,
        current_node_count=config.max_concurrent_runs,
        running_node_count=running,
        preparing_node_count=preparing,
        queued_run_count=queued,
        vm_size=size if isinstance(size, str) and size else None,
        vm_priority=priority.capitalize() if isinstance(priority, str) and priority else None,
        scale_settings=ScaleSettings.of(config),
        creation_time=_iso(options.get("created_at")),
    )


def nodes_of(store: Store, config: ComputeTargetConfig) -> list[dict[str, Any]]:
    """``cluster.list_nodes()``: one entry per slot, with the SDK's keys; a busy slot names
    its run (``runId``), a free one is ``idle``. There are no node addresses locally."""
    page = store.search_runs(
        RunQuery(compute_target=config.name, statuses=tuple(ACTIVE_STATUSES), limit=10_000)
    )
    active = sorted(page.runs, key=lambda r: r.run_id)[: config.max_concurrent_runs]
    nodes: list[dict[str, Any]] = []
    for i in range(config.max_concurrent_runs):
        run = active[i] if i < len(active) else None
        state = (
            "idle"
            if run is None
            else ("preparing" if run.status is RunStatus.PREPARING else "running")
        )
        nodes.append(
            {
                "nodeId": f"{config.name}-{i}",
                "port": None,
                "publicIpAddress": None,
                "privateIpAddress": None,
                "nodeState": state,
                "runId": run.run_id if run is not None else None,
            }
        )
    return nodes
