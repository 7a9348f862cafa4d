"""Uploads to and downloads from a datastore, many files at once, with a progress bar.

Each file is written under a temporary name and renamed into place (see
:mod:`runyard.assets.backends`), so an upload killed midway leaves whole files only
and a retry with ``overwrite=False`` sends just the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from runyard.assets.backends import Backend
from runyard.assets.datastores import clean_path
from runyard.errors import ValidationError

WORKERS = 8
_PROGRESS_MIN_FILES = 20  # below this a bar only flickers
_T = TypeVar("_T")


@dataclass(frozen=True)
class TransferResult:
    files: int  # moved
    skipped: int  # already there and not overwritten
    bytes: int


@contextmanager
def _progress(show: bool, total: int, what: str) -> Iterator[Callable[[], None]]:
    if not show or total < _PROGRESS_MIN_FILES:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    # On stderr, as the other progress: a command's stdout stays its output (or JSON).
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda: bar.advance(task)


def _run(one: Callable[[_T], int], items: Sequence[_T], show: bool, what: str) -> TransferResult:
    """Runs ``one`` over ``items`` on the worker pool; each answers the bytes it moved, or
    -1 for a file it left as it was."""
    moved = skipped = size = 0
    with _progress(show, len(items), what) as tick, ThreadPoolExecutor(WORKERS) as pool:
        for n in pool.map(one, items):
            tick()
            if n < 0:
                skipped += 1
            else:
                moved += 1
                size += n
    return TransferResult(moved, skipped, size)


def _join(target: str, rel: str) -> str:
    return f"{target}/{rel}" if target else rel


def tree_files(src_dir: Path) -> list[tuple[str, Path]]:
    """(relative path, file) of every file under a local folder."""
    src = Path(src_dir).expanduser()
    if not src.is_dir():
        what = "is not a folder" if src.exists() else "does not exist"
        raise ValidationError(f"src_dir {str(src_dir)!r} {what}; give the folder to upload")
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in filenames:
            full = Path(dirpath) / name
            out.append((full.relative_to(src).as_posix(), full))
    return sorted(out)


def upload(
    backend: Backend,
    files: Sequence[tuple[str, Path]],
    target_path: str | None,
    *,
    overwrite: bool,
    show_progress: bool,
) -> TransferResult:
    """Copies (relative path, local file) pairs to ``target_path`` in the datastore.
    Without ``overwrite`` a file already there is left as it is."""
    target = clean_path(target_path or "")
    jobs = [(_join(target, clean_path(rel, allow_root=False)), full) for rel, full in files]
    for _, full in jobs:
        if not full.is_file():
            raise ValidationError(f"{full} is not a file; upload only existing files")

    # One listing of the target instead of an existence check per file (on S3 each
    # check is one or two requests, which made uploads several times slower).
    present = set() if overwrite else {p for p, _ in backend.list_files(target)}

    def one(job: tuple[str, Path]) -> int:
        dest, full = job
        if dest in present:
            return -1
        backend.put_file(full, dest)
        return full.stat().st_size

    return _run(one, jobs, show_progress, f"uploading to {backend.spec.name}")


def download(
    backend: Backend,
    target_path: Path,
    prefix: str | None,
    *,
    overwrite: bool,
    show_progress: bool,
) -> TransferResult:
    """Copies every file under ``prefix`` to the same relative paths in a local folder."""
    files = backend.list_files(clean_path(prefix or ""))
    target = Path(target_path).expanduser()

    def one(item: tuple[str, int]) -> int:
        rel, n = item
        dest = target / rel
        if dest.exists() and not overwrite:
            return -1
        backend.get_file(rel, dest)
        return n

    return _run(one, files, show_progress, f"downloading from {backend.spec.name}")
