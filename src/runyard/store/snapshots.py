"""Source snapshots: content-addressed copies of a run's source folder.

Layout under ``root`` (``<artifact_root>/snapshots``)::

    blobs/<sha256[:2]>/<sha256>    each distinct file content, stored once for all runs
    manifests/<snapshot_id>.json   relative posix path -> {"sha256", "size", "mode"}
                                   (a symlink adds "link": its target, and its blob
                                   is that target's text, never the content)
    statcache/<folder hash>.json   (size, mtime_ns, inode) -> sha256 per source folder

``snapshot_id`` is the sha256 of the canonical manifest JSON, so an unchanged folder
gives the same id. The stat cache lets a capture of an unchanged folder skip reading
files; entries for files modified within ``RACY_WINDOW_NS`` of the capture are not
cached, because a write in the same timestamp tick would keep size and mtime.

Ignore rules: ``.runyardignore`` at the top of the folder if present, else every
``.gitignore`` (nested ones apply below their folder), in gitignore syntax. ``.git/``,
``.runyard/`` and ``__pycache__/`` are always skipped; a symlink inside the folder is
kept as a link and restored as one, a link leaving it is skipped (a ``data ->
/datasets`` link must not pull a dataset in, nor ``x -> /etc/passwd`` a secret).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.config import DEFAULT_SNAPSHOT_MAX_BYTES, DEFAULT_SNAPSHOT_MAX_FILES
from runyard.errors import ArtifactNotFoundError, SnapshotTooLargeError, ValidationError
from runyard.store.source_walk import RUNYARD_IGNORE, Entry, walk

if TYPE_CHECKING:
    import hashlib

RACY_WINDOW_NS = 2_000_000_000
_CHUNK = 1024 * 1024
_HEX = frozenset("0123456789abcdef")

Manifest = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: str
    file_count: int
    total_bytes: int


def _check_hash(kind: str, value: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX:
        raise ValidationError(f"{kind} {value!r} is not a sha256 hex digest")
    return value


def _sha256(data: bytes = b"") -> hashlib._Hash:
    # Imported on first use: OpenSSL is a slow import, and the runner materialises a
    # snapshot (before it starts the script) without hashing anything.
    import hashlib

    return hashlib.sha256(data)


def canonical_manifest_id(manifest: Mapping[str, Mapping[str, Any]]) -> str:
    """The snapshot id of a manifest: sha256 of its canonical JSON."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _sha256(text.encode("utf-8")).hexdigest()


def _atomic_write(target: Path, data: bytes, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, target)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _group(entries: list[Entry], prefix: str, by_bytes: bool) -> list[tuple[str, int, int]]:
    """(name, bytes, files) of each folder or file directly under ``prefix``, largest
    first; folder names end with ``/``."""
    groups: dict[str, list[int]] = {}
    for e in entries:
        if e.path.startswith(prefix):
            head, sep, _ = e.path[len(prefix) :].partition("/")
            acc = groups.setdefault(prefix + head + ("/" if sep else ""), [0, 0])
            acc[0] += e.size
            acc[1] += 1
    ranked = [(k, v[0], v[1]) for k, v in groups.items()]
    return sorted(ranked, key=lambda g: -(g[1] if by_bytes else g[2]))


def _largest(entries: list[Entry], by_bytes: bool) -> list[str]:
    """The top 5 folders/files by size (or file count). While one folder holds most of
    it and one of its subfolders most of that, names the subfolder's level instead, so
    the answer is something worth ignoring (``data/images/``, not ``data/``)."""

    def weight(group: tuple[str, int, int]) -> int:
        return group[1] if by_bytes else group[2]

    ranked = _group(entries, "", by_bytes)
    while ranked and ranked[0][0].endswith("/"):
        top = ranked[0]
        inner = _group(entries, top[0], by_bytes)
        if weight(top) <= 0.8 * sum(weight(g) for g in ranked):
            break
        if not inner[0][0].endswith("/") or weight(inner[0]) <= 0.8 * weight(top):
            break
        ranked = inner
    return [f"{name} ({_human(size)}, {count} files)" for name, size, count in ranked[:5]]


class SnapshotStore:
    """Blobs and manifests of source snapshots under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- blobs and manifests ----------------------------------------------------------

    def _blob_path(self, sha256: str) -> Path:
        _check_hash("blob hash", sha256)
        return self.root / "blobs" / sha256[:2] / sha256

    def _manifest_path(self, snapshot_id: str) -> Path:
        return self.root / "manifests" / f"{_check_hash('snapshot id', snapshot_id)}.json"

    def blob_path(self, sha256: str) -> Path:
        """Where a blob is (or would be) stored; datasets and models share the blobs."""
        return self._blob_path(sha256)

    def store_file(self, path: str | Path) -> str:
        """Stores one file's content as a blob (once) and returns its sha256."""
        return self._store_file(str(path))

    def has_blob(self, sha256: str) -> bool:
        return self._blob_path(sha256).is_file()

    def read_blob(self, sha256: str) -> bytes:
        try:
            return self._blob_path(sha256).read_bytes()
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"snapshot blob {sha256} is not stored") from None

    def put_blob(self, sha256: str, data: bytes) -> None:
        """Stores a blob fetched from elsewhere, after checking its hash."""
        actual = _sha256(data).hexdigest()
        if actual != _check_hash("blob hash", sha256):
            raise ValidationError(f"blob content hashes to {actual}, not {sha256}")
        if not self.has_blob(sha256):
            _atomic_write(self._blob_path(sha256), data, 0o444)

    def put_manifest(self, snapshot_id: str, manifest: Mapping[str, Mapping[str, Any]]) -> None:
        """Stores a manifest whose blobs are all stored; checks that the id matches."""
        actual = canonical_manifest_id(manifest)
        if actual != _check_hash("snapshot id", snapshot_id):
            raise ValidationError(f"manifest hashes to {actual}, not {snapshot_id}")
        missing = self.missing_blobs(manifest)
        if missing:
            raise ValidationError(
                f"snapshot {snapshot_id} needs {len(missing)} blobs that are not stored "
                f"(first: {missing[0]}); put_blob them first"
            )
        for path, meta in manifest.items():
            _safe_relative(path)
            _safe_link(path, meta)
        text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        _atomic_write(self._manifest_path(snapshot_id), text.encode("utf-8"))

    def missing_blobs(self, manifest: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """The blob hashes of ``manifest`` not stored here (what a remote node fetches)."""
        return sorted({m["sha256"] for m in manifest.values() if not self.has_blob(m["sha256"])})

    def manifest(self, snapshot_id: str) -> Manifest:
        """Relative posix path -> {"sha256", "size", "mode"}."""
        try:
            data = json.loads(self._manifest_path(snapshot_id).read_bytes())
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"snapshot {snapshot_id} is not stored") from None
        if not isinstance(data, dict):
            raise ArtifactNotFoundError(f"snapshot {snapshot_id} has a corrupt manifest")
        return data

    def read_file(self, snapshot_id: str, path: str) -> bytes:
        entry = self.manifest(snapshot_id).get(path)
        if entry is None:
            raise ArtifactNotFoundError(f"snapshot {snapshot_id} has no file {path!r}")
        return self.read_blob(entry["sha256"])

    def materialise(self, snapshot_id: str, dest: Path) -> None:
        """Writes the snapshot's files into ``dest`` with their modes.

        Copies rather than hard-links: a script that rewrites one of its own files in
        place (``open(p, "w")``) would otherwise corrupt the shared blob, and file
        modes do not protect blobs from root."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        made: set[str] = set()
        for rel, meta in self.manifest(snapshot_id).items():
            target = dest / _safe_relative(rel)
            parent = str(target.parent)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            link = _safe_link(rel, meta)
            if link is not None:  # restored as the link it was (it may dangle until
                os.symlink(link, target)  # its target is written, later in this loop)
                continue
            shutil.copyfile(self._blob_path(meta["sha256"]), target)
            os.chmod(target, int(meta.get("mode", 0o644)) & 0o7777)

    # -- capture ----------------------------------------------------------------------

    def capture(
        self,
        source_dir: Path,
        *,
        max_bytes: int = DEFAULT_SNAPSHOT_MAX_BYTES,
        max_files: int = DEFAULT_SNAPSHOT_MAX_FILES,
    ) -> SnapshotInfo:
        """Snapshots ``source_dir`` (ignore rules applied) and returns its id.

        Raises ValidationError if the folder does not exist and SnapshotTooLargeError
        if it is over ``max_bytes`` or ``max_files``."""
        source = Path(source_dir).expanduser()
        if not source.is_dir():
            what = "is not a folder" if source.exists() else "does not exist"
            raise ValidationError(
                f"source_directory {str(source)!r} {what}; pass the folder that holds "
                "your training script"
            )
        source = source.resolve()
        entries = list(walk(source))
        _check_limits(source, entries, max_bytes, max_files)
        started_ns = time.time_ns()
        cache_path = (
            self.root / "statcache" / (_sha256(str(source).encode()).hexdigest()[:32] + ".json")
        )
        cache = _load_cache(cache_path)
        fresh: dict[str, list[Any]] = {}
        manifest: Manifest = {}
        for e in entries:
            if e.link is not None:
                data = e.link.encode("utf-8")
                digest = _sha256(data).hexdigest()
                self.put_blob(digest, data)
                manifest[e.path] = {"sha256": digest, "size": e.size, "mode": 0o777, "link": e.link}
                continue
            hit = cache.get(e.path)
            if (
                hit is not None
                and hit[:3] == [e.size, e.mtime_ns, e.inode]
                and os.path.exists(self._blob_path(hit[3]))
            ):
                digest = hit[3]
            else:
                try:
                    digest = self._store_file(e.full)
                except FileNotFoundError:
                    continue  # removed since the walk: not part of the snapshot
                except OSError as exc:
                    raise ValidationError(
                        f"cannot read {e.full} for the snapshot ({exc.strerror}); fix its "
                        f"permissions or add {e.path!r} to {source / RUNYARD_IGNORE}"
                    ) from None
            if started_ns - e.mtime_ns > RACY_WINDOW_NS:
                fresh[e.path] = [e.size, e.mtime_ns, e.inode, digest]
            manifest[e.path] = {"sha256": digest, "size": e.size, "mode": stat.S_IMODE(e.mode)}
        snapshot_id = canonical_manifest_id(manifest)
        target = self._manifest_path(snapshot_id)
        if not target.is_file():
            text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            _atomic_write(target, text.encode("utf-8"))
        if fresh != cache:
            _atomic_write(cache_path, json.dumps({"version": 1, "files": fresh}).encode())
        total = sum(m["size"] for m in manifest.values())
        return SnapshotInfo(snapshot_id, len(manifest), total)

    def _store_file(self, path: str) -> str:
        """Hashes a file while copying it to a temporary blob; keeps it if new."""
        blobs = self.root / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        tmp = blobs / f".in.{os.getpid()}.{time.monotonic_ns()}.tmp"
        h = _sha256()
        try:
            with open(path, "rb") as src, open(tmp, "wb") as out:
                while chunk := src.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
            digest = h.hexdigest()
            final = self._blob_path(digest)
            if final.is_file():
                return digest
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
            return digest
        finally:
            tmp.unlink(missing_ok=True)


def _safe_relative(rel: str) -> str:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in rel:
        raise ValidationError(f"snapshot path {rel!r} must be relative and stay inside")
    return rel


def _safe_link(rel: str, meta: Mapping[str, Any]) -> str | None:
    """A link entry's target, checked to stay inside the snapshot; None for a file."""
    link = meta.get("link")
    if link is None:
        return None
    parts = os.path.normpath(os.path.join(os.path.dirname(rel), str(link))).split(os.sep)
    if not isinstance(link, str) or link.startswith("/") or ".." in parts or "\\" in link:
        raise ValidationError(f"snapshot link {rel!r} -> {link!r} must stay inside")
    return link


def _load_cache(path: Path) -> dict[str, list[Any]]:
    try:
        data = json.loads(path.read_bytes())
        files = data["files"] if data.get("version") == 1 else {}
        return files if isinstance(files, dict) else {}
    except (OSError, ValueError, KeyError, AttributeError):
        return {}  # a missing or corrupt cache only costs re-reading the files


def _check_limits(source: Path, entries: list[Entry], max_bytes: int, max_files: int) -> None:
    total = sum(e.size for e in entries)
    if len(entries) > max_files:
        problem = (
            f"it has {len(entries):,} files, over the limit of {max_files:,} files (max_files)"
        )
        largest = _largest(entries, by_bytes=False)
    elif total > max_bytes:
        problem = (
            f"it holds {_human(total)} ({total:,} bytes), over the limit of "
            f"{_human(max_bytes)} ({max_bytes:,} bytes, max_bytes)"
        )
        largest = _largest(entries, by_bytes=True)
    else:
        return
    ignore = source / RUNYARD_IGNORE
    raise SnapshotTooLargeError(
        f"the snapshot of {source} is too large: {problem}. Largest: {'; '.join(largest)}. "
        f"Fix: move data out of the source folder, add it to {ignore} (gitignore syntax, "
        f"e.g. a line '{largest[0].split(' ')[0]}'), or raise the limit."
    )


def git_info(source_dir: Path) -> dict[str, Any] | None:
    """The git commit, branch and dirty flag of the repository holding ``source_dir``;
    None outside a repository or when git is not installed. ``dirty`` is true when
    anything under ``source_dir`` differs from the commit (untracked files included)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=source_dir,
                capture_output=True,
                text=True,
                timeout=10,
                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    if not Path(source_dir).is_dir():
        return None
    root = git("rev-parse", "--show-toplevel")
    if root is None:
        return None
    commit = git("rev-parse", "--verify", "--quiet", "HEAD")
    branch = git("rev-parse", "--abbrev-ref", "HEAD") if commit else None
    status = git("status", "--porcelain", "--", ".")
    return {
        "commit": commit,
        "branch": None if branch in (None, "HEAD") else branch,
        "dirty": bool(status) if status is not None else None,
        "repository": git("config", "--get", "remote.origin.url"),
        "root": root,
    }
