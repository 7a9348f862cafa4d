"""The sink of a script run on its own (``python train.py``, no runner): ``OfflineSink``.
See ``tracking.sinks`` for the interface and the other sinks."""

from __future__ import annotations

import shutil
import sys
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runyard.entities import RunStatus
from runyard.tracking.journal import JournalWriter
from runyard.tracking.sinks import JournalSink, LogFn, MetricSink
from runyard.tracking.validation import Upload


class OfflineSink(MetricSink):
    """A script run on its own: metrics are checked and kept in a scratch journal,
    and every write is printed. Nothing is stored; the journal goes at exit."""

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="runyard-offline-"))
        self._journal = JournalSink(folder / "journal.bin")
        weakref.finalize(self, _remove_scratch, self._journal.journal, folder)
        journal_log = self._journal.journal.log

        def log(name: str, value: Any, description: str = "", step: int | None = None) -> None:
            journal_log(name, value, step=step)  # checked as everywhere else, then printed
            # Through self: whoever holds run.log keeps the scratch journal open.
            at = "" if step is None else f" at step {step}"
            self._say(f"would log {name}={value!r}{at}")

        self._log = log

    @staticmethod
    def _say(text: str) -> None:
        print(f"[runyard offline] {text}", file=sys.stderr)

    @property
    def log(self) -> LogFn:
        return self._log

    def log_record(self, name: str, kind: str, payload: Any) -> None:
        self._journal.log_record(name, kind, payload)
        self._say(f"would log {kind} {name}={payload!r}")

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self._say(f"would set tags {dict(tags)!r}")

    def remove_tags(self, keys: Sequence[str]) -> None:
        self._say(f"would remove tags {list(keys)!r}")

    def add_properties(self, properties: Mapping[str, str]) -> None:
        self._say(f"would add properties {dict(properties)!r}")

    def set_display_name(self, name: str) -> None:
        self._say(f"would rename the run {name!r}")

    def upload(self, name: str, source: Upload) -> None:
        what = source if isinstance(source, Path) else f"{len(source)} bytes"
        self._say(f"would upload {name} from {what}")

    holds_ranks = False

    def get_metrics(self, name: str | None) -> dict[str, Any]:
        return self._journal.get_metrics(name)

    def flush(self) -> None:
        pass

    def finish(self, status: RunStatus, error: str | None) -> None:
        self._say(f"would mark the run {status.value}" + (f": {error}" if error else ""))
        return None


def _remove_scratch(journal: JournalWriter, folder: Path) -> None:
    journal.close()
    shutil.rmtree(folder, ignore_errors=True)
