"""The run as a script started by a runner sees it (``Run.get_context()``).

Such a script may run in an environment without SQLAlchemy or numpy (a curated PyTorch
environment, say): everything it writes — metrics, tags, properties, files — goes into
the journal, which needs only the standard library, and the runner applies it to the
store. Only reading the run's details from the script opens the store.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from runyard.config import MAX_TAG_VALUE_LENGTH, RunContextEnv
from runyard.core.inputs import check_strings
from runyard.core.run import Run
from runyard.entities import RunInfo
from runyard.errors import ConflictError, ValidationError
from runyard.store.artifacts import clean_relative_path
from runyard.store.base import Store
from runyard.tracking.control import CONTROL_KEY
from runyard.tracking.journal import JournalWriter
from runyard.tracking.readback import metrics_from_journal


class SubmittedContextRun(Run):
    """The run as seen from the script a runner started: logs to the runner's journal,
    opens the store only when something besides ``log`` needs it."""

    def __init__(self, env: RunContextEnv) -> None:  # no store yet: nothing for super()
        self._run_id = env.run_id
        self._uri, self._root, self._token = env.tracking_uri, env.artifact_root, env.token
        self._studio_url = env.studio_url
        self._journal = JournalWriter(env.journal)
        self._ingest = None
        self._workspace = None
        self._lazy_store: Store | None = None
        self._lazy_info: RunInfo | None = None
        self._uploads = Path(env.journal).parent / "uploads"
        self._upload_seq = itertools.count()

    @property
    def _store(self) -> Store:  # type: ignore[override]
        if self._lazy_store is None:
            from runyard.store import open_store

            self._lazy_store = open_store(
                self._uri, artifact_root=Path(self._root), token=self._token
            )
        return self._lazy_store

    @property
    def _info(self) -> RunInfo:
        if self._lazy_info is None:
            self._lazy_info = self._store.get_run(self._run_id)
        return self._lazy_info

    @_info.setter
    def _info(self, value: RunInfo) -> None:
        self._lazy_info = value

    @property
    def id(self) -> str:
        return self._run_id

    def get_portal_url(self) -> str:
        base = (self._studio_url or "http://127.0.0.1:8765").rstrip("/")
        return f"{base}/runs/{self.id}"

    def child_run(self, name: str | None = None) -> Run:
        raise ConflictError("child runs of a submitted run are not supported yet")

    # -- writes go through the journal -------------------------------------------------

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        clean = check_strings("tag", tags, MAX_TAG_VALUE_LENGTH)
        self._writer().log_record(CONTROL_KEY, "tags", clean)

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        clean = check_strings("property", properties, MAX_TAG_VALUE_LENGTH)
        self._writer().log_record(CONTROL_KEY, "properties", clean)

    def upload_file(self, name: str, path_or_stream: str | Path | BinaryIO) -> None:
        target = clean_relative_path(name)
        # Staged now, so the file can change or vanish before the runner copies it.
        self._uploads.mkdir(parents=True, exist_ok=True)
        staged = self._uploads / f"{next(self._upload_seq)}-{os.getpid()}"
        if isinstance(path_or_stream, (str, Path)):
            source = Path(path_or_stream)
            if not source.is_file():
                raise ValidationError(f"upload_file({name!r}): {source} is not a file")
            shutil.copyfile(source, staged)
        else:
            staged.write_bytes(path_or_stream.read())
        self._writer().log_record(CONTROL_KEY, "upload", {"name": target, "path": str(staged)})

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        """Read from this process's own journal: up to date, and no store needed."""
        return metrics_from_journal(self._writer().path, name)
