"""The run as a script started by a runner sees it (``Run.get_context()``)."""

from __future__ import annotations

from pathlib import Path

from runyard.config import RunContextEnv
from runyard.core.run import Run
from runyard.entities import RunInfo
from runyard.errors import ConflictError
from runyard.store.base import Store
from runyard.tracking.journal import JournalWriter


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
