"""A tracking_uri to a missing database creates nothing, whoever opens it (issue 13
item 6).

Only ``runyard init`` creates a store. The check was in ``Workspace.store`` only:
``open_workspace_store`` (the sweep controller's and tools' way in) and the runner's own
connection made a fresh empty database (and a lock file) where the typo pointed. Now
every opening path refuses with an error naming ``runyard init``, and nothing appears:
the Python API, ``open_workspace_store``, a runner's store connection, and the CLI,
``runs list`` and ``studio`` alike (no traceback).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runyard.core import Workspace
from runyard.errors import WorkspaceNotFoundError
from runyard.runner.local import local_parts, open_workspace_store
from runyard.workspace import ResolvedWorkspace

CLI = (sys.executable, "-m", "runyard.cli")


def _typo_workspace(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "ws"
    ws = Workspace.create(root)
    config_path = Path(ws.config_path)
    ws.close()
    config = json.loads(config_path.read_text())
    missing = tmp_path / "typo" / "runyrad.db"
    missing.parent.mkdir()
    config["tracking_uri"] = f"sqlite:///{missing}"
    config_path.write_text(json.dumps(config))
    return config_path, missing


def _nothing_created(missing: Path) -> None:
    assert sorted(p.name for p in missing.parent.iterdir()) == []


def test_every_opening_path_refuses_a_missing_database(tmp_path: Path) -> None:
    config_path, missing = _typo_workspace(tmp_path)
    with pytest.raises(WorkspaceNotFoundError, match="runyard init"):
        Workspace.from_config(config_path).store  # noqa: B018
    with pytest.raises(WorkspaceNotFoundError, match=str(missing)):
        open_workspace_store(config_path)
    parts = local_parts("some_run", ResolvedWorkspace.load(config_path))
    with pytest.raises(WorkspaceNotFoundError, match="runyard init"):
        parts.open_store()
    _nothing_created(missing)
    for command in (["runs", "list"], ["experiments", "list"], ["studio", "--port", "0"]):
        done = subprocess.run(
            [*CLI, "-w", str(config_path.parent.parent), *command],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode != 0, (command, done.stdout)
        assert "runyard init" in done.stderr and "Traceback" not in done.stderr, done.stderr
        _nothing_created(missing)
