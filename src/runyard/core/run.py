"""``Run``: what a training script logs to, and what a control script watches.

A ``Run`` is a handle on one run (identity, status, waiting, files, children, cancel,
resubmit) that composes a metric sink (``runyard.tracking.sinks``): the sink is where
its writes go. ``Run.get_context()`` and ``experiment.start_logging()`` choose the sink;
there are no subclasses. Input is checked in one place, ``runyard.tracking.validation``,
whatever the sink.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from runyard.core import details as _details
from runyard.core import run_sdk as _sdk
from runyard.core.context import RunParts, context_parts
from runyard.core.rank_metrics import rank_metrics, run_definition
from runyard.entities import RunInfo, RunKind, RunStatus
from runyard.errors import ValidationError
from runyard.tracking import validation as check
from runyard.tracking.sinks import MetricSink, StoreSink

if TYPE_CHECKING:
    from runyard.core.environment import Environment
    from runyard.core.experiment import Experiment
    from runyard.core.model import Model
    from runyard.core.script_run_config import ScriptRunConfig
    from runyard.core.workspace import Workspace
    from runyard.store.base import Store

_context_lock = threading.Lock()
_context: Run | None = None


def owner_id() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


class Run:
    """A run of an experiment. Get one with ``Run.get_context()`` inside a script,
    ``experiment.start_logging()`` in a notebook, ``experiment.submit(config)`` from a
    control script, or ``Run.get(ws, run_id)``.

    ``store`` and ``info`` say which run; ``sink`` is where its writes go (by default
    the store: a handle that does not log). A script a runner started gives ``info`` as
    the run id alone and ``open_store``, so the store is opened only if a read needs
    it; an offline run has neither store nor opener."""

    def __init__(
        self,
        store: Store | Experiment | None,
        info: RunInfo | str,
        *,
        workspace: Workspace | None = None,
        sink: MetricSink | None = None,
        open_store: Callable[[], Store] | None = None,
        portal_url: str | None = None,
        open_workspace: Callable[[], Workspace] | None = None,
    ) -> None:
        from runyard.core.experiment import Experiment

        if isinstance(store, Experiment):  # the SDK's form: Run(experiment, run_id)
            workspace = store.workspace
            store = workspace.store
            info = store.get_run(info.run_id if isinstance(info, RunInfo) else info)
        self._store = store
        self._open_store = open_store
        self._info = info if isinstance(info, RunInfo) else None
        self._run_id = info.run_id if isinstance(info, RunInfo) else info
        self._workspace = workspace
        self._open_workspace = open_workspace
        self._portal_url = portal_url
        if sink is None:
            sink = StoreSink(self._require_store("writes"), self._run_id)
        self._sink = sink
        # The hot path: run.log is the sink's log function itself, bound once.
        self.log = sink.log  # type: ignore[method-assign]

    # -- getting a run -----------------------------------------------------------------

    @classmethod
    def get_context(cls, allow_offline: bool = True) -> Run:
        """The run this process was started for by Runyard, or, when the script runs on
        its own (``python train.py``), an offline run whose calls succeed and print."""
        global _context
        with _context_lock:
            if _context is None:
                _context = _from_parts(context_parts(allow_offline))
            return _context

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        """A run by id; raises RunNotFoundError."""
        return cls(workspace.store, workspace.store.get_run(run_id), workspace=workspace)

    @classmethod
    def _start_interactive(
        cls, workspace: Workspace, experiment_id: str, *, kind: RunKind, **options: Any
    ) -> Run:
        """A new Running run logged by this process (``start_logging``, a child)."""
        return _sdk.start_interactive(workspace, experiment_id, kind=kind, **options)

    # -- identity ----------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._run_id

    @property
    def number(self) -> int:
        return self._known().number

    @property
    def display_name(self) -> str:
        return self._known().display_name or self.id

    @display_name.setter
    def display_name(self, name: str) -> None:
        """Renames the run (shown in the studio and in ``runyard runs list``)."""
        _sdk.set_display_name(self, name)

    @property
    def parent(self) -> Run | None:
        """The run this one is a child of; None for a top-level run."""
        parent_id = self._known().parent_run_id
        if parent_id is None:
            return None
        store = self._require_store("parent")
        return Run(store, store.get_run(parent_id), workspace=self._workspace)

    @property
    def experiment(self) -> Experiment:
        from runyard.core.experiment import Experiment

        ws = self._require_workspace()
        return Experiment(ws, ws.store.get_experiment(self._known().experiment_id).name)

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def info(self) -> RunInfo:
        """The run's latest state from the store (with what a submitted script wrote
        to its journal that the runner may not have stored yet)."""
        self._info = _sdk.latest_info(self)
        return self._known()

    def _known(self) -> RunInfo:
        """The run as last read (read now if never)."""
        if self._info is None:
            self._info = self._require_store("details").get_run(self.id)
        return self._info

    @property
    def _offline(self) -> bool:
        """No store at all: a script started without Runyard."""
        return self._store is None and self._open_store is None

    def _reader(self) -> Store | None:
        """The store to read the run from; None for an offline run."""
        if self._store is None and self._open_store is not None:
            self._store = self._open_store()
        return self._store

    def _require_store(self, what: str) -> Store:
        store = self._reader()
        if store is None:
            raise ValidationError(
                f"an offline run (a script started without Runyard) has no stored {what}"
            )
        return store

    def _require_workspace(self) -> Workspace:
        if self._workspace is None and self._open_workspace is not None:
            self._workspace = self._open_workspace()
        if self._workspace is None:
            raise ValidationError("this run was opened without its workspace")
        return self._workspace

    def __repr__(self) -> str:
        status = f", status={self._info.status.value!r}" if self._info is not None else ""
        return f"Run(id={self.id!r}{status})"

    # -- metrics -----------------------------------------------------------------------

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Logs a scalar (float, int, bool or str; NaN and inf allowed). Costs about a
        microsecond and is durable when it returns, even if the process is killed."""
        self._sink.log(name, value, description, step)  # each handle binds the sink's own

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        """Logs a list of numbers as one metric (charted against its index)."""
        self._sink.log_record(name, "list", check.list_values(name, value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Logs one row of a table metric: ``run.log_row("acc", epoch=1, value=0.9)``."""
        self._sink.log_record(name, "row", check.row_values(name, kwargs))

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        """Logs a table given as a dict of equally long columns."""
        self._sink.log_record(name, "table", check.table_columns(name, value))

    def log_image(
        self, name: str, path: str | Path | None = None, plot: Any = None, description: str = ""
    ) -> None:
        """Logs an image file, or a matplotlib figure/pyplot (``plot=plt``), as a PNG."""
        target, source = check.image_upload(name, path, plot)
        self._sink.upload(target, source)
        self._sink.log_record(name, "image", {"path": target})

    def get_metrics(
        self, name: str | None = None, *, rank: int | str | None = None
    ) -> dict[Any, Any]:
        """Metrics by name: a scalar where logged once, a list where logged many times
        (as the tutorial's SDK returns); lists, rows and tables as logged. A distributed
        run gives rank 0's; ``rank=r`` rank r's, ``rank="all"`` ``{rank: metrics}``."""
        return rank_metrics(self._sink.get_metrics, name, rank, lambda: run_definition(self))

    def flush(self) -> None:
        """Ingests what this process has logged so far into the store."""
        self._sink.flush()

    # -- tags, properties, files -------------------------------------------------------

    def tag(self, key: str, value: str | None = None) -> None:
        self.set_tags({key: "" if value is None else value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        clean = check.tags(tags)
        self._sink.set_tags(clean)
        self._keep(clean, {})

    def remove_tags(self, tags: Iterable[str] | str) -> None:
        """Removes the tags named (names the run lacks are skipped), as ``set_tags`` sets."""
        _sdk.remove_tags(self, tags)

    def get_tags(self) -> dict[str, str]:
        return dict(self.info.tags)

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        """Adds properties; unlike tags they cannot change once set."""
        clean = check.properties(properties)
        if self._offline:
            check.unchanged_properties(self.id, self._known().properties, clean)
        self._sink.add_properties(clean)
        self._keep({}, clean)

    def get_properties(self) -> dict[str, str]:
        return dict(self.info.properties)

    def _keep(self, tags: Mapping[str, str], properties: Mapping[str, str]) -> None:
        # A run without a store (offline) keeps its own tags and properties.
        if self._offline and self._info is not None:
            self._info = _sdk.with_tags(self._info, tags, properties)

    def upload_file(self, name: str, path_or_stream: str | Path | BinaryIO) -> None:
        """Uploads a file to the run as ``name`` (e.g. ``outputs/model.pt``)."""
        self._sink.upload(*check.upload(name, path_or_stream))

    def upload_folder(self, name: str, path: str | Path) -> None:
        for target, source in check.folder_files(name, path):
            self._sink.upload(target, source)

    def get_file_names(self) -> list[str]:
        store = self._reader()
        return [] if store is None else [f.path for f in store.artifacts.list_files(self.id)]

    def download_file(self, name: str, output_file_path: str | Path | None = None) -> Path:
        return _sdk.download_file(self, name, output_file_path)

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: str | Path | None = None,
        append_prefix: bool = True,
        **options: Any,  # show_progress=True; the SDK's batch_size, timeout_seconds: unused
    ) -> list[Path]:
        """Downloads the files under ``prefix``; ``append_prefix=False`` drops it."""
        return _sdk.download_files(self, prefix, output_directory, append_prefix, options)

    def restore_snapshot(
        self, snapshot_id: str | None = None, path: str | Path | None = None
    ) -> str:
        """Writes the run's source snapshot as a ZIP file; returns its path."""
        return _sdk.restore_snapshot(self, snapshot_id, path)

    def get_environment(self) -> Environment:
        """The environment the run was submitted with."""
        return _sdk.run_environment(self)

    # -- assets (runyard.core.model, runyard.assets.inputs) -----------------------------

    @property
    def input_datasets(self) -> dict[str, str]:
        """Inside a submitted run: each dataset input's local path, by input name."""
        from runyard.assets.inputs import input_datasets

        return input_datasets()

    def register_model(
        self, model_name: str, model_path: str | None = None, **options: Any
    ) -> Model:
        """Registers the run's file or folder (``outputs/model.pt``) as a model version."""
        from runyard.core.model import register_from_run

        return register_from_run(self, model_name, model_path, **options)

    # -- state -------------------------------------------------------------------------

    def get_status(self) -> str:
        """The status name, e.g. ``"Running"`` or ``"Completed"``."""
        return self.info.status.value

    def get_details(self) -> dict[str, Any]:
        return _details.run_details(self.info, self.get_file_names())

    def get_details_with_logs(self) -> dict[str, Any]:
        """The details, with ``logFiles`` mapping each log's name to its text."""
        return _sdk.details_with_logs(self)

    def complete(self) -> None:
        """Marks an interactive run Completed, after ingesting everything it logged."""
        self._finish(RunStatus.COMPLETED)

    def fail(self, error_details: Any = None, error_code: str | None = None, **_: Any) -> None:
        """Marks the run Failed with ``error_details`` (text or an exception) and
        ``error_code``; a submitted run ends Failed even if its script then exits 0."""
        self._finish(RunStatus.FAILED, _sdk.error_text(error_details, error_code))

    def cancel(self) -> None:
        """Cancels the run: a submitted run's script gets SIGTERM, then SIGKILL (also
        when the script cancels its own run)."""
        _sdk.cancel(self)

    def _finish(self, status: RunStatus, error: str | None = None) -> None:
        for stop in vars(self).pop("_on_finish", ()):  # system metrics: points in first
            stop()
        info = self._sink.finish(status, error)
        self.log = self._sink.log  # type: ignore[method-assign]  # a finished sink refuses
        self._info = self._info if info is None else info

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is None:
            self.complete()
        else:
            self.fail(f"{type(exc).__name__}: {exc}")

    # -- children ----------------------------------------------------------------------

    def child_run(self, name: str | None = None) -> Run:
        """Starts a child run, logged by this process like ``start_logging``."""
        return _sdk.child_run(self, name)

    def create_children(
        self,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: list[str] | None = None,
    ) -> list[Run]:
        """Starts ``count`` children, or one per value of ``tag_values``, tagged with
        ``tag_key``; they log from this process as ``child_run`` does."""
        return _sdk.create_children(self, count, tag_key, tag_values)

    def submit_child(self, config: ScriptRunConfig, tags: Mapping[str, str] | None = None) -> Run:
        """Submits ``config`` as a child run of this one (as ``experiment.submit``)."""
        return _sdk.submit_child(self, config, tags)

    def get_children(self) -> Iterator[Run]:
        return _sdk.children(self)

    # -- watching ----------------------------------------------------------------------

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Waits for a terminal status, streaming the driver log when ``show_output``.
        A Failed or Canceled run raises RunFailedError unless ``raise_on_error=False``."""
        from runyard.core.watch import wait_for

        return wait_for(
            self, show_output=show_output, timeout=timeout, raise_on_error=raise_on_error
        )

    def get_portal_url(self) -> str:
        if self._portal_url is not None:
            return self._portal_url
        return self._require_workspace().portal_url(self.id)

    def get_driver_log(self) -> str:
        return _sdk.driver_log(self)

    def resubmit(self, compute_target: str | None = None) -> Run:
        """Starts a new run from this run's snapshot, arguments and locked environment."""
        from runyard.core.submit import resubmit

        return resubmit(self._require_workspace(), self, compute_target=compute_target)


def _from_parts(parts: RunParts) -> Run:
    return Run(
        None,
        parts.info,
        sink=parts.sink,
        open_store=parts.open_store,
        portal_url=parts.portal_url,
        open_workspace=parts.open_workspace,
    )
