"""Moving bytes to and from a datastore: one small interface, one class per kind.

``LocalBackend`` is plain ``os``/``shutil`` on the datastore's folder (no library
needed); remote kinds go through fsspec (:mod:`runyard.assets.remote`), imported only
when a remote datastore is used. Every write lands under a temporary name and is
renamed into place, so a transfer killed midway never leaves half a file.
"""

from __future__ import annotations

import abc
import os
import shutil
import time
from pathlib import Path

from runyard.assets.datastores import DatastoreSpec, clean_path
from runyard.errors import ArtifactNotFoundError, ValidationError

_TMP_SUFFIX = ".runyard-tmp"


class Backend(abc.ABC):
    """The files of one datastore, addressed by relative ``/``-separated paths."""

    def __init__(self, spec: DatastoreSpec) -> None:
        self.spec = spec

    @abc.abstractmethod
    def list_files(self, prefix: str = "") -> list[tuple[str, int]]:
        """(path, size) of every file at or under ``prefix``, sorted by path."""

    @abc.abstractmethod
    def exists(self, path: str) -> bool: ...

    @abc.abstractmethod
    def put_file(self, source: Path, path: str) -> None:
        """Copies a local file to ``path`` (atomically: whole or not at all)."""

    @abc.abstractmethod
    def get_file(self, path: str, destination: Path) -> None:
        """Copies ``path`` to a local file (atomically); ArtifactNotFoundError if absent."""

    def local_path(self, path: str) -> Path | None:
        """Where ``path`` is on this machine, for a datastore that is a local folder."""
        return None

    def etag(self, path: str) -> str | None:
        """A token that changes when the file changes (remote kinds), else None."""
        return None


def _tmp_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}{_TMP_SUFFIX}")


def copy_atomic(source: Path, target: Path) -> None:
    """Copies a file under a temporary name, then renames it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_beside(target)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


class LocalBackend(Backend):
    """A folder on this machine (the workspace's default datastore)."""

    def __init__(self, spec: DatastoreSpec) -> None:
        super().__init__(spec)
        self.root = spec.root

    def _full(self, path: str) -> Path:
        rel = clean_path(path)
        full = self.root / rel if rel else self.root
        # A symlink inside the datastore must not lead a write out of it.
        if rel and not full.parent.resolve().is_relative_to(self.root.resolve()):
            raise ValidationError(f"datastore path {path!r} leaves datastore {self.spec.name!r}")
        return full

    def local_path(self, path: str) -> Path:
        return self._full(path)

    def list_files(self, prefix: str = "") -> list[tuple[str, int]]:
        base = self._full(prefix)
        rel_base = clean_path(prefix)
        if base.is_file():
            return [(rel_base, base.stat().st_size)]
        out: list[tuple[str, int]] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.endswith(_TMP_SUFFIX):
                    continue  # a copy still under way (or killed): not a file yet
                full = os.path.join(dirpath, name)
                try:
                    size = os.stat(full).st_size
                except FileNotFoundError:
                    continue
                out.append((name if rel_dir == "." else f"{rel_dir}/{name}", size))
        out.sort()
        return out

    def exists(self, path: str) -> bool:
        return self._full(path).is_file()

    def put_file(self, source: Path, path: str) -> None:
        copy_atomic(source, self._full(clean_path(path, allow_root=False)))

    def get_file(self, path: str, destination: Path) -> None:
        full = self._full(path)
        if not full.is_file():
            raise ArtifactNotFoundError(f"datastore {self.spec.name!r} has no file {path!r}")
        copy_atomic(full, Path(destination))


def open_backend(spec: DatastoreSpec) -> Backend:
    """The backend for a datastore's kind."""
    if spec.kind == "file":
        return LocalBackend(spec)
    from runyard.assets.remote import FsspecBackend

    return FsspecBackend(spec)
