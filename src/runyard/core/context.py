"""The parts ``Run.get_context()`` builds a run from, chosen by how the process started.

- Started by a runner (``RUNYARD_RUN_ID`` and friends set): the run's id, a
  ``JournalSink`` on the runner's journal, and a store opened only when a read needs it.
  The script's environment may lack SQLAlchemy and numpy, so nothing here imports them.
- Started on its own (``python train.py``): an offline run, with an ``OfflineSink`` that
  prints and keeps metrics in a scratch journal, and no store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runyard.config import (
    DEFAULT_STUDIO_PORT,
    ENV_WORKSPACE,
    RunContextEnv,
    run_context_from_environ,
)
from runyard.entities import RunInfo, RunKind, RunStatus
from runyard.errors import ConfigError, ValidationError
from runyard.tracking.offline_sink import OfflineSink
from runyard.tracking.sinks import JournalSink, MetricSink

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace
    from runyard.store.base import Store

OFFLINE_RUN_ID = "OfflineRun"


@dataclass(frozen=True)
class RunParts:
    """What a ``Run`` handle is composed of (its constructor's arguments)."""

    info: RunInfo | str  # the id alone where the details are read on first use
    sink: MetricSink
    open_store: Callable[[], Store] | None  # None: no store at all (offline)
    portal_url: str
    open_workspace: Callable[[], Workspace] | None = None  # read on first use


def context_parts(allow_offline: bool = True) -> RunParts:
    """The parts for this process's run, from the environment the runner set."""
    env = run_context_from_environ()
    if env is not None:
        return submitted_parts(env)
    if not allow_offline:
        raise ValidationError(
            "this process was not started by Runyard (no RUNYARD_RUN_ID) and allow_offline=False"
        )
    return offline_parts()


def offline_parts() -> RunParts:
    """A script run on its own: every call succeeds and prints; nothing is stored."""
    info = RunInfo(
        run_id=OFFLINE_RUN_ID,
        experiment_id="",
        number=0,
        kind=RunKind.INTERACTIVE,
        status=RunStatus.RUNNING,
        created_at=0.0,
        display_name=OFFLINE_RUN_ID,
    )
    return RunParts(info, OfflineSink(), None, "")


def submitted_parts(env: RunContextEnv) -> RunParts:
    """A script a runner started: writes go through the run's journal."""

    def open_store() -> Store:
        from runyard.store import open_store

        return open_store(env.tracking_uri, artifact_root=Path(env.artifact_root), token=env.token)

    base = (env.studio_url or f"http://127.0.0.1:{DEFAULT_STUDIO_PORT}").rstrip("/")
    portal = f"{base}/runs/{env.run_id}"
    return RunParts(
        env.run_id, JournalSink(env.journal), open_store, portal, lambda: _run_workspace(env)
    )


def _run_workspace(env: RunContextEnv) -> Workspace:
    """The workspace of the submitted run this process is: a local runner names its
    config in RUNYARD_WORKSPACE. A Ray node has no workspace config: there the
    workspace is the one the runner reports to, through the studio's HTTP store (the
    run's tracking URI and token)."""
    from runyard.core.workspace import Workspace
    from runyard.core.workspace_lookup import run_workspace_config

    path = run_workspace_config()
    if path is None and env.tracking_uri.startswith(("http://", "https://")):
        return _remote_workspace(env)
    if path is None:
        raise ConfigError(
            f"this run's process has no workspace config ({ENV_WORKSPACE} is not set to a "
            "file: a run on a Ray node has none); run.experiment.workspace is only "
            "available to runs on a local target"
        )
    return Workspace.from_config(path)


def _remote_workspace(env: RunContextEnv) -> Workspace:
    """A workspace over the studio's HTTP store, for a run on a Ray node. Its config
    lives nowhere on disk; its name is the studio's address (the node cannot read the
    workspace's own config)."""
    from urllib.parse import urlsplit

    from runyard.config import WorkspaceConfig
    from runyard.core.workspace import Workspace
    from runyard.store import open_store

    config = WorkspaceConfig(
        name=urlsplit(env.tracking_uri).netloc or "studio",
        tracking_uri=env.tracking_uri,
        artifact_root=env.artifact_root,
        studio_url=(env.studio_url or env.tracking_uri).rstrip("/"),
    )
    ws = Workspace(Path(env.artifact_root) / ".runyard" / "config.json", config)
    ws._store = open_store(env.tracking_uri, artifact_root=Path(env.artifact_root), token=env.token)
    return ws
