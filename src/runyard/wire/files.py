"""Run files and source snapshots on the wire (the bytes themselves travel raw)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runyard.entities import FileInfo
from runyard.wire.base import Answer, Body

__all__ = [
    "FileOut",
    "FilesOut",
    "LogChunkOut",
    "ManifestOut",
    "SnapshotIn",
]


class FileOut(Answer):
    path: str
    size: int
    modified_at: float

    def to_entity(self) -> FileInfo:
        return FileInfo(path=self.path, size=self.size, modified_at=self.modified_at)


class FilesOut(Answer):
    """``GET /api/runs/{run_id}/files``: every file, sorted by path."""

    files: list[FileOut]

    @classmethod
    def of(cls, files: Sequence[FileInfo]) -> FilesOut:
        return cls(
            files=[FileOut(path=f.path, size=f.size, modified_at=f.modified_at) for f in files]
        )


class LogChunkOut(Answer):
    """A range of the driver log as text; continue from ``next_offset``."""

    offset: int
    next_offset: int
    size: int
    data: str


class SnapshotIn(Body):
    """``PUT /api/snapshots/{snapshot_id}``: ``{"files": {path: {"sha256", "size",
    "mode"}}}``, exactly as ``GET`` answers it; upload every blob first."""

    files: dict[str, dict[str, Any]]


class ManifestOut(Answer):
    """``GET /api/snapshots/{snapshot_id}``."""

    snapshot_id: str
    files: dict[str, dict[str, Any]]
