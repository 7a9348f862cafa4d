"""The URIs MLflow is given for a workspace: ``runyard:CONFIG`` for tracking and
``runyard-artifacts:/RUN_ID/PATH`` for a run's files (``runyard.mlflow`` serves them).
Here, below core, so that ``ws.get_mlflow_tracking_uri()`` needs no MLflow."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

SCHEME = "runyard"
ARTIFACT_SCHEME = "runyard-artifacts"
# MLflow's default experiment ("0", "Default") is the workspace's experiment of that name.
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


def tracking_uri(config_path: Path | None) -> str:
    """The MLflow tracking URI of the workspace whose config is ``config_path``;
    ``runyard:`` alone (None) means the workspace of the run this process is."""
    return f"{SCHEME}:" if config_path is None else f"{SCHEME}:{Path(config_path).resolve()}"


def config_path_of(uri: str) -> Path | None:
    """The workspace config a ``runyard:`` URI names (None: this run's workspace)."""
    parts = urlsplit(uri)
    if parts.scheme != SCHEME:
        raise ValueError(f"{uri!r} is not a {SCHEME}: tracking URI")
    path = unquote(parts.path)
    return Path(path) if path else None


def artifact_uri(run_id: str, path: str = "") -> str:
    """Where MLflow finds a run's files: ``runyard-artifacts:/RUN_ID[/PATH]``."""
    return f"{ARTIFACT_SCHEME}:/{run_id}" + (f"/{path.strip('/')}" if path.strip("/") else "")


def parse_artifact_uri(uri: str) -> tuple[str, str]:
    """(run id, path inside the run's files) of a ``runyard-artifacts:`` URI."""
    parts = urlsplit(uri)
    if parts.scheme != ARTIFACT_SCHEME:
        raise ValueError(f"{uri!r} is not a {ARTIFACT_SCHEME}: URI")
    run_id, _, path = unquote(parts.path).strip("/").partition("/")
    if not run_id:
        raise ValueError(f"{uri!r} names no run: expected {ARTIFACT_SCHEME}:/RUN_ID/PATH")
    return run_id, path.strip("/")
