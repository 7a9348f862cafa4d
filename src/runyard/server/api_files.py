"""Run files: list, download (whole or a byte range), the driver log tail, upload and
append. Paths are cleaned by the artifact repository; ``..`` or an absolute path is a
400 and never reaches the disk."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from runyard import wire
from runyard.errors import ArtifactNotFoundError, ValidationError
from runyard.server.deps import StoreDep, file_size
from runyard.server.responses import WireJSON, answer
from runyard.store.artifacts import DRIVER_LOG, LocalArtifactRepository, clean_relative_path
from runyard.wire import MAX_INT64

router = APIRouter(prefix="/api", default_response_class=WireJSON)

DEFAULT_LOG_CHUNK = 256 * 1024
MAX_LOG_CHUNK = 4 * 1024 * 1024
MAX_APPEND_BYTES = 64 * 1024 * 1024

# Only these are served as what they are; anything else (HTML, SVG, JS ...) goes out
# as an opaque download, so a file a script wrote can never run as part of the studio.
_INLINE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}
_TEXT_SUFFIXES = frozenset(
    {".txt", ".log", ".csv", ".tsv", ".json", ".jsonl", ".yaml", ".yml", ".toml", ".ini"}
    | {".cfg", ".md", ".py", ".sh", ".out", ".err", ".lock", ".rst"}
)
FILE_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def content_type_for(path: str) -> tuple[str, bool]:
    """(media type, inline?) for a run file."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in _INLINE_TYPES:
        return _INLINE_TYPES[suffix], True
    if suffix in _TEXT_SUFFIXES:
        return "text/plain; charset=utf-8", True
    return "application/octet-stream", False


def file_headers(path: str, inline: bool) -> dict[str, str]:
    name = PurePosixPath(path).name.replace('"', "")
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    disposition = "inline" if inline else "attachment"
    return {
        "content-disposition": f'{disposition}; filename="{ascii_name}"',
        "content-security-policy": FILE_CSP,
        "cache-control": "no-cache",
    }


def utf8_prefix(data: bytes) -> tuple[str, int]:
    """Decodes ``data`` but leaves a multi-byte character cut at the end for the next
    read; returns the text and how many bytes it used."""
    cut = len(data)
    # A UTF-8 sequence is at most 4 bytes: look back at most 3 for a lead byte.
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:
            continue  # a continuation byte: keep looking for the lead
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            if need > back:
                cut = len(data) - back
        break
    return data[:cut].decode("utf-8", errors="replace"), cut


@router.get("/runs/{run_id}/files", response_model=wire.FilesOut)
def list_files(store: StoreDep, run_id: str) -> WireJSON:
    """Every file of the run, sorted by path."""
    store.get_run(run_id)
    return answer(wire.FilesOut.of(store.artifacts.list_files(run_id)))


@router.get("/runs/{run_id}/files/{path:path}")
def download_file(
    store: StoreDep,
    run_id: str,
    path: str,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    length: Annotated[int, Query(ge=-1, le=MAX_INT64)] = -1,
    download: bool = False,
) -> Response:
    """A run file, or ``length`` bytes of it from ``offset`` (-1: to the end)."""
    clean = clean_relative_path(path)
    store.get_run(run_id)
    media_type, inline = content_type_for(clean)
    headers = file_headers(clean, inline and not download)
    artifacts = store.artifacts
    if isinstance(artifacts, LocalArtifactRepository) and offset == 0 and length == -1:
        local = artifacts.local_path(run_id, clean)
        if not local.is_file():
            raise ArtifactNotFoundError(f"run {run_id} has no file {clean!r}")
        return FileResponse(local, media_type=media_type, headers=headers)
    data = artifacts.read_bytes(run_id, clean, offset, length)
    return Response(data, media_type=media_type, headers=headers)


@router.get("/runs/{run_id}/logs", response_model=wire.LogChunkOut)
def read_log(
    store: StoreDep,
    run_id: str,
    offset: Annotated[
        int, Query(ge=-MAX_INT64, le=MAX_INT64, description="byte offset; negative: from the end")
    ] = 0,
    length: Annotated[int, Query(ge=1, le=MAX_LOG_CHUNK)] = DEFAULT_LOG_CHUNK,
) -> WireJSON:
    """A range of the driver log as text, with ``next_offset`` to continue from.

    A log that does not exist yet reads as empty, so a client can tail a queued run.
    """
    store.get_run(run_id)
    size = file_size(store, run_id, DRIVER_LOG)
    if size is None:
        return answer(wire.LogChunkOut(offset=0, next_offset=0, size=0, data=""))
    start = max(0, size + offset) if offset < 0 else min(offset, size)
    data = b""
    if start < size:
        try:
            data = store.artifacts.read_bytes(run_id, DRIVER_LOG, start, length)
        except ArtifactNotFoundError:
            data = b""
    text, used = utf8_prefix(data)
    return answer(wire.LogChunkOut(offset=start, next_offset=start + used, size=size, data=text))


@router.put("/runs/{run_id}/files/{path:path}", status_code=204)
async def upload_file(store: StoreDep, request: Request, run_id: str, path: str) -> Response:
    """Stores the raw request body as the run file ``path`` (replacing it)."""
    clean = clean_relative_path(path)
    await run_in_threadpool(store.get_run, run_id)
    fd, tmp_name = tempfile.mkstemp(prefix="runyard-upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        await run_in_threadpool(store.artifacts.put_file, run_id, clean, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    return Response(status_code=204)


@router.post("/runs/{run_id}/files/{path:path}", status_code=204)
async def append_file(
    store: StoreDep, request: Request, run_id: str, path: str, append: bool = False
) -> Response:
    """With ``?append=1``, appends the raw body to the run file (log shipping)."""
    if not append:
        raise ValidationError("POST to a run file appends and needs ?append=1; use PUT to upload")
    clean = clean_relative_path(path)
    await run_in_threadpool(store.get_run, run_id)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_APPEND_BYTES:
            raise ValidationError(
                f"an append is limited to {MAX_APPEND_BYTES} bytes; send it in smaller pieces"
            )
        chunks.append(chunk)
    await run_in_threadpool(store.artifacts.append_bytes, run_id, clean, b"".join(chunks))
    return Response(status_code=204)
