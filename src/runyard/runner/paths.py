"""Where one run's files live on the machine that runs it, and the claim the launcher
hands the runner.

Kept free of heavy imports: the runner reads this before it starts the script, and
opens the store (SQLAlchemy) only afterwards.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard.entities import RunInfo
from runyard.store.artifacts import DRIVER_LOG, ENVIRONMENT_BUILD_LOG, LocalArtifactRepository

CLAIM_FILE = "claim.json"
RUNNER_LOG = "runner.log"
WORK_DIR = "work"


@dataclass(frozen=True)
class RunPaths:
    """The local files of one run under ``<artifact_root>/runs/<run_id>/``.

    ``staging`` says the folder is only this machine's copy (a run on a Ray node, whose
    files live on the studio): it may be removed once everything is sent."""

    run_id: str
    artifact_root: Path
    staging: bool = False

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
class Claim:
    """A claimed (Preparing) run as its runner needs it: what to run, and where."""

    definition: dict[str, Any]
    compute_target: str
    epoch: int = 0  # the run's fencing epoch when claimed: every write of the runner carries it

    @classmethod
    def of(cls, run: RunInfo) -> Claim:
        return cls(dict(run.definition), run.compute_target, run.epoch)


def write_claim(paths: RunPaths, claim: Claim) -> None:
    """Hands the claimed run's definition to its runner, so that the runner can start
    the script before it has paid for opening the store. Private to the user (0600):
    the definition holds the run's environment variables."""
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps(
        {
            "definition": claim.definition,
            "compute_target": claim.compute_target,
            "epoch": claim.epoch,
        }
    )
    tmp = paths.claim_file.with_name(f".{CLAIM_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data)
    os.replace(tmp, paths.claim_file)


def read_claim(paths: RunPaths) -> Claim | None:
    """The claim written by :func:`write_claim`, if any."""
    try:
        data = json.loads(paths.claim_file.read_text(encoding="utf-8"))
        definition, target = data["definition"], data["compute_target"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(definition, dict) or not isinstance(target, str):
        return None
    epoch = data.get("epoch", 0)
    return Claim(definition, target, epoch if isinstance(epoch, int) else 0)
