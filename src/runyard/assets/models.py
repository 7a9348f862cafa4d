"""Model files in the content-addressed blob store that snapshots use.

Registering hashes each file while copying it into ``blobs/`` (a content already there
is not stored again, so identical checkpoints across versions cost nothing), then
writes the version's row in one transaction: a registration killed midway leaves
blobs but no version, and a retry finds the blobs in place. Downloading checks each
file's sha256 as it is copied out.

The blobs are reached through :class:`ModelBlobs`: :class:`LocalBlobs` when the
workspace's files are on this machine, the HTTP store's when its tracking_uri is a
server (the bytes then go through ``/api/blobs``, checked on both sides).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from runyard.assets.hashing import content_hash
from runyard.entities import ModelVersion
from runyard.errors import ArtifactNotFoundError, ConflictError, ValidationError
from runyard.store.base import Store
from runyard.store.snapshots import SnapshotStore

_CHUNK = 1024 * 1024


def local_model_files(model_path: Path) -> list[tuple[str, Path]]:
    """(name in the model, file) for a file or a folder; names keep the last part of
    ``model_path`` (``outputs/net`` -> ``net/weights.pt``), as the SDK's download does."""
    path = Path(model_path).expanduser()
    if path.is_file():
        return [(path.name, path)]
    if not path.is_dir():
        raise ValidationError(
            f"model_path {str(model_path)!r} does not exist; give the file or folder "
            "that holds the model (for run.register_model, a path among the run's files, "
            "e.g. 'outputs/model.pt')"
        )
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            out.append((f"{path.name}/{full.relative_to(path).as_posix()}", full))
    if not out:
        raise ValidationError(f"model_path {str(model_path)!r} is an empty folder")
    return out


class ModelBlobs(Protocol):
    """Where a workspace's model files are kept, by content."""

    def put(self, source: Path) -> str:
        """Stores a file's content (once) and returns its sha256."""

    def fetch(self, sha256: str, target: Path) -> None:
        """Writes the blob to ``target`` atomically; ValidationError if it does not
        hash to ``sha256``, ArtifactNotFoundError if it is not kept."""


class LocalBlobs:
    """The snapshot blob store of a workspace on this machine."""

    def __init__(self, snapshots: SnapshotStore) -> None:
        self.snapshots = snapshots

    def put(self, source: Path) -> str:
        return self.snapshots.store_file(source)

    def fetch(self, sha256: str, target: Path) -> None:
        blob = self.snapshots.blob_path(sha256)
        if not blob.is_file():
            raise ArtifactNotFoundError(
                f"the blob of {target.name!r} ({sha256}) is not in {self.snapshots.root}; "
                "this machine does not hold the workspace's model files"
            )
        _copy_checked(blob, target, sha256)


def register(
    store: Store,
    blobs: ModelBlobs,
    name: str,
    files: Sequence[tuple[str, Path]],
    *,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
    run_id: str | None = None,
    dataset_ids: Sequence[str] = (),
) -> ModelVersion:
    manifest: dict[str, list[Any]] = {}
    for rel, full in files:
        size = os.stat(full).st_size
        manifest[rel] = [blobs.put(full), size]
    return store.register_model(
        name,
        manifest=manifest,
        content_hash=content_hash(manifest),
        description=description,
        tags=tags,
        properties=properties,
        run_id=run_id,
        dataset_ids=dataset_ids,
    )


def _copy_checked(source: Path, target: Path, expected: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    h = hashlib.sha256()
    try:
        with open(source, "rb") as src, open(tmp, "wb") as out:
            while chunk := src.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != expected:
            raise ValidationError(
                f"the stored copy of {target.name} is damaged (sha256 {h.hexdigest()}, "
                f"registered {expected}); register the model again from its source"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def download(
    blobs: ModelBlobs, model: ModelVersion, target_dir: Path, exist_ok: bool = False
) -> Path:
    """Copies the model's files into ``target_dir``; returns the model's path there
    (its file, or its top folder)."""
    target_dir = Path(target_dir).expanduser()
    manifest = model.manifest
    for rel in manifest:
        if (target_dir / rel).exists() and not exist_ok:
            raise ConflictError(
                f"{target_dir / rel} exists; pass exist_ok=True to overwrite it, or "
                "download into another folder"
            )
    for rel, (sha256, _size) in manifest.items():
        try:
            blobs.fetch(str(sha256), target_dir / rel)
        except ArtifactNotFoundError as exc:
            raise ArtifactNotFoundError(f"model {model.model_id}: {exc}") from None
    tops = {rel.split("/", 1)[0] for rel in manifest}
    return target_dir / tops.pop() if len(tops) == 1 else target_dir
