"""Claim queued runs of a compute target and start a runner for each.

Queued runs wait as rows, not processes: whoever frees or adds work (a submission, a
finishing runner) calls :func:`claim_and_launch`, which fills the target's free slots.
Each runner is detached (its own session, no inherited descriptors), so the process
that submitted may exit while the run goes on.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from runyard.entities import ComputeTargetConfig, RunInfo, RunStatus
from runyard.errors import ComputeError, ConflictError
from runyard.runner.context import RunPaths, write_claim
from runyard.runner.owner import owner_string
from runyard.store.base import Store
from runyard.store.workspace_files import read_config, resolve_paths


def claim_and_launch(store: Store, config_path: Path, target: ComputeTargetConfig) -> list[str]:
    """Claims queued runs of ``target`` while it has free slots and starts a runner for
    each; returns their ids. Raises ComputeError if a runner cannot be started (that
    run is marked Failed)."""
    config_path = Path(config_path).resolve()
    _uri, artifact_root = resolve_paths(read_config(config_path), config_path.parent)
    launched: list[str] = []
    while (run := store.claim_next_queued(target.name, target.max_concurrent_runs)) is not None:
        paths = RunPaths(run.run_id, artifact_root)
        try:
            pid = _spawn_runner(run, paths, config_path)
        except OSError as exc:
            _fail_launch(store, run, exc)
            raise ComputeError(
                f"could not start the runner of run {run.run_id} on {target.name!r}: {exc}"
            ) from exc
        # The owner is known before the runner has imported anything: the reaper can
        # tell a slow start from a dead runner at once.
        store.heartbeat(run.run_id, owner=owner_string(pid))
        launched.append(run.run_id)
    return launched


def _spawn_runner(run: RunInfo, paths: RunPaths, config_path: Path) -> int:
    write_claim(paths, run.definition, run.compute_target)
    log_fd = os.open(paths.runner_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runyard.runner",
                run.run_id,
                "--workspace-config",
                str(config_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=paths.run_dir,
        )
    finally:
        os.close(log_fd)
    # Nobody waits for it: subprocess reaps finished children as it starts new ones.
    return proc.pid


def _fail_launch(store: Store, run: RunInfo, exc: OSError) -> None:
    with contextlib.suppress(ConflictError):  # someone else finished it already
        store.set_status(
            run.run_id,
            RunStatus.FAILED,
            error=f"could not start the runner: {exc}",
            expected=[RunStatus.PREPARING],
        )
