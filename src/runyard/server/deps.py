"""What route functions receive: the store, and helpers shared by several routers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from runyard.errors import NotFoundError
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.base import Store
from runyard.store.snapshots import SnapshotStore


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]


def snapshot_root(store: Store) -> Path:
    """``<artifact_root>/snapshots``; only a local artifact repository has one."""
    artifacts = store.artifacts
    if not isinstance(artifacts, LocalArtifactRepository):
        raise NotFoundError("this studio's artifact store keeps no snapshots")
    return artifacts.root / "snapshots"


def snapshot_store(store: Store) -> SnapshotStore:
    """The workspace's snapshot store, under ``<artifact_root>/snapshots``."""
    return SnapshotStore(snapshot_root(store))


def file_size(store: Store, run_id: str, path: str) -> int | None:
    """Size of a run file, or None when it does not exist (yet)."""
    artifacts = store.artifacts
    if isinstance(artifacts, LocalArtifactRepository):
        try:
            return artifacts.local_path(run_id, path).stat().st_size
        except FileNotFoundError:
            return None
    for info in artifacts.list_files(run_id):
        if info.path == path:
            return info.size
    return None
