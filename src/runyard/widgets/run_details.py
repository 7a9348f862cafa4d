"""``RunDetails(run).show()``: the SDK-v1 notebook widget (``azureml.widgets``), on
anywidget, so it renders in JupyterLab 4, Notebook 7 and VS Code alike.

It reads the run's store itself (a SQLite file, PostgreSQL, or a server through an
http(s) tracking URI: whatever store the run was opened with), so no studio needs to
run. A daemon thread asks the store for the run's change counter every ``interval``
seconds (one indexed read) and re-reads the state only when it moved or the driver log
grew; it stops once the run has ended and its last state is sent."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from runyard.core.run import Run
from runyard.errors import RunyardError
from runyard.store.base import Store
from runyard.widgets.snapshot import snapshot_html
from runyard.widgets.state import LogTail, read_state
from runyard.widgets.sweep import sweep_key

_HERE = Path(__file__).resolve().parent


class RunDetails(anywidget.AnyWidget):
    """A run's status, live metric charts and driver log tail, in a notebook cell.

    ``RunDetails(run).show()`` as with ``azureml.widgets``. The output also carries a
    static HTML snapshot (``text/html``), which is what a notebook shows when it is
    rendered without a kernel."""

    _esm = _HERE / "run_details.js"
    _css = _HERE / "run_details.css"
    state = traitlets.Dict().tag(sync=True)

    def __init__(self, run_instance: Run, *, interval: float = 0.25) -> None:
        # The same store the Run reads from (Run keeps it private: a facade of the
        # facade; opening a second one would duplicate its connection pool).
        store: Store = run_instance._require_store("details")
        self._store = store
        self._run_id = run_instance.id
        self._interval = interval
        self._log = LogTail()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        super().__init__(state=read_state(store, self._run_id, self._log))
        if not self.state["run"]["terminal"]:
            self._thread = threading.Thread(
                target=self._watch, name=f"runyard-widget-{self._run_id}", daemon=True
            )
            self._thread.start()

    def show(self) -> None:
        """Displays the widget in the notebook's output (as the SDK's ``show()``)."""
        from IPython.display import display

        display(self)  # type: ignore[no-untyped-call]

    def refresh(self) -> None:
        """Re-reads the run now (the watch thread does this by itself while it runs)."""
        self.state = read_state(self._store, self._run_id, self._log)

    def stop(self) -> None:
        """Stops following the run (the widget keeps its last state)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def close(self) -> None:
        self.stop()
        super().close()

    def _seq(self, seen: Any) -> Any:
        """The change counter the watch compares: the run's, or for a sweep the sweep's
        and every trial's (a trial logging does not move the sweep's own counter)."""
        if self.state.get("sweep"):
            return sweep_key(self._store, self._store.get_run(self._run_id))
        return self._store.get_change_seqs([self._run_id]).get(self._run_id, seen)

    def _watch(self) -> None:
        # What the state shown was read at: a run's counter as of that read (a fresh read
        # here could already see a write made since, which would then never be shown);
        # for a sweep, nothing, so the first tick reads it again.
        seen: Any = None if self.state.get("sweep") else int(self.state["run"]["change_seq"])
        log_seen = self._log.offset
        while not self._stop.wait(self._interval):
            try:
                seq = self._seq(seen)
                grew = self._log.read(self._store, self._run_id)
                if seq == seen and not grew and self._log.offset == log_seen:
                    continue
                self.refresh()
            except (RunyardError, OSError):
                continue  # a store briefly unreachable: the next tick tries again
            seen = seq if self.state.get("sweep") else int(self.state["run"]["change_seq"])
            log_seen = self._log.offset
            if self.state["run"]["terminal"]:
                return

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        # anywidget answers (data, metadata); the snapshot rides along as text/html, which
        # a front end with the widget manager ignores and nbconvert or a viewer shows.
        answer = super()._repr_mimebundle_(**kwargs)
        data, metadata = answer if answer is not None else ({}, {})
        return {**data, "text/html": snapshot_html(self.state)}, metadata
