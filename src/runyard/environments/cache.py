"""The shared cache of built environments: ``cache_dir()/envs/<hash>``.

Layout::

    envs/<hash>/                 a complete environment (a venv or a conda prefix)
        .runyard-complete        written last: its presence means "ready"; its mtime is
                                 the last time a run resolved the environment
        spec.json lock.txt requirements.txt build.log
    envs/.tmp-<hash>-<id>/       a build in progress (or the remains of a killed one)
    envs/.trash-<hash>-<id>/     an entry being deleted
    envs/.locks/<hash>.lock      one lock file per hash; holders build or delete it
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runyard.config import cache_dir

if TYPE_CHECKING:
    from filelock import FileLock

MARKER = ".runyard-complete"
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"


def envs_dir() -> Path:
    """Where built environments live (created on first use)."""
    return cache_dir() / "envs"


def entry_path(hash_: str) -> Path:
    return envs_dir() / hash_


def is_complete(entry: Path) -> bool:
    """True when ``entry`` holds a finished build (one stat, no subprocess)."""
    return (entry / MARKER).is_file()


def venv_python(entry: Path) -> Path:
    """The interpreter of a built environment (venvs and conda prefixes alike)."""
    return entry / "bin" / "python"


def touch_last_used(entry: Path) -> None:
    """Records that a run resolved the entry; failing to do so is harmless."""
    with contextlib.suppress(OSError):
        os.utime(entry / MARKER)


def hash_lock(hash_: str) -> FileLock:
    """The lock that builders and pruners of ``hash_`` hold. Lock files are never
    deleted: removing a lock file someone waits on would let two holders in."""
    from filelock import FileLock  # only builders and pruners pay for the import

    locks = envs_dir() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(locks / f"{hash_}.lock"))


def new_temp_dir(hash_: str) -> Path:
    """A fresh folder name next to the entry, on the same file system (so the final
    ``os.rename`` is atomic)."""
    return envs_dir() / f"{TMP_PREFIX}{hash_}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove_tree(path: Path) -> None:
    """Deletes ``path``: renamed aside first, so nobody sees a half-deleted entry."""
    if not path.exists() and not path.is_symlink():
        return
    trash = path.with_name(f"{TRASH_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, trash)
    except OSError:
        trash = path
    shutil.rmtree(trash, ignore_errors=True)


def _remove_leftover(path: Path) -> None:
    """A temp folder of a killed build, or a conda build's temp env file."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_leftovers(hash_: str) -> list[Path]:
    """Removes temp folders of ``hash_`` left by killed builds, and an entry without
    its completion marker. Call only while holding ``hash_lock(hash_)``."""
    removed: list[Path] = []
    root = envs_dir()
    if not root.is_dir():
        return removed
    for child in root.iterdir():
        if child.name.startswith((f"{TMP_PREFIX}{hash_}-", f"{TRASH_PREFIX}{hash_}")):
            _remove_leftover(child)
            removed.append(child)
    entry = root / hash_
    if entry.exists() and not is_complete(entry):
        remove_tree(entry)
        removed.append(entry)
    return removed


@dataclass(frozen=True)
class CachedEnvironment:
    """A built environment in the cache."""

    hash: str
    path: Path
    size_bytes: int
    last_used: float  # seconds since the epoch
    name: str  # the name it was first built under ("" if unknown)
    python: Path


def _tree_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _entry_name(entry: Path) -> str:
    try:
        data = json.loads((entry / "spec.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else ""


def list_cached() -> list[CachedEnvironment]:
    """Every complete environment in the cache, most recently used first. Sizes count
    hard-linked files in full, so they overstate the disk space actually used."""
    root = envs_dir()
    if not root.is_dir():
        return []
    out: list[CachedEnvironment] = []
    for entry in root.iterdir():
        if entry.name.startswith(".") or not is_complete(entry):
            continue
        try:
            last_used = (entry / MARKER).stat().st_mtime
        except OSError:
            continue
        out.append(
            CachedEnvironment(
                hash=entry.name,
                path=entry,
                size_bytes=_tree_size(entry),
                last_used=last_used,
                name=_entry_name(entry),
                python=venv_python(entry),
            )
        )
    out.sort(key=lambda c: c.last_used, reverse=True)
    return out


def _hash_of_leftover(name: str) -> str:
    for prefix in (TMP_PREFIX, TRASH_PREFIX):
        if name.startswith(prefix):
            return name[len(prefix) :].split("-", 1)[0]
    return name


def prune(older_than_days: float | None = None, keep: Iterable[str] = frozenset()) -> list[Path]:
    """Deletes cached environments not used for ``older_than_days`` days (all of them
    when None), except the hashes in ``keep``, plus the remains of killed builds.
    Environments being built or deleted by another process are skipped. Returns the
    deleted paths. A run still using a deleted environment may fail: prune when idle."""
    from filelock import Timeout

    root = envs_dir()
    if not root.is_dir():
        return []
    keep_set = set(keep)
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    removed: list[Path] = []
    for child in sorted(root.iterdir()):
        if child.name == ".locks":
            continue
        hash_ = _hash_of_leftover(child.name)
        leftover = child.name.startswith(".")
        if not leftover:
            if hash_ in keep_set:
                continue
            if is_complete(child) and cutoff is not None:
                try:
                    if (child / MARKER).stat().st_mtime >= cutoff:
                        continue
                except OSError:
                    continue
        lock = hash_lock(hash_)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # a build (or another prune) holds it
        try:
            if leftover:
                _remove_leftover(child)
                removed.append(child)
            elif child.exists():
                remove_tree(child)
                removed.append(child)
        finally:
            lock.release()
    return removed
