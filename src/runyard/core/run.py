"""``Run``: what a training script logs to, and what a control script watches."""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import socket
import threading
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from runyard.config import MAX_TAG_VALUE_LENGTH, run_context_from_environ
from runyard.core import details as _details
from runyard.core.inputs import check_strings, plain_value
from runyard.entities import RunInfo, RunKind, RunQuery, RunStatus
from runyard.errors import ConflictError, MetricTypeError, ValidationError
from runyard.store.artifacts import DRIVER_LOG, clean_relative_path
from runyard.store.base import Store
from runyard.tracking.journal import JournalWriter

if TYPE_CHECKING:
    from runyard.core.experiment import Experiment
    from runyard.core.workspace import Workspace
    from runyard.tracking.ingest import IngestThread

_context_lock = threading.Lock()
_context: Run | None = None


def owner_id() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


class Run:
    """A run of an experiment. Get one with ``Run.get_context()`` inside a script,
    ``experiment.start_logging()`` in a notebook, ``experiment.submit(config)`` from a
    control script, or ``Run.get(ws, run_id)``."""

    def __init__(
        self,
        store: Store,
        info: RunInfo,
        *,
        workspace: Workspace | None = None,
        journal: JournalWriter | None = None,
        ingest: IngestThread | None = None,
    ) -> None:
        self._store = store
        self._info = info
        self._workspace = workspace
        self._journal = journal
        self._ingest = ingest
        if ingest is not None:
            # A process that exits without complete() still loses nothing.
            _live_runs.add(self)

    # -- getting a run -----------------------------------------------------------------

    @classmethod
    def get_context(cls, allow_offline: bool = True) -> Run:
        """The run this process was started for by Runyard, or, when the script runs on
        its own (``python train.py``), an offline run whose calls succeed and print."""
        global _context
        with _context_lock:
            if _context is not None:
                return _context
            env = run_context_from_environ()
            if env is None:
                if not allow_offline:
                    raise ValidationError(
                        "this process was not started by Runyard (no RUNYARD_RUN_ID) and "
                        "allow_offline=False"
                    )
                from runyard.core.offline import OfflineRun

                _context = OfflineRun()
                return _context
            from runyard.core.context import SubmittedContextRun

            _context = SubmittedContextRun(env)
            return _context

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        """A run by id; raises RunNotFoundError."""
        return cls(workspace.store, workspace.store.get_run(run_id), workspace=workspace)

    @classmethod
    def _start_interactive(
        cls,
        workspace: Workspace,
        experiment_id: str,
        *,
        kind: RunKind,
        display_name: str = "",
        parent_run_id: str | None = None,
    ) -> Run:
        from runyard.tracking.ingest import IngestThread, JournalIngester

        store = workspace.store
        info = store.create_run(
            experiment_id,
            kind=kind,
            status=RunStatus.RUNNING,
            parent_run_id=parent_run_id,
            display_name=display_name,
            owner=owner_id(),
        )
        journal_path = workspace.artifact_root / "runs" / info.run_id / "journal.bin"
        journal = JournalWriter(journal_path)
        ingest = IngestThread(
            JournalIngester(store, info.run_id, journal_path),
            on_tick=lambda: store.heartbeat(info.run_id),
        ).start()
        return cls(store, info, workspace=workspace, journal=journal, ingest=ingest)

    # -- identity ----------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._info.run_id

    @property
    def number(self) -> int:
        return self._info.number

    @property
    def display_name(self) -> str:
        return self._info.display_name or self.id

    @property
    def experiment(self) -> Experiment:
        from runyard.core.experiment import Experiment

        exp = self._store.get_experiment(self._info.experiment_id)
        return Experiment(self._require_workspace(), exp.name)

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def info(self) -> RunInfo:
        """The run's latest state from the store."""
        self._info = self._store.get_run(self.id)
        return self._info

    def _require_workspace(self) -> Workspace:
        if self._workspace is None:
            raise ValidationError("this run was opened without its workspace")
        return self._workspace

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, status={self._info.status.value!r})"

    # -- metrics -----------------------------------------------------------------------

    def _writer(self) -> JournalWriter:
        if self._journal is None:
            raise ConflictError(
                f"run {self.id} is not being logged by this process; log from the "
                "script it runs (Run.get_context()) or from experiment.start_logging()"
            )
        return self._journal

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Logs a scalar (float, int, bool or str; NaN and inf allowed). Costs about a
        microsecond and is durable when it returns, even if the process is killed."""
        journal = self._journal or self._writer()
        journal.log(name, value, step)

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        """Logs a list of numbers as one metric (charted against its index)."""
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise MetricTypeError(
                f"log_list({name!r}): value must be a list, got {type(value).__name__}"
            )
        self._writer().log_record(name, "list", [plain_value(v, name) for v in value])

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Logs one row of a table metric: ``run.log_row("acc", epoch=1, value=0.9)``."""
        if not kwargs:
            raise ValidationError(f"log_row({name!r}) needs column values as keyword arguments")
        self._writer().log_record(name, "row", {k: plain_value(v, name) for k, v in kwargs.items()})

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        """Logs a table given as a dict of equally long columns."""
        if not isinstance(value, Mapping):
            raise MetricTypeError(f"log_table({name!r}): value must be a dict of columns")
        columns = {str(k): [plain_value(v, name) for v in col] for k, col in value.items()}
        if len({len(c) for c in columns.values()}) > 1:
            raise ValidationError(f"log_table({name!r}): columns have different lengths")
        self._writer().log_record(name, "table", columns)

    def log_image(
        self, name: str, path: str | Path | None = None, plot: Any = None, description: str = ""
    ) -> None:
        """Logs an image file, or a matplotlib figure/pyplot (``plot=plt``), as a PNG."""
        if (path is None) == (plot is None):
            raise ValidationError(f"log_image({name!r}) takes exactly one of path= or plot=")
        safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)[:100]
        if path is not None:
            source = Path(path)
            if not source.is_file():
                raise ValidationError(f"log_image({name!r}): {source} is not a file")
            target = f"images/{safe}{source.suffix or '.png'}"
            self.upload_file(target, source)
        else:
            buf = io.BytesIO()
            plot.savefig(buf, format="png")
            buf.seek(0)
            target = f"images/{safe}.png"
            self.upload_file(target, buf)
        self._writer().log_record(name, "image", {"path": target})

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        """Metrics by name: a scalar where logged once, a list where logged many times
        (as the tutorial's SDK returns); lists, rows and tables as logged."""
        self.flush()
        return _details.collect_metrics(self._store, self.id, name)

    def flush(self) -> None:
        """Ingests what this process has logged so far into the store."""
        if self._ingest is not None:
            self._ingest.flush()

    # -- tags, properties, files -------------------------------------------------------

    def tag(self, key: str, value: str | None = None) -> None:
        self.set_tags({key: "" if value is None else value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._store.set_tags(self.id, check_strings("tag", tags, MAX_TAG_VALUE_LENGTH))

    def get_tags(self) -> dict[str, str]:
        return dict(self.info.tags)

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        """Adds properties; unlike tags they cannot change once set."""
        self._store.add_properties(
            self.id, check_strings("property", properties, MAX_TAG_VALUE_LENGTH)
        )

    def get_properties(self) -> dict[str, str]:
        return dict(self.info.properties)

    def upload_file(self, name: str, path_or_stream: str | Path | BinaryIO) -> None:
        """Uploads a file to the run as ``name`` (e.g. ``outputs/model.pt``)."""
        target = clean_relative_path(name)
        if isinstance(path_or_stream, (str, Path)):
            source = Path(path_or_stream)
            if not source.is_file():
                raise ValidationError(f"upload_file({name!r}): {source} is not a file")
            self._store.artifacts.put_file(self.id, target, source)
        else:
            self._store.artifacts.put_bytes(self.id, target, path_or_stream.read())

    def upload_folder(self, name: str, path: str | Path) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise ValidationError(f"upload_folder({name!r}): {folder} is not a folder")
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.upload_file(f"{name}/{file.relative_to(folder).as_posix()}", file)

    def get_file_names(self) -> list[str]:
        return [f.path for f in self._store.artifacts.list_files(self.id)]

    def download_file(self, name: str, output_file_path: str | Path | None = None) -> Path:
        target = Path(output_file_path) if output_file_path else Path(Path(name).name)
        if target.is_dir():
            target = target / Path(name).name
        self._store.artifacts.download(self.id, clean_relative_path(name), target)
        return target

    def download_files(
        self, prefix: str | None = None, output_directory: str | Path | None = None
    ) -> list[Path]:
        out = Path(output_directory or ".")
        done = []
        for name in self.get_file_names():
            if prefix is None or name.startswith(prefix):
                done.append(self.download_file(name, out / name))
        return done

    # -- state -------------------------------------------------------------------------

    def get_status(self) -> str:
        """The status name, e.g. ``"Running"`` or ``"Completed"``."""
        return self.info.status.value

    def get_details(self) -> dict[str, Any]:
        return _details.run_details(self._store, self.info)

    def complete(self) -> None:
        """Marks an interactive run Completed, after ingesting everything it logged."""
        self._finish(RunStatus.COMPLETED)

    def fail(self, error_details: Any = None) -> None:
        self._finish(RunStatus.FAILED, str(error_details) if error_details is not None else None)

    def cancel(self) -> None:
        """Cancels the run: a submitted run's script gets SIGTERM, then SIGKILL."""
        if self._info.kind is RunKind.SUBMITTED:
            from runyard.compute.cancel import cancel_run

            self._info = cancel_run(self._store, self.id)
        else:
            self._finish(RunStatus.CANCELED)

    def _finish(self, status: RunStatus, error: str | None = None) -> None:
        if self._info.kind is RunKind.SUBMITTED:
            return  # the runner is the only writer of a submitted run's status
        if self._ingest is not None:
            self._ingest.stop()
            self._ingest = None
            _live_runs.discard(self)
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if not self.info.status.is_terminal():
            self._info = self._store.set_status(self.id, status, error=error)

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
        return Run._start_interactive(
            self._require_workspace(),
            self._info.experiment_id,
            kind=RunKind.CHILD,
            display_name=name or "",
            parent_run_id=self.id,
        )

    def get_children(self) -> Iterator[Run]:
        page = self._store.search_runs(
            RunQuery(parent_run_id=self.id, limit=10_000, descending=False)
        )
        for info in page.runs:
            yield Run(self._store, info, workspace=self._workspace)

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
        from runyard.core.watch import wait

        self._info = wait(self._store, self.id, show_output=show_output, timeout=timeout)
        result = self.get_details()
        if raise_on_error and self._info.status in (RunStatus.FAILED, RunStatus.CANCELED):
            from runyard.errors import RunFailedError

            error = self._info.error or "no error recorded"
            raise RunFailedError(f"run {self.id} ended {self._info.status.value}: {error}", result)
        return result

    def get_portal_url(self) -> str:
        return self._require_workspace().portal_url(self.id)

    def get_driver_log(self) -> str:
        try:
            return self._store.artifacts.read_bytes(self.id, DRIVER_LOG).decode("utf-8", "replace")
        except LookupError:
            return ""

    def resubmit(self, compute_target: str | None = None) -> Run:
        """Starts a new run from this run's snapshot, arguments and locked environment."""
        from runyard.core.submit import resubmit

        return resubmit(self._require_workspace(), self, compute_target=compute_target)


# Interactive runs still open when the interpreter exits: drain their journals so
# nothing logged is lost, and mark them Completed (as MLflow does for active runs).
_live_runs: weakref.WeakSet[Run] = weakref.WeakSet()


@atexit.register
def _finish_live_runs() -> None:
    for run in list(_live_runs):
        with contextlib.suppress(Exception):  # else the reaper finishes it on next open
            run.complete()
