"""Starting a runner process on this machine for a claimed run.

Each runner is detached (its own session, no inherited descriptors), so the process
that submitted may exit while the run goes on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from runyard.entities import RunInfo
from runyard.errors import ComputeError
from runyard.runner.paths import Claim, RunPaths, write_claim
from runyard.workspace.owner import owner_string


class LocalRunnerStarter:
    """A :class:`~runyard.runner.slots.RunStarter` that starts
    ``python -m runyard.runner RUN_ID --workspace-config PATH`` here."""

    def __init__(self, config_path: Path, artifact_root: Path) -> None:
        self.config_path = Path(config_path).resolve()
        self.artifact_root = artifact_root

    def start(self, run: RunInfo) -> str:
        paths = RunPaths(run.run_id, self.artifact_root)
        try:
            pid = self._spawn(run, paths)
        except OSError as exc:
            raise ComputeError(
                f"could not start the runner of run {run.run_id} on {run.compute_target!r}: {exc}"
            ) from exc
        return owner_string(pid)

    def _spawn(self, run: RunInfo, paths: RunPaths) -> int:
        write_claim(paths, Claim.of(run))
        log_fd = os.open(paths.runner_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runyard.runner",
                    run.run_id,
                    "--workspace-config",
                    str(self.config_path),
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
