"""A run's files as an MLflow artifact repository (``runyard-artifacts:/RUN_ID/PATH``).

``mlflow.log_artifact`` uploads through the run's ``Run`` handle (``run.upload_file``,
so a submitted script's files go through its journal, as the SDK's do); listing and
downloading read the workspace's artifact store.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow.entities import FileInfo
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from runyard.mlflow.errors import mlflow_errors
from runyard.workspace.mlflow_uri import parse_artifact_uri, tracking_uri

if TYPE_CHECKING:
    from runyard.mlflow.store import RunyardMlflowStore


def _store(uri: str | None) -> RunyardMlflowStore:
    """The tracking store for ``uri`` (MLflow's current one when not given), shared with
    MLflow's fluent API so that this process's own runs are written through one handle."""
    from mlflow.tracking._tracking_service.utils import _get_store

    from runyard.mlflow.store import RunyardMlflowStore

    store = _get_store(uri)
    if not isinstance(store, RunyardMlflowStore):  # another URI is current: open ours
        store = RunyardMlflowStore(
            uri if uri and uri.startswith("runyard:") else tracking_uri(None)
        )
    return store


class RunyardArtifactRepository(ArtifactRepository):
    """The files of one run, from the folder ``PATH`` of the URI down."""

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
        self.run_id, self.prefix = parse_artifact_uri(artifact_uri)
        self._tracking = _store(tracking_uri)

    def _name(self, *parts: str | None) -> str:
        return posixpath.join(self.prefix, *(p.strip("/") for p in parts if p and p.strip("/")))

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        name = self._name(artifact_path, os.path.basename(local_file))
        self._tracking._handle(self.run_id).upload_file(name, Path(local_file))

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        handle = self._tracking._handle(self.run_id)
        root = Path(local_dir)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            handle.upload_file(self._name(artifact_path, path.relative_to(root).as_posix()), path)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly in ``path``, relative to this repository."""
        handle = self._tracking._handle(self.run_id)
        handle.flush()  # a file this process uploaded is listed
        folder = self._name(path)
        if not self.prefix and folder and self._in_a_model(folder):
            # MLflow lists a logged model's files through the model (models:/ID), whose
            # folder is this one: listed here too, each file would be listed twice.
            return []
        below = f"{folder}/" if folder else ""
        entries: dict[str, FileInfo] = {}
        for info in self._tracking._artifacts(self.run_id).list_files(self.run_id):
            if not info.path.startswith(below) or info.path.startswith(".mlflow/"):
                continue
            head, _, rest = info.path[len(below) :].partition("/")
            relative = posixpath.relpath(below + head, self.prefix) if self.prefix else below + head
            if rest:
                entries.setdefault(relative, FileInfo(relative, True, None))
            else:
                entries[relative] = FileInfo(relative, False, info.size)
        return [entries[k] for k in sorted(entries)]

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """A run's files go only with the run: for a deleted run this leaves them to the
        purge that follows (``mlflow gc`` calls this first, then ``_hard_delete_run``)."""
        store = self._tracking.workspace.store
        with mlflow_errors():
            run = store.get_run(self.run_id)
            deleted = run.deleted_at or store.get_experiment(run.experiment_id).deleted_at
        if deleted is None:
            raise MlflowException(
                f"Runyard removes run {self.run_id}'s files only with the run: delete it "
                "(mlflow.delete_run), then purge it (mlflow gc, or runyard gc)",
                error_code=INVALID_PARAMETER_VALUE,
            )

    def _in_a_model(self, folder: str) -> bool:
        return any(
            folder == model or folder.startswith(f"{model}/")
            for model in self._tracking.model_folders(self.run_id)
        )

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        self._tracking._artifacts(self.run_id).download(
            self.run_id, self._name(remote_file_path), Path(local_path)
        )
