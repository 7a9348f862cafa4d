"""Runs the SDK-v1 scripts under ``projects/`` the way a user would: each project is
copied into a fresh folder, the workspace and cluster are set up by the SDK-v1 set-up
scripts (``projects/setup``), and the script runs as ``python SCRIPT`` in a real
subprocess against a real workspace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from runyard.core import Run, Workspace

PROJECTS = Path(__file__).resolve().parent / "projects"
# What configuration.ipynb reads from the environment.
SDK_ENV = {
    "SUBSCRIPTION_ID": "00000000-1111-2222-3333-444444444444",
    "RESOURCE_GROUP": "rg-sdk-suite",
    "WORKSPACE_NAME": "sdk-ws",
    "WORKSPACE_REGION": "westeurope",
}
_URL = re.compile(r"https?://\S+/runs/(\S+)")


@dataclass
class Project:
    root: Path

    def run(
        self,
        script: str,
        *args: str,
        ok: bool = True,
        timeout: float = 600,
        python: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``python SCRIPT ARGS`` in the project folder (this interpreter, or ``python``:
        a notebook's own environment); with ``ok``, asserts exit 0."""
        env = {**os.environ, **SDK_ENV}
        proc = subprocess.run(
            [str(python or sys.executable), script, *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if ok:
            assert proc.returncode == 0, (
                f"{script} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
                f"\n--- stderr\n{proc.stderr[-4000:]}"
            )
        return proc

    def workspace(self) -> Workspace:
        return Workspace.from_config(self.root)

    def run_from_url(self, stdout: str) -> Run:
        """The run whose portal URL the control script printed."""
        found = _URL.search(stdout)
        assert found, stdout
        ws = self.workspace()
        return Run.get(ws, found.group(1))


def make_project(tmp_path: Path, name: str, *, cluster: bool = True) -> Project:
    """``projects/NAME`` in a fresh folder with its workspace made by the SDK-v1
    ``configuration.py`` (and, with ``cluster``, its ``cpu-cluster`` by
    ``create_compute.py``)."""
    root = tmp_path / name
    shutil.copytree(PROJECTS / name, root, ignore=shutil.ignore_patterns("__pycache__"))
    for script in ("configuration.py", "create_compute.py"):
        shutil.copy(PROJECTS / "setup" / script, root / script)
    project = Project(root)
    project.run("configuration.py")
    if cluster:
        project.run("create_compute.py")
    return project
