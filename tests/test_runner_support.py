"""Helpers shared by the runner and compute tests (this module holds no tests): a real
workspace in ``tmp_path``, runs submitted through the real store, snapshot and
dispatcher, and polling with deadlines."""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from runyard.config import WorkspaceConfig
from runyard.entities import ACTIVE_STATUSES, ComputeTargetConfig, RunInfo, RunKind, RunStatus
from runyard.runner.local import open_workspace_store
from runyard.store import open_store
from runyard.store.artifacts import DRIVER_LOG, LocalArtifactRepository
from runyard.store.base import Store
from runyard.store.snapshots import SnapshotStore
from runyard.targets.local import dispatch
from runyard.workspace import ResolvedWorkspace, write_config
from runyard.workspace.owner import local_pid

T = TypeVar("T")
GRACE_S = 1.0


def wait_for(check: Callable[[], T | None], timeout: float = 30.0, what: str = "condition") -> T:
    """Polls ``check`` until it returns something truthy; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Workspace:
    root: Path
    config_path: Path
    store: Store
    targets: dict[str, ComputeTargetConfig]
    runs: list[str] = field(default_factory=list)

    @property
    def artifacts(self) -> LocalArtifactRepository:
        repo = self.store.artifacts
        assert isinstance(repo, LocalArtifactRepository)
        return repo

    def source(self, files: Mapping[str, str], name: str = "src") -> Path:
        folder = self.root / name
        for rel, text in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        return folder

    def create(
        self,
        script_text: str | None = None,
        *,
        script: str = "train.py",
        arguments: Sequence[str] = (),
        target: str = "cpu",
        max_duration: int | None = None,
        environment_variables: Mapping[str, str] | None = None,
        files: Mapping[str, str] | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> RunInfo:
        """Captures a snapshot and creates a Queued run (without dispatching)."""
        sources = dict(files or {})
        if script_text is not None:
            sources[script] = script_text
        folder = self.source(sources, name=f"src{len(self.runs)}")
        snap = SnapshotStore(self.artifacts.root / "snapshots").capture(folder)
        experiment = self.store.get_or_create_experiment("runner-tests")
        definition: dict[str, Any] = {
            "script": script,
            "arguments": list(arguments),
            "source_directory": str(folder),
            "snapshot_id": snap.snapshot_id,
            "environment": dict(environment) if environment is not None else None,
            "max_run_duration_seconds": max_duration,
            "environment_variables": dict(environment_variables or {}),
            "git": None,
        }
        run = self.store.create_run(
            experiment.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.QUEUED,
            compute_target=target,
            definition=definition,
        )
        self.runs.append(run.run_id)
        return run

    def submit(self, script_text: str | None = None, **kwargs: Any) -> RunInfo:
        run = self.create(script_text, **kwargs)
        self.dispatch(run.compute_target)
        return run

    def dispatch(self, target: str = "cpu") -> list[str]:
        return dispatch(self.store, self.config_path, self.targets[target])

    def wait(self, run_id: str, timeout: float = 30.0) -> RunInfo:
        def finished() -> RunInfo | None:
            run = self.store.get_run(run_id)
            return run if run.status.is_terminal() else None

        return wait_for(finished, timeout, f"run {run_id} to finish")

    def wait_status(self, run_id: str, status: RunStatus, timeout: float = 30.0) -> RunInfo:
        def reached() -> RunInfo | None:
            run = self.store.get_run(run_id)
            return run if run.status is status else None

        return wait_for(reached, timeout, f"run {run_id} to be {status.value}")

    def log(self, run_id: str) -> str:
        path = self.artifacts.local_path(run_id, DRIVER_LOG)
        return path.read_text() if path.exists() else ""

    def wait_log(self, run_id: str, text: str, timeout: float = 30.0) -> str:
        def logged() -> str | None:
            log = self.log(run_id)
            return log if text in log else None

        return wait_for(logged, timeout, repr(text))

    def stop_everything(self) -> None:
        """Kills runners still going at the end of a test (their scripts follow via
        PR_SET_PDEATHSIG)."""
        for run_id in self.runs:
            pid = local_pid(self.store.get_run(run_id).owner)
            if pid is not None and self.store.get_run(run_id).status in ACTIVE_STATUSES:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def make_workspace(tmp_path: Path, slots: int = 1) -> Iterator[Workspace]:
    targets = {
        "cpu": ComputeTargetConfig(
            name="cpu",
            type="local",
            max_concurrent_runs=slots,
            options={"cancel_grace_seconds": GRACE_S},
        )
    }
    config_path = tmp_path / ".runyard" / "config.json"
    write_config(
        config_path,
        WorkspaceConfig(
            name="tests",
            tracking_uri="sqlite:///runyard.db",
            artifact_root="artifacts",
            compute_targets=targets,
        ),
    )
    resolved = ResolvedWorkspace.load(config_path)
    # What `runyard init` does: only it creates a store (opening one never does).
    open_store(resolved.tracking_uri, artifact_root=resolved.artifact_root).close()
    _config, store = open_workspace_store(config_path)
    ws = Workspace(tmp_path, config_path, store, targets)
    try:
        yield ws
    finally:
        ws.stop_everything()
        store.close()


def pid_gone(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
