"""Per-file sha256 manifests, and the content hash of a manifest.

A manifest maps each file's relative posix path to ``[sha256, size]``. Hashing a large
tree twice is avoided with a stat cache (size, mtime_ns, inode -> sha256) kept per
folder, as source snapshots do; files modified within ``RACY_WINDOW_NS`` of the scan
are not cached, since a write in the same timestamp tick keeps size and mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

RACY_WINDOW_NS = 2_000_000_000
_CHUNK = 1024 * 1024

Manifest = dict[str, list[Any]]


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(manifest: Mapping[str, Sequence[Any]], extra: Any = None) -> str:
    """The sha256 of a manifest's canonical JSON (and of ``extra``, a definition)."""
    text = canonical({"files": {k: list(v) for k, v in manifest.items()}, "extra": extra})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StatCache:
    """(size, mtime_ns, inode) -> sha256 per absolute path, in one JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.old: dict[str, list[Any]] = {}
        self.new: dict[str, list[Any]] = {}
        if path is not None:
            try:
                data = json.loads(path.read_bytes())
                files = data.get("files") if data.get("version") == 1 else None
                self.old = files if isinstance(files, dict) else {}
            except (OSError, ValueError, AttributeError):
                self.old = {}  # a missing or corrupt cache costs re-reading the files

    def digest(self, full: str, st: os.stat_result, started_ns: int) -> str:
        key = [st.st_size, st.st_mtime_ns, st.st_ino]
        hit = self.old.get(full)
        digest = hit[3] if hit is not None and hit[:3] == key else sha256_file(full)
        if started_ns - st.st_mtime_ns > RACY_WINDOW_NS:
            self.new[full] = [*key, digest]
        return digest

    def save(self) -> None:
        if self.path is None or self.new == self.old:
            return
        merged = {**self.old, **self.new}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": 1, "files": merged}), encoding="utf-8")
        os.replace(tmp, self.path)


def hash_local_files(
    files: Iterable[tuple[str, Path]], cache_path: Path | None = None, workers: int = 8
) -> Manifest:
    """The manifest of local files given as (manifest path, file on disk)."""
    cache = StatCache(cache_path)
    started_ns = time.time_ns()
    items = list(files)

    manifest: Manifest = {}
    misses: list[tuple[str, str, os.stat_result]] = []
    for rel, full in items:  # a cached file costs one stat, and no thread hand-off
        st = os.stat(full)
        hit = cache.old.get(str(full))
        if hit is not None and hit[:3] == [st.st_size, st.st_mtime_ns, st.st_ino]:
            manifest[rel] = [hit[3], st.st_size]
            if started_ns - st.st_mtime_ns > RACY_WINDOW_NS:
                cache.new[str(full)] = hit
        else:
            misses.append((rel, str(full), st))

    def one(item: tuple[str, str, os.stat_result]) -> tuple[str, list[Any]]:
        rel, full, st = item
        return rel, [cache.digest(full, st, started_ns), st.st_size]

    # Many small files: the time is in open/read system calls, which threads overlap.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        manifest.update(pool.map(one, misses))
    manifest = dict(sorted(manifest.items()))
    cache.save()
    return manifest
