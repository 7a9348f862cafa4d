"""Snapshot browsing and upload: manifests (path → {"sha256", "size", "mode"}) over
content-addressed blobs, kept by :class:`runyard.store.snapshots.SnapshotStore` under
``<artifact_root>/snapshots``. A runner on a Ray node fetches its source this way, and
a client on another machine uploads one: blobs first, then the manifest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from runyard import wire
from runyard.errors import ArtifactNotFoundError, ValidationError
from runyard.server.api_files import content_type_for, file_headers
from runyard.server.deps import StoreDep, snapshot_store
from runyard.server.responses import WireJSON, answer
from runyard.store.artifacts import clean_relative_path

router = APIRouter(prefix="/api", default_response_class=WireJSON)

MAX_BLOB_BYTES = 512 * 1024 * 1024


@router.get("/snapshots/{snapshot_id}", response_model=wire.ManifestOut)
def get_manifest(store: StoreDep, snapshot_id: str) -> WireJSON:
    """``{"snapshot_id": ..., "files": {path: {"sha256", "size", "mode"}}}``."""
    manifest = snapshot_store(store).manifest(snapshot_id)
    return answer(wire.ManifestOut(snapshot_id=snapshot_id, files=manifest))


@router.get("/snapshots/{snapshot_id}/files/{path:path}")
def get_snapshot_file(store: StoreDep, snapshot_id: str, path: str) -> Response:
    """One source file of a snapshot."""
    clean = clean_relative_path(path)
    snapshots = snapshot_store(store)
    entry = snapshots.manifest(snapshot_id).get(clean)
    if entry is None:
        raise ArtifactNotFoundError(f"snapshot {snapshot_id} has no file {clean!r}")
    media_type, inline = content_type_for(clean)
    data = snapshots.read_blob(str(entry["sha256"]))
    return Response(data, media_type=media_type, headers=file_headers(clean, inline))


@router.get("/blobs/{sha256}")
def get_blob(store: StoreDep, sha256: str) -> Response:
    """A content-addressed blob's bytes."""
    data = snapshot_store(store).read_blob(sha256)
    return Response(data, media_type="application/octet-stream")


@router.put("/blobs/{sha256}", status_code=204)
async def put_blob(store: StoreDep, request: Request, sha256: str) -> Response:
    """Stores a blob; its bytes must hash to ``sha256`` (400 otherwise, nothing stored)."""
    snapshots = snapshot_store(store)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BLOB_BYTES:
            raise ValidationError(
                f"a blob is limited to {MAX_BLOB_BYTES} bytes by the studio; "
                "a source file that large belongs in .runyardignore"
            )
        chunks.append(chunk)
    await run_in_threadpool(snapshots.put_blob, sha256, b"".join(chunks))
    return Response(status_code=204)


@router.put("/snapshots/{snapshot_id}", status_code=204)
def put_manifest(store: StoreDep, snapshot_id: str, body: wire.SnapshotIn) -> Response:
    """Stores a manifest once every blob is stored. The id must be the manifest's hash
    (``canonical_manifest_id``); a missing blob or a wrong id is a 400."""
    snapshot_store(store).put_manifest(snapshot_id, body.files)
    return Response(status_code=204)
