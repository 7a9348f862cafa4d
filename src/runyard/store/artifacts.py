"""Run files: outputs, logs, uploaded files, images, and the driver log.

``ArtifactRepository`` is the interface; ``LocalArtifactRepository`` keeps files under
the workspace's artifact root as ``runs/<run_id>/<path>``. Paths are always relative,
``/``-separated, and can never leave the run's folder.
"""

from __future__ import annotations

import abc
import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from runyard.entities import FileInfo
from runyard.errors import ArtifactNotFoundError, ValidationError

DRIVER_LOG = "system_logs/driver.log"
ENVIRONMENT_BUILD_LOG = "system_logs/environment_build.log"
JOURNAL_NAME = "journal.bin"  # kept beside the run's files, never listed as one


def clean_relative_path(path: str) -> str:
    """Normalises a run file path; refuses absolute paths and any ``..``."""
    if not isinstance(path, str) or not path.strip():
        raise ValidationError("a run file path must be a non-empty string")
    if "\x00" in path:
        raise ValidationError(f"run file path {path!r} contains a NUL character")
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute() or any(part == ".." for part in posix.parts):
        raise ValidationError(
            f"run file path {path!r} must be relative and stay inside the run's folder"
        )
    parts = [p for p in posix.parts if p not in ("", ".")]
    if not parts:
        raise ValidationError(f"run file path {path!r} names no file")
    return "/".join(parts)


class ArtifactRepository(abc.ABC):
    @abc.abstractmethod
    def put_file(self, run_id: str, path: str, source: Path) -> None:
        """Copies a local file to the run's ``path``."""

    @abc.abstractmethod
    def put_bytes(self, run_id: str, path: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def append_bytes(self, run_id: str, path: str, data: bytes) -> None:
        """Appends to a run file (log lines shipped from another machine)."""

    @abc.abstractmethod
    def list_files(self, run_id: str) -> list[FileInfo]:
        """Every file of the run, sorted by path."""

    @abc.abstractmethod
    def read_bytes(self, run_id: str, path: str, offset: int = 0, length: int = -1) -> bytes:
        """A range of a run file; raises ArtifactNotFoundError."""

    @abc.abstractmethod
    def download(self, run_id: str, path: str, destination: Path) -> None: ...


class LocalArtifactRepository(ArtifactRepository):
    """Files under ``<root>/runs/<run_id>/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def run_dir(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or run_id in (".", ".."):
            raise ValidationError(f"bad run id {run_id!r}")
        return self.root / "runs" / run_id

    def journal_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / JOURNAL_NAME

    def local_path(self, run_id: str, path: str) -> Path:
        """Where a run file lives on this machine (it may not exist yet)."""
        base = self.run_dir(run_id).resolve()
        target = (base / "files" / clean_relative_path(path)).resolve()
        if not target.is_relative_to(base / "files"):
            # A symlink inside the run folder must not lead out of it either.
            raise ValidationError(f"run file path {path!r} leaves the run's folder")
        return target

    def put_file(self, run_id: str, path: str, source: Path) -> None:
        target = self.local_path(run_id, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    def put_bytes(self, run_id: str, path: str, data: bytes) -> None:
        target = self.local_path(run_id, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def append_bytes(self, run_id: str, path: str, data: bytes) -> None:
        target = self.local_path(run_id, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab") as f:
            f.write(data)

    def _walk(self, run_id: str) -> Iterator[tuple[str, os.stat_result]]:
        files = self.run_dir(run_id) / "files"
        if not files.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(files):
            for name in filenames:
                if name.startswith(".") and name.endswith(".tmp"):
                    continue
                full = Path(dirpath) / name
                yield full.relative_to(files).as_posix(), full.stat()

    def folder_bytes(self, run_id: str) -> int:
        """Bytes under the run's folder: files, journals, logs (symlinks not followed)."""
        total = 0
        for dirpath, _dirnames, filenames in os.walk(self.run_dir(run_id)):
            for name in filenames:
                with contextlib.suppress(OSError):  # gone meanwhile
                    total += os.lstat(os.path.join(dirpath, name)).st_size
        return total

    def remove_run(self, run_id: str) -> None:
        """Removes the run's folder and all in it (a purge; nothing if there is none)."""
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def list_files(self, run_id: str) -> list[FileInfo]:
        return sorted(
            (
                FileInfo(path=p, size=st.st_size, modified_at=st.st_mtime)
                for p, st in self._walk(run_id)
            ),
            key=lambda f: f.path,
        )

    def open(self, run_id: str, path: str) -> BinaryIO:
        target = self.local_path(run_id, path)
        if not target.is_file():
            raise ArtifactNotFoundError(f"run {run_id} has no file {path!r}")
        return open(target, "rb")

    def read_bytes(self, run_id: str, path: str, offset: int = 0, length: int = -1) -> bytes:
        with self.open(run_id, path) as f:
            f.seek(max(0, offset))
            return f.read(length)

    def download(self, run_id: str, path: str, destination: Path) -> None:
        source = self.local_path(run_id, path)
        if not source.is_file():
            raise ArtifactNotFoundError(f"run {run_id} has no file {path!r}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
