"""Starting, finding and resuming sweep controllers on this machine.

A controller is a detached process (its own session, like a runner:
:mod:`runyard.runner.launch`) that holds an exclusive ``flock`` on
``<artifact_root>/runs/<sweep id>/controller.lock`` while it lives. The kernel drops the
lock when the process dies however it dies (SIGKILL included), so "is the controller
alive" is one non-blocking lock attempt, with no heartbeat race, and two controllers of
one sweep never run at once. A sweep that is Running with its lock free is resumed by
:func:`resume_orphans` (called when a workspace's store is opened) or by
``runyard sweeps resume ID``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runyard.entities import RunInfo, RunKind, RunQuery, RunStatus
from runyard.errors import ComputeError, ConflictError
from runyard.store.base import Store
from runyard.workspace.paths import ResolvedWorkspace

log = logging.getLogger(__name__)
LOCK_FILE = "controller.lock"
LOG_FILE = "controller.log"
_PAGE = 500


def sweep_dir(artifact_root: Path, sweep_id: str) -> Path:
    path = Path(artifact_root) / "runs" / sweep_id
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def controller_lock(artifact_root: Path, sweep_id: str) -> Iterator[bool]:
    """Holds the sweep's controller lock while the block runs; yields False (and holds
    nothing) when another process has it."""
    fd = os.open(sweep_dir(artifact_root, sweep_id) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextmanager
def _held_lock(artifact_root: Path, sweep_id: str, fd: int | None) -> Iterator[bool]:
    """The lock the starter handed over (``fd``), or one taken now."""
    if fd is None:
        with controller_lock(artifact_root, sweep_id) as mine:
            yield mine
        return
    try:
        yield True
    finally:
        os.close(fd)


def controller_alive(artifact_root: Path, sweep_id: str) -> bool:
    with controller_lock(artifact_root, sweep_id) as free:
        return not free


def start_controller(config_path: Path, sweep_id: str) -> int | None:
    """Starts ``python -m runyard.sweeps SWEEP_ID --workspace-config PATH`` detached and
    returns its pid; None when the sweep's controller is alive. The lock is taken here
    and handed to the child (an inherited descriptor), so there is no moment between
    the start and the child's first step in which a second one could start."""
    ws = ResolvedWorkspace.load(config_path)
    folder = sweep_dir(ws.artifact_root, sweep_id)
    lock_fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        log_fd = os.open(folder / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "runyard.sweeps", sweep_id, "--workspace-config",
                 str(ws.config_path), "--lock-fd", str(lock_fd)],
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                pass_fds=(lock_fd,),
                cwd=folder,
            )  # fmt: skip
        except OSError as exc:
            raise ComputeError(
                f"could not start the controller of sweep {sweep_id}: {exc}"
            ) from exc
        finally:
            os.close(log_fd)
    finally:
        os.close(lock_fd)  # the child's copy keeps the lock
    return proc.pid


def running_sweeps(store: Store) -> Iterator[RunInfo]:
    offset = 0
    while True:
        page = store.search_runs(
            RunQuery(statuses=[RunStatus.RUNNING], sort="created_at", limit=_PAGE, offset=offset)
        )
        yield from (r for r in page.runs if r.kind is RunKind.SWEEP)
        offset += len(page.runs)
        if not page.runs or offset >= page.total:
            return


def resume(store: Store, config_path: Path, sweep_id: str) -> bool:
    """Starts the controller of a Running sweep whose controller is gone; False when it
    is alive. Raises ConflictError for a run that is not a Running sweep."""
    run = store.get_run(sweep_id)
    if run.kind is not RunKind.SWEEP:
        raise ConflictError(f"run {sweep_id} is not a sweep")
    if run.status is not RunStatus.RUNNING:
        raise ConflictError(f"sweep {sweep_id} is {run.status.value}: nothing to resume")
    ws = ResolvedWorkspace.load(config_path)
    return start_controller(ws.config_path, sweep_id) is not None


def resume_orphans(store: Store, config_path: Path) -> list[str]:
    """Resumes every Running sweep of the workspace whose controller died; returns their
    ids. Housekeeping: a failure is logged, never raised into an unrelated command."""
    resumed = []
    try:
        for run in list(running_sweeps(store)):
            if resume(store, config_path, run.run_id):
                log.info("resumed the controller of sweep %s", run.run_id)
                resumed.append(run.run_id)
    except (ComputeError, ConflictError, OSError) as exc:
        log.warning("could not resume sweep controllers: %s", exc)
    return resumed


def main(argv: list[str]) -> int:
    """``python -m runyard.sweeps SWEEP_ID --workspace-config PATH``."""
    import argparse

    from runyard.runner.local import open_workspace_store
    from runyard.sweeps.controller import Controller

    parser = argparse.ArgumentParser(prog="python -m runyard.sweeps")
    parser.add_argument("sweep_id")
    parser.add_argument("--workspace-config", required=True, type=Path)
    parser.add_argument("--lock-fd", type=int, default=None, help="the lock, taken already")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    ws, store = open_workspace_store(args.workspace_config)
    with _held_lock(ws.artifact_root, args.sweep_id, args.lock_fd) as mine:
        if not mine:
            log.info("sweep %s has a live controller already", args.sweep_id)
            return 0
        try:
            ended = Controller(store, ws.config_path, args.sweep_id).run()
        finally:
            store.close()
    log.info("sweep %s ended %s", args.sweep_id, ended.status.value)
    return 0
