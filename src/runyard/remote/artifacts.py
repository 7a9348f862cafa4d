"""Run files and source snapshots on a Runyard server, for :class:`HttpStore`.

``HttpArtifactRepository`` is the :class:`ArtifactRepository` over the server's file
routes. ``HttpSnapshots`` moves content-addressed snapshots between a local
:class:`SnapshotStore` and the server: a control script uploads the snapshot a Ray run
needs, and the runner on the node downloads it (only the blobs it lacks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from runyard.entities import FileInfo
from runyard.errors import ArtifactNotFoundError, NotFoundError
from runyard.remote.calls import path_part
from runyard.remote.client import AmbiguousRequestError, HttpClient
from runyard.store.artifacts import ArtifactRepository, clean_relative_path
from runyard.wire import FilesOut, ManifestOut, SnapshotIn

if TYPE_CHECKING:
    from runyard.store.snapshots import SnapshotStore

_CHUNK = 1 << 20


def _file_chunks(source: Path) -> Iterator[bytes]:
    with open(source, "rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


class HttpArtifactRepository(ArtifactRepository):
    """Run files kept by the server (under its artifact root)."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http
        # Sizes of files this process appends to, as the server has them: how a
        # repeated append after a broken connection is told from a lost one.
        self._sizes: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def _path(self, run_id: str, path: str) -> str:
        return f"/runs/{path_part(run_id)}/files/{path_part(clean_relative_path(path))}"

    def put_file(self, run_id: str, path: str, source: Path) -> None:
        source = Path(source)
        if not source.is_file():
            raise ArtifactNotFoundError(f"cannot upload {source}: it is not a file")
        self._http.request(
            "PUT", self._path(run_id, path), content=lambda: _file_chunks(source), idempotent=True
        )

    def put_bytes(self, run_id: str, path: str, data: bytes) -> None:
        self._http.request("PUT", self._path(run_id, path), content=bytes(data), idempotent=True)

    def append_bytes(self, run_id: str, path: str, data: bytes) -> None:
        if not data:
            return
        key = (run_id, clean_relative_path(path))
        with self._lock:  # appends to one file must reach the server in order
            if key not in self._sizes:
                self._sizes[key] = self._size(run_id, key[1])
            before = self._sizes[key]
            url = self._path(run_id, path)
            try:
                self._http.request(
                    "POST", url, content=bytes(data), params={"append": 1}, idempotent=False
                )
            except AmbiguousRequestError:
                # Appended already? Only a size that did not move says it was not.
                if self._size(run_id, key[1]) < before + len(data):
                    self._http.request(
                        "POST", url, content=bytes(data), params={"append": 1}, idempotent=False
                    )
            self._sizes[key] = before + len(data)

    def _size(self, run_id: str, path: str) -> int:
        for info in self.list_files(run_id):
            if info.path == path:
                return info.size
        return 0

    def list_files(self, run_id: str) -> list[FileInfo]:
        answer = self._http.request("GET", f"/runs/{path_part(run_id)}/files", idempotent=True)
        return [f.to_entity() for f in FilesOut.model_validate_json(answer.body).files]

    def read_bytes(self, run_id: str, path: str, offset: int = 0, length: int = -1) -> bytes:
        params = {"offset": max(0, offset) or None, "length": None if length < 0 else length}
        return self._http.request(
            "GET", self._path(run_id, path), params=params, idempotent=True
        ).body

    def download(self, run_id: str, path: str, destination: Path) -> None:
        self._http.request(
            "GET", self._path(run_id, path), idempotent=True, save_to=Path(destination)
        )


class HttpSnapshots:
    """Source snapshots on the server: manifests over content-addressed blobs."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def exists(self, snapshot_id: str) -> bool:
        """Whether the server holds the snapshot (its manifest, hence its blobs)."""
        try:
            self._http.request("GET", f"/snapshots/{path_part(snapshot_id)}", idempotent=True)
        except NotFoundError:
            return False
        return True

    def upload(self, local: SnapshotStore, snapshot_id: str) -> int:
        """Makes the server hold snapshot ``snapshot_id`` from ``local``: its blobs
        first, then the manifest. Returns how many blobs were sent (0 when the server
        had the snapshot already, e.g. because it shares the artifact root)."""
        if self.exists(snapshot_id):
            return 0
        manifest = local.manifest(snapshot_id)
        hashes = sorted({str(meta["sha256"]) for meta in manifest.values()})
        for sha in hashes:
            blob = local.read_blob(sha)
            self._http.request("PUT", f"/blobs/{sha}", content=blob, idempotent=True)
        self._http.request(
            "PUT", f"/snapshots/{snapshot_id}", model=SnapshotIn(files=manifest), idempotent=True
        )
        return len(hashes)

    def download(self, snapshot_id: str, local: SnapshotStore) -> int:
        """Makes ``local`` hold the snapshot, fetching only the blobs it lacks (a node
        keeps them for later runs). Returns how many blobs were fetched."""
        try:
            local.manifest(snapshot_id)
            return 0
        except ArtifactNotFoundError:
            pass
        answer = self._http.request("GET", f"/snapshots/{path_part(snapshot_id)}", idempotent=True)
        manifest = ManifestOut.model_validate_json(answer.body).files
        missing = local.missing_blobs(manifest)
        for sha in missing:
            data = self._http.request("GET", f"/blobs/{sha}", idempotent=True).body
            local.put_blob(sha, data)  # checks the hash: a corrupt transfer is refused
        local.put_manifest(snapshot_id, manifest)
        return len(missing)
