"""Metric sinks: where a run handle's writes go.

A ``Run`` (``runyard.core.run``) is a handle on one run; what it logs, tags and uploads
goes to the ``MetricSink`` it was built with, as an httpx ``Client`` sends through its
transport. One interface, four implementations:

- ``JournalSink``: a script a runner started. Everything goes into the run's journal
  (metrics, and tags, properties and uploads as control records); the runner applies it
  to the store. Standard library only: the script's environment may have no SQLAlchemy
  or numpy, so this module imports neither, nor the store's SQL stack.
- ``IngestSink``: a run this process drives (``start_logging()``, ``child_run()``).
  Metrics go into a journal that a background thread ingests; tags, properties and
  files go to the store directly. At exit, an open one is drained and Completed.
- ``OfflineSink`` (``tracking.offline_sink``): a script run on its own (``python
  train.py``). Metrics go into a scratch journal (so they are checked, and read back,
  exactly as elsewhere) and are printed; the rest is printed. Nothing is stored.
- ``StoreSink``: a handle on a run that another process logs (``Run.get``). No metrics;
  tags, properties and files go to the store.

Sinks take input that ``tracking.validation`` has checked (the handle does that), except
``log``'s scalars, which the journal checks as it packs them.
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import itertools
import os
import shutil
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.entities import RunInfo, RunKind, RunStatus
from runyard.errors import ConflictError, RunyardError
from runyard.store import settle
from runyard.tracking.journal import JournalWriter
from runyard.tracking.journals import claim_journal, follow_forks
from runyard.tracking.journals import failure as journal_failure
from runyard.tracking.readback import metrics_from_journal, shape_metrics
from runyard.tracking.validation import Upload

if TYPE_CHECKING:
    from runyard.store.base import Store
    from runyard.tracking.ingest import IngestThread


LogFn = Callable[..., None]  # run.log's: (name, value, description="", step=None)


class MetricSink(abc.ABC):
    """Where a run handle's writes go, and what it can read back of its metrics."""

    #: Whether ``get_metrics`` may answer other ranks' ``rank<r>/`` series (a store does;
    #: a process's own journal holds only what that process logged).
    holds_ranks = True

    @property
    @abc.abstractmethod
    def log(self) -> LogFn:
        """The function that logs one scalar, with ``run.log``'s signature. A plain
        function, not a method, so that a handle binds it once and ``run.log`` costs one
        call above the journal's. It may change when the run finishes."""

    @abc.abstractmethod
    def log_record(self, name: str, kind: str, payload: Any) -> None:
        """A structured metric: ``kind`` is list, row, table or image."""

    @abc.abstractmethod
    def set_tags(self, tags: Mapping[str, str]) -> None: ...

    @abc.abstractmethod
    def remove_tags(self, keys: Sequence[str]) -> None: ...

    @abc.abstractmethod
    def add_properties(self, properties: Mapping[str, str]) -> None: ...

    @abc.abstractmethod
    def set_display_name(self, name: str) -> None: ...

    @abc.abstractmethod
    def upload(self, name: str, source: Upload) -> None:
        """A file for the run's folder at ``name`` (already a clean relative path)."""

    @abc.abstractmethod
    def get_metrics(self, name: str | None) -> dict[str, Any]:
        """The run's metrics in the SDK's shapes, including all this sink has written."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Makes what was logged readable by others (ingests it, where this sink does)."""

    @abc.abstractmethod
    def finish(self, status: RunStatus, error: str | None) -> RunInfo | None:
        """Ends the run with ``status`` where this sink owns its status; returns the run
        as it is now, or None where this sink cannot tell (no store)."""


def _refusal(run_id: str) -> ConflictError:
    return ConflictError(
        f"run {run_id} is not being logged by this process; log from the "
        "script it runs (Run.get_context()) or from experiment.start_logging()"
    )


def _refuse(run_id: str) -> LogFn:
    def refuse(*_: Any, **__: Any) -> None:
        raise _refusal(run_id)

    return refuse


class StoreSink(MetricSink):
    """A run another process logs: no metrics from here; the rest goes to the store."""

    def __init__(self, store: Store, run_id: str, *, driven: bool = False) -> None:
        self.store = store
        self.run_id = run_id
        self.driven = driven  # this process started the run, which is not a submitted one

    @property
    def log(self) -> LogFn:
        return _refuse(self.run_id)

    def log_record(self, name: str, kind: str, payload: Any) -> None:
        raise _refusal(self.run_id)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.store.set_tags(self.run_id, tags)

    def remove_tags(self, keys: Sequence[str]) -> None:
        self.store.remove_tags(self.run_id, keys)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        self.store.add_properties(self.run_id, properties)

    def set_display_name(self, name: str) -> None:
        self.store.set_display_name(self.run_id, name)

    def upload(self, name: str, source: Upload) -> None:
        if isinstance(source, Path):
            self.store.artifacts.put_file(self.run_id, name, source)
        else:
            self.store.artifacts.put_bytes(self.run_id, name, source)

    def get_metrics(self, name: str | None) -> dict[str, Any]:
        store, run_id = self.store, self.run_id
        keys = [k for k in sorted(store.get_metric_summaries(run_id)) if name in (None, k)]
        # The runner's system/... series (docs/system-metrics.md) are read by name, as
        # the cloud keeps them out of get_metrics(); the studio shows them all.
        keys = [k for k in keys if name is not None or not k.startswith("system/")]
        scalars = {k: store.get_metric_series(run_id, k).values for k in keys}
        return shape_metrics(scalars, store.get_metric_records(run_id, name), name)

    def flush(self) -> None:
        pass

    def finish(self, status: RunStatus, error: str | None) -> RunInfo | None:
        if self.driven:  # the status is this process's to set: no read before the write
            try:
                return self.store.set_status(self.run_id, status, error=error)
            except ConflictError:
                info = self.store.get_run(self.run_id)
                if not info.status.is_terminal():
                    raise
                return info  # ended meanwhile (a cancel from the studio, the reaper)
        info = self.store.get_run(self.run_id)
        # The runner is the only writer of a submitted run's status.
        if info.kind is RunKind.SUBMITTED or info.status.is_terminal():
            return info
        return self.store.set_status(self.run_id, status, error=error)


class IngestSink(MetricSink):
    """A run this process drives: a journal ingested by a background thread; tags,
    properties and files straight to the store."""

    def __init__(self, store: Store, run_id: str, journal_path: Path) -> None:
        # Imported here, as ingest is for the runs this process drives (numpy comes at
        # its first pass): a submitted script's environment may lack numpy.
        from runyard.tracking.ingest import IngestThread, RunJournalsIngester

        self._writes = StoreSink(store, run_id, driven=True)
        self._journal: JournalWriter | None = JournalWriter(journal_path)
        follow_forks(self._journal)  # a forked worker logs to a journal of its own
        self._pid = os.getpid()
        # Swapped for refusals once the run is finished (the journal is closed then).
        self._log: LogFn = self._journal.log  # run.log's own signature: no frame between
        self._record: Callable[..., None] = self._journal.log_record
        self._ending = False  # finish() was called
        self._failed_end: tuple[RunStatus, str | None] | None = None  # an end that failed
        self._thread: IngestThread | None = IngestThread(
            RunJournalsIngester(store, run_id, journal_path, fresh=True),
            on_tick=lambda: store.heartbeat(run_id),
        ).start()
        _open_sinks.add(self)

    @property
    def log(self) -> LogFn:
        return self._log

    def log_record(self, name: str, kind: str, payload: Any) -> None:
        self._record(name, kind, payload)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self._writes.set_tags(tags)

    def remove_tags(self, keys: Sequence[str]) -> None:
        self._writes.remove_tags(keys)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        self._writes.add_properties(properties)

    def set_display_name(self, name: str) -> None:
        self._writes.set_display_name(name)

    def upload(self, name: str, source: Upload) -> None:
        self._writes.upload(name, source)

    def get_metrics(self, name: str | None) -> dict[str, Any]:
        self.flush()
        return self._writes.get_metrics(name)

    def flush(self) -> None:
        if self._thread is not None:
            self._thread.flush()

    def finish(self, status: RunStatus, error: str | None, *, wait: bool = False) -> RunInfo | None:
        """Ends the run. With much left to ingest, the end runs on the ingest thread and
        this returns None at once (``tracking.finishing``), unless ``wait``."""
        from runyard.tracking import finishing

        run_id = self._writes.run_id
        if os.getpid() != self._pid:
            # A forked worker: its journal is safe as written; the process that
            # started the run ingests it and ends the run, never a child.
            _open_sinks.discard(self)
            if self._journal is not None:
                self._journal.close()
            return None
        if self._ending:
            settle.wait()  # an end this thread handed to the ingest thread is over first
            if self._failed_end is None:  # it ended: read it back (a failed one is retried)
                return self._writes.store.get_run(run_id)
        self._ending, self._failed_end = True, None
        self._log = self._record = _refuse(run_id)  # nothing more once the end is asked
        _open_sinks.discard(self)
        journal, thread = self._journal, self._thread
        if journal is not None and status is not RunStatus.CANCELED:
            # The end asked for, in the journal: if this process dies before storing it,
            # the reaper ends the run so (runner.reaper).
            with contextlib.suppress(RunyardError, OSError):  # a failed journal: no matter
                journal.log_control("status", {"status": status.value, "error": error})
        backlog = journal.position - thread.ingester.offset if journal and thread else 0
        return finishing.finish(lambda: self._end(status, error), run_id, backlog, wait=wait)

    def _end(self, status: RunStatus, error: str | None) -> RunInfo | None:
        try:
            if self._thread is not None:
                self._thread.stop()  # drains the journal into the store
                self._thread = None
            if self._journal is not None:
                lost = journal_failure(self._journal.path)
                if lost is not None and status is RunStatus.COMPLETED:
                    status, error = RunStatus.FAILED, lost  # logging failed: not Completed
                self._journal.close()
                self._journal = None
            return self._writes.finish(status, error)
        except BaseException:
            # Tried again by the next finish(), else at exit, with what was asked here.
            self._failed_end = (status, error)
            _open_sinks.add(self)
            raise


# Runs still open when the interpreter exits: drain their journals so that nothing
# logged is lost, and mark them Completed (as MLflow does for active runs).
_open_sinks: weakref.WeakSet[IngestSink] = weakref.WeakSet()


@atexit.register
def _finish_open_sinks() -> None:
    for sink in list(_open_sinks):
        status, error = sink._failed_end or (RunStatus.COMPLETED, None)
        with contextlib.suppress(Exception):  # else the reaper finishes it on next open
            sink.finish(status, error, wait=True)


class JournalSink(MetricSink):
    """A script a runner started: every write goes into the run's journal."""

    def __init__(self, journal_path: Path | str) -> None:
        # The script's first process writes the main journal; a spawned worker gets
        # its own, and a forked one switches to its own (tracking.journals).
        self.journal = JournalWriter(claim_journal(journal_path))
        self._main = Path(journal_path)
        # What this process wrote, for reads before the runner has stored it.
        self.written: dict[str, Any] = {"tags": {}, "properties": {}}
        follow_forks(self.journal)
        self._log: LogFn = self.journal.log
        self._uploads = self.journal.path.parent / "uploads"
        self._upload_seq = itertools.count()

    @property
    def log(self) -> LogFn:
        return self._log

    def log_record(self, name: str, kind: str, payload: Any) -> None:
        self.journal.log_record(name, kind, payload)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.journal.log_control("tags", dict(tags))
        self.written["tags"].update(tags)

    def remove_tags(self, keys: Sequence[str]) -> None:
        self.journal.log_control("remove_tags", {"keys": list(keys)})
        self.written["tags"].update(dict.fromkeys(keys))  # None: removed (run_sdk.with_tags)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        self.journal.log_control("properties", dict(properties))
        self.written["properties"].update(properties)

    def set_display_name(self, name: str) -> None:
        self.journal.log_control("display_name", {"display_name": name})
        self.written["display_name"] = name

    def start_child(self, child_id: str, name: str) -> JournalSink:
        """A child run's sink: the runner creates the run from this record, then
        ingests the child's own journal into it (``runyard.tracking.control``)."""
        from runyard.tracking.control import child_journal

        self.journal.log_control("child", {"run_id": child_id, "display_name": name})
        return JournalSink(child_journal(self._main, child_id))

    def upload(self, name: str, source: Upload) -> None:
        # Staged now, so the file can change or vanish before the runner copies it.
        self._uploads.mkdir(parents=True, exist_ok=True)
        staged = self._uploads / f"{next(self._upload_seq)}-{os.getpid()}"
        if isinstance(source, Path):
            shutil.copyfile(source, staged)
        else:
            staged.write_bytes(source)
        self.journal.log_control("upload", {"name": name, "path": str(staged)})

    holds_ranks = False

    def get_metrics(self, name: str | None) -> dict[str, Any]:
        """Read from this process's own journal: up to date, and no store needed."""
        return metrics_from_journal(self.journal.path, name)

    def flush(self) -> None:
        pass  # the runner tails the journal; a record is safe once written

    def finish(self, status: RunStatus, error: str | None) -> None:
        # The runner applies it when the script exits (a cancel at once); the journal
        # stays open because a script may go on logging after complete().
        self.journal.log_control("status", {"status": status.value, "error": error})
        return None
