"""What opening a workspace's store brings with it, and when a read can skip it.

Opening the store finishes the runs whose process died and resumes sweeps whose
controller died (housekeeping, so that every status a command shows is true). A
command that only lists runs, on a SQLite workspace with none of that to do, reads the
file with ``store.sql.reader`` instead: no SQLAlchemy to import, about half the time
of a fresh ``runyard runs list``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from runyard.store.base import Store
from runyard.store.sql.reader import SqliteReader

log = logging.getLogger(__name__)


def housekeep(store: Store, config_path: Path) -> None:
    """Finishes the runs whose process died (their journals ingested, then Failed) and
    starts queued runs in the slots they held; resumes sweeps whose controller died."""
    from runyard.sweeps.launch import resume_orphans
    from runyard.targets.local import reap_and_refill

    reaped = reap_and_refill(store, config_path)
    resume_orphans(store, config_path)
    if reaped:
        log.info("finished %d run(s) whose process had died: %s", len(reaped), reaped)


def lean_reader(uri: str) -> SqliteReader | None:
    """A reader of the SQLite store at ``uri`` while opening the store would change
    nothing (``reaping_due``); None where only the store will do."""
    from runyard.runner.reaper import reaping_due

    reader = SqliteReader.open(uri)
    if reader is not None and reaping_due(reader, time.time()):
        reader.close()
        return None
    return reader
