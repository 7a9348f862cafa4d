"""A run's journals: one per process that logs to it.

The script's first process writes the run's main journal (``journal.bin``, the path the
runner names); every other process (a forked or spawned worker, a DataLoader worker, a
rank) writes its own beside it, ``journal.<pid>.bin``. Ingest reads them all, each
with an offset of its own, so every process's points are stored exactly once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import resource
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from runyard.errors import DiskFullError

if TYPE_CHECKING:
    from runyard.tracking.journal import JournalWriter


# A distributed run's rank r >= 1 writes journal.rank<r>.bin (its workers
# journal.rank<r>.<pid>.bin): ingest stores its metrics as "rank<r>/<name>", reading the
# rank from the file name so that logging pays nothing for it. Any other journal (the
# main one, a worker's, the runner's own) is stored as written.
_RANK_JOURNAL = re.compile(r"^journal\.rank([1-9][0-9]*)(\.[0-9]+)?\.bin$")


def rank_prefix(journal_name: str) -> str:
    """The key prefix of the journal file ``journal_name`` (``"rank1/"``), or ""."""
    found = _RANK_JOURNAL.match(journal_name)
    return f"rank{found.group(1)}/" if found else ""


def process_journal_path(main: Path, pid: int) -> Path:
    """The journal of process ``pid`` beside the run's main journal ``main``
    (``journal.bin`` -> ``journal.<pid>.bin``): one writer process per journal file."""
    return main.with_name(f"{main.stem}.{pid}{main.suffix}")


def process_journals(main: Path) -> list[Path]:
    """The other processes' journals beside ``main``, in a stable order."""
    return sorted(main.parent.glob(f"{main.stem}.*{main.suffix}"))


def claim_journal(main: Path | str) -> Path:
    """The journal this process writes to a run's main journal ``main``: the main
    one for the first process that claims it, else this process's own (a spawned
    worker of the script). The claim is a file created exclusively, naming the pid."""
    main = Path(main)
    main.parent.mkdir(parents=True, exist_ok=True)
    owner = main.with_name(main.name + ".owner")
    pid = str(os.getpid())
    try:
        fd = os.open(owner, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        try:
            holder = owner.read_text().strip()
        except OSError:
            holder = ""
        return main if holder == pid else process_journal_path(main, os.getpid())
    with os.fdopen(fd, "w") as f:
        f.write(pid)
    return main


def follow_forks(writer: JournalWriter) -> None:
    """Makes a forked child of this process write its own journal beside ``writer``'s
    main one: the child's copy of the mapping and of the lock are its parent's, so it
    must never write through them."""
    main = writer.path
    ref = weakref.ref(writer)

    def reopen_in_child() -> None:
        child = ref()
        if child is not None and not child.closed:
            child.reopen(process_journal_path(main, os.getpid()))

    os.register_at_fork(after_in_child=reopen_in_child)


# Journals whose space could not be reserved (path -> why): a run that lost points this
# way must not end Completed (IngestSink.finish reads it).
_FAILED: dict[str, str] = {}


_FIRST_PAGE = 4096


def reserve(fd: int, path: Path, old: int, new: int) -> None:
    """Grows the journal at ``fd`` from ``old`` to ``new`` bytes with the blocks
    allocated now (``posix_fallocate``): a full disk is then this DiskFullError, never a
    SIGBUS when a record is copied into a page of the mapping that has no block."""
    try:
        os.ftruncate(fd, new)
        os.posix_fallocate(fd, old, new - old)
        # The first store into an allocated but never written page of a shared mapping
        # costs about half a millisecond (ext4 converts the extent in the fault); one
        # page written through the page cache now costs ~15 us and the mapping's first
        # record then ~40 us. The bytes are zeros, as they already read.
        os.pwrite(fd, bytes(min(_FIRST_PAGE, new - old)), old)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, old)  # no sparse tail left behind for the mapping
        why = _why(path, exc, new - old)
        _FAILED[str(path)] = why
        raise DiskFullError(exc.errno or errno.ENOSPC, why) from None


def failure(path: Path) -> str | None:
    """Why ``path`` could not grow, if it could not (this process only)."""
    return _FAILED.get(str(path))


def _why(path: Path, exc: OSError, size: int) -> str:
    if exc.errno == errno.EFBIG:
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        cause = f"the file size limit (ulimit -f) of {limit} bytes was reached"
    else:
        try:
            st = os.statvfs(path.parent)
            free = f"{st.f_bavail * st.f_frsize} bytes free"
        except OSError:
            free = "free space unknown"
        cause = f"the disk holding {path.parent} is full ({free}): {exc.strerror}"
    return f"logging stopped: journal {path} could not grow by {size} bytes; {cause}"
