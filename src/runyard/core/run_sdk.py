"""The SDK-v1 conveniences of ``Run`` built on its handle: logs in the details,
downloading many files, the run's snapshot, and its environment. Kept apart from
core/run.py so the handle stays one screenful of identity, sink and state."""

from __future__ import annotations

import contextlib
import dataclasses
import stat
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.entities import FileInfo, RunInfo, RunKind, RunQuery, RunStatus
from runyard.errors import ArtifactNotFoundError, RunNotFoundError, ValidationError
from runyard.store.artifacts import DRIVER_LOG, clean_relative_path
from runyard.tracking import validation as check
from runyard.tracking.sinks import JournalSink

if TYPE_CHECKING:
    from runyard.core.environment import Environment
    from runyard.core.run import Run
    from runyard.core.script_run_config import ScriptRunConfig
    from runyard.core.workspace import Workspace


# The children each journaled run (a submitted script) started, by parent id: the store
# may not list them yet (the runner creates them as it reads the journal), or the
# script's environment may have no store at all.
_started: dict[str, list[Run]] = {}


def set_display_name(run: Run, name: str) -> None:
    """``run.display_name = name``: stored now, or by the runner from the journal."""
    if not isinstance(name, str):
        raise ValidationError(f"display_name must be a string, not {type(name).__name__}")
    run._sink.set_display_name(name)
    if run._info is not None:
        run._info = dataclasses.replace(run._info, display_name=name)


def with_tags(
    info: RunInfo, tags: Mapping[str, str | None], properties: Mapping[str, str] | None = None
) -> RunInfo:
    """``info`` with ``tags`` set (a None value: that tag removed) and properties added."""
    merged = {k: v for k, v in {**info.tags, **tags}.items() if v is not None}
    return dataclasses.replace(
        info, tags=merged, properties={**info.properties, **(properties or {})}
    )


def remove_tags(run: Run, tags: Iterable[str] | str) -> None:
    """``run.remove_tags(["a", "b"])``: stored now, or by the runner from the journal
    (no store read: a script's environment may lack SQLAlchemy); a single name may be
    given as a string."""
    keys = check.tag_names(tags)
    run._sink.remove_tags(keys)
    if run._offline and run._info is not None:
        run._info = with_tags(run._info, dict.fromkeys(keys))


def latest_info(run: Run) -> RunInfo | None:
    """The run as stored now. A submitted script's run (its writes go through the
    journal) also shows what the script wrote that the runner has not stored yet, and,
    where the store cannot tell (no SQLAlchemy in the script's environment, a child run
    the runner has not created yet), what the script knows of it."""
    sink = run._sink
    if not isinstance(sink, JournalSink):
        store = run._reader()
        return store.get_run(run.id) if store is not None else run._info
    try:
        store = run._reader()
        info = store.get_run(run.id) if store is not None else run._info
    except (ImportError, RunNotFoundError):
        if run._info is None:
            raise
        info = run._info
    if info is None:
        return None
    written = sink.written
    info = with_tags(info, written["tags"], written["properties"])
    return dataclasses.replace(info, display_name=written.get("display_name", info.display_name))


def error_text(details: Any, code: str | None) -> str | None:
    """The run's error for ``run.fail(error_details=, error_code=)``."""
    if isinstance(details, BaseException):
        text = f"{type(details).__name__}: {details}"
    else:
        text = "" if details is None else str(details)
    if code:
        return f"{code}: {text}" if text else str(code)
    return text or None


def cancel(run: Run) -> None:
    """``run.cancel()``: a submitted run's runner stops its script (SIGTERM, then
    SIGKILL) and marks it Canceled; a script cancelling its own run asks through its
    journal, the same way; an interactive run is Canceled at once."""
    if isinstance(run._sink, JournalSink) or run._known().kind is not RunKind.SUBMITTED:
        run._finish(RunStatus.CANCELED)
        return
    from runyard.targets.cancel import cancel_run

    run._info = cancel_run(run._require_store("runs"), run.id)


def download_file(run: Run, name: str, output_file_path: str | Path | None) -> Path:
    """``run.download_file``: into ``output_file_path`` (a folder keeps the name)."""
    target = Path(output_file_path) if output_file_path else Path(Path(name).name)
    if target.is_dir():
        target = target / Path(name).name
    store = run._require_store("files")
    store.artifacts.download(run.id, clean_relative_path(name), target)
    return target


def details_with_logs(run: Run) -> dict[str, Any]:
    """``run.get_details_with_logs()``: the details, with each log file's text."""
    details = run.get_details()
    store = run._require_store("logs")
    logs: dict[str, str] = {}
    for name in details["logFiles"]:
        try:
            logs[name] = store.artifacts.read_bytes(run.id, name).decode("utf-8", "replace")
        except LookupError:  # listed a moment ago, gone now: report it empty
            logs[name] = ""
    details["logFiles"] = logs
    return details


def download_files(
    run: Run,
    prefix: str | None,
    output_directory: str | Path | None,
    append_prefix: bool,
    options: Mapping[str, Any],
) -> list[Path]:
    """The SDK's ``download_files``: every file whose name starts with ``prefix`` into
    ``output_directory`` (default: the current folder), at its full name, or, with
    ``append_prefix=False``, at its name with the prefix taken off. ``show_progress``:
    a bar of files and bytes on stderr while it goes."""
    out = Path(output_directory or ".")
    start = (prefix or "").lstrip("/")
    store = run._reader()
    files = [] if store is None else store.artifacts.list_files(run.id)
    wanted = [f for f in files if f.path.startswith(start)]
    done = []
    with _download_bar(bool(options.get("show_progress")), wanted) as advance:
        for info in wanted:
            name = info.path
            relative = name if append_prefix or not start else name[len(start) :].lstrip("/")
            done.append(run.download_file(name, out / (relative or Path(name).name)))
            advance(info.size)
    return done


@contextlib.contextmanager
def _download_bar(show: bool, files: Sequence[FileInfo]) -> Iterator[Callable[[int], None]]:
    if not show or not files:
        yield lambda _size: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"downloading {len(files)} files", total=sum(f.size for f in files))
        yield lambda size: bar.advance(task, size)


def restore_snapshot(run: Run, snapshot_id: str | None, path: str | Path | None) -> str:
    """The SDK's ``restore_snapshot``: the run's source snapshot as a ZIP file, written
    at ``path`` (a folder gets ``<snapshot_id>.zip``; default: the current folder).
    Returns the ZIP's path."""
    from runyard.store.snapshots import SnapshotStore

    sid = snapshot_id or run._known().definition.get("snapshot_id")
    if not sid:
        raise ArtifactNotFoundError(f"run {run.id} has no snapshot (it was not submitted)")
    ws = run._require_workspace()
    snapshots = SnapshotStore(ws.artifact_root / "snapshots")
    manifest = snapshots.manifest(str(sid))
    target = Path(path) if path is not None else Path.cwd()
    if target.is_dir() or path is None:
        target = target / f"{sid}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(manifest):
            data = snapshots.read_file(str(sid), name)
            if "link" in manifest[name]:  # a symlink entry, as zip and unzip store links
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, data)
                continue
            archive.writestr(name, data)
    return str(target)


def run_environment(run: Run) -> Environment:
    """``run.get_environment()``: the environment the run was submitted with."""
    from runyard.core.environment import Environment

    recorded = run._known().definition.get("environment")
    if not recorded:
        raise ValidationError(f"run {run.id} records no environment (only submitted runs have one)")
    env = Environment.from_spec(recorded["spec"])
    env.name = recorded.get("name") or env.name
    env.version = recorded.get("version")
    return env


def driver_log(run: Run) -> str:
    """The script's output so far; "" for an offline run or before it started."""
    store = run._reader()
    if store is None:
        return ""
    try:
        return store.artifacts.read_bytes(run.id, DRIVER_LOG).decode("utf-8", "replace")
    except LookupError:
        return ""


def child_run(run: Run, name: str | None) -> Run:
    """``run.child_run()``: a child logged by this process (offline: an offline run)."""
    from runyard.core.context import offline_parts
    from runyard.core.run import Run, _from_parts

    if run._offline:
        return _from_parts(offline_parts())
    if isinstance(run._sink, JournalSink):
        # A submitted script: the child logs to a journal of its own, which the runner
        # ingests into the child run it creates (no store needed here, nor SQLAlchemy).
        child_id = f"{run.id}_{uuid.uuid4().hex[:8]}"
        portal = run._portal_url.rsplit("/", 1)[0] + "/" + child_id if run._portal_url else None
        parent = run._info
        info = RunInfo(
            run_id=child_id,
            experiment_id=parent.experiment_id if parent is not None else "",
            number=0,
            kind=RunKind.CHILD,
            status=RunStatus.RUNNING,
            created_at=time.time(),
            display_name=name or "",
            parent_run_id=run.id,
        )
        child = Run(
            None,
            info,
            sink=run._sink.start_child(child_id, name or ""),
            open_store=run._open_store,
            portal_url=portal,
            open_workspace=run._open_workspace,
        )
        _started.setdefault(run.id, []).append(child)
        return child
    # Inside a submitted script this opens the run's workspace (local targets only):
    # the child is logged by this process straight to the store, like start_logging.
    return Run._start_interactive(
        run._require_workspace(),
        run._known().experiment_id,
        kind=RunKind.CHILD,
        display_name=name or "",
        parent_run_id=run.id,
    )


def children(run: Run) -> Iterator[Run]:
    """``run.get_children()``: the run's children, oldest first."""
    from runyard.core.run import Run

    started = _started.get(run.id, [])
    try:
        store = run._reader()
    except ImportError:  # a script whose environment has no store: what it started
        store = None
    listed = set()
    if store is not None:
        page = store.search_runs(RunQuery(parent_run_id=run.id, limit=10_000, descending=False))
        for info in page.runs:
            listed.add(info.run_id)
            yield Run(store, info, workspace=run._workspace)
    yield from (child for child in started if child.id not in listed)


def start_interactive(
    workspace: Workspace,
    experiment_id: str,
    *,
    kind: RunKind,
    display_name: str = "",
    parent_run_id: str | None = None,
) -> Run:
    """A Running run whose writes this process ingests (``IngestSink``)."""
    from runyard.core.run import Run, owner_id
    from runyard.tracking.sinks import IngestSink

    store = workspace.store
    info = store.create_run(
        experiment_id,
        kind=kind,
        status=RunStatus.RUNNING,
        parent_run_id=parent_run_id,
        display_name=display_name,
        owner=owner_id(),
    )
    journal = workspace.artifact_root / "runs" / info.run_id / "journal.bin"
    return Run(store, info, workspace=workspace, sink=IngestSink(store, info.run_id, journal))


def create_children(
    run: Run, count: int | None, tag_key: str | None, tag_values: list[str] | None
) -> list[Run]:
    """The SDK's ``create_children``: ``count`` children, or one per tag value."""
    if tag_values is not None and tag_key is None:
        raise ValidationError("create_children: tag_values needs a tag_key")
    if tag_values is not None and count is not None and count != len(tag_values):
        raise ValidationError(
            f"create_children: count={count} but {len(tag_values)} tag_values were given"
        )
    n = len(tag_values) if tag_values is not None else count
    if n is None or n < 1:
        raise ValidationError("create_children needs count >= 1 or tag_values")
    made = []
    for i in range(n):
        child = child_run(run, None)
        if tag_key is not None:
            child.tag(tag_key, tag_values[i] if tag_values is not None else None)
        made.append(child)
    return made


def submit_child(run: Run, config: ScriptRunConfig, tags: Mapping[str, str] | None) -> Run:
    """The SDK's ``run.submit_child(config)``: submits ``config`` as a child of ``run``
    in its experiment (queued on the config's target like ``experiment.submit``)."""
    from runyard.assets.inputs import record_lineage
    from runyard.core.submit import _queue, prepare

    experiment = run.experiment
    target, definition = prepare(experiment, config)
    ws = experiment.workspace
    child = _queue(ws, experiment.id, target, definition, tags, parent_run_id=run.id)
    record_lineage(ws.store, child.id, definition.get("inputs", {}))
    return child
