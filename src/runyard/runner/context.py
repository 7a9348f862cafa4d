"""Where a run's files live on this machine, and what the launcher hands the runner.

Kept free of heavy imports: the runner reads this before it starts the script, and
opens the store (SQLAlchemy) only afterwards.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard.config import WorkspaceConfig
from runyard.entities import ComputeTargetConfig
from runyard.store.artifacts import DRIVER_LOG, ENVIRONMENT_BUILD_LOG, LocalArtifactRepository
from runyard.store.workspace_files import read_config, resolve_paths

CLAIM_FILE = "claim.json"
RUNNER_LOG = "runner.log"
WORK_DIR = "work"
# The target a workspace always has, also when its config does not list it.
DEFAULT_LOCAL_TARGET = ComputeTargetConfig(name="local", type="local", max_concurrent_runs=1)


@dataclass(frozen=True)
class RunPaths:
    """The local files of one run under ``<artifact_root>/runs/<run_id>/``."""

    run_id: str
    artifact_root: Path

    @property
    def repository(self) -> LocalArtifactRepository:
        return LocalArtifactRepository(self.artifact_root)

    @property
    def run_dir(self) -> Path:
        return self.repository.run_dir(self.run_id)

    @property
    def work_dir(self) -> Path:
        return self.run_dir / WORK_DIR

    @property
    def claim_file(self) -> Path:
        return self.run_dir / CLAIM_FILE

    @property
    def runner_log(self) -> Path:
        return self.run_dir / RUNNER_LOG

    @property
    def journal(self) -> Path:
        return self.repository.journal_path(self.run_id)

    @property
    def driver_log(self) -> Path:
        return self.repository.local_path(self.run_id, DRIVER_LOG)

    @property
    def build_log(self) -> Path:
        return self.repository.local_path(self.run_id, ENVIRONMENT_BUILD_LOG)

    @property
    def snapshots(self) -> Path:
        return self.artifact_root / "snapshots"


@dataclass(frozen=True)
class WorkspaceContext:
    """A workspace config with its paths resolved."""

    config_path: Path
    config: WorkspaceConfig
    tracking_uri: str
    artifact_root: Path

    @classmethod
    def load(cls, config_path: Path) -> WorkspaceContext:
        path = Path(config_path).resolve()
        config = read_config(path)
        uri, root = resolve_paths(config, path.parent)
        return cls(path, config, uri, root)

    def paths(self, run_id: str) -> RunPaths:
        return RunPaths(run_id, self.artifact_root)

    def target(self, name: str) -> ComputeTargetConfig | None:
        """The named compute target, or None when the config does not have it."""
        found = self.config.compute_targets.get(name)
        if found is None and name == DEFAULT_LOCAL_TARGET.name:
            return DEFAULT_LOCAL_TARGET
        return found


def write_claim(paths: RunPaths, definition: Any, compute_target: str) -> None:
    """Hands the claimed run's definition to its runner, so that the runner can start
    the script before it has paid for opening the store. Private to the user (0600):
    the definition holds the run's environment variables."""
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"definition": dict(definition), "compute_target": compute_target})
    tmp = paths.claim_file.with_name(f".{CLAIM_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data)
    os.replace(tmp, paths.claim_file)


def read_claim(paths: RunPaths) -> tuple[dict[str, Any], str] | None:
    """The definition and compute target written by ``write_claim``, if any."""
    try:
        data = json.loads(paths.claim_file.read_text(encoding="utf-8"))
        definition, target = data["definition"], data["compute_target"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(definition, dict) or not isinstance(target, str):
        return None
    return definition, target
