"""``Model`` (the SDK-v1 ``azureml.core.Model``): registered, versioned model files.

``run.register_model(model_name, model_path='outputs/model.pt')`` or
``Model.register(ws, model_path, model_name)`` stores the files once in the
workspace's content-addressed blob store and numbers the version atomically;
``Model(ws, 'net')`` is the latest, ``Model(ws, 'net', version=2)`` or
``Model(ws, 'net@production')`` a given one. Tags change; properties are set once.
Aliases (``model.set_alias('production')``) keep an append-only history.
"""

from __future__ import annotations

import builtins
import getpass
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.assets import models as _models
from runyard.entities import AliasEvent, ModelVersion
from runyard.errors import ValidationError
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.snapshots import SnapshotStore

if TYPE_CHECKING:
    from runyard.core.file_dataset import AbstractDataset
    from runyard.core.run import Run
    from runyard.core.workspace import Workspace
    from runyard.store.base import Store

__all__ = ["Model"]


def blob_store(store: Store) -> _models.ModelBlobs:
    """The workspace's model blobs: its folder here, or its server's ``/api/blobs``."""
    artifacts = store.artifacts
    if isinstance(artifacts, LocalArtifactRepository):
        return _models.LocalBlobs(SnapshotStore(artifacts.root / "snapshots"))
    from runyard.remote.store import HttpStore

    if isinstance(store, HttpStore):
        return store.model_blobs()
    raise ValidationError(
        f"model files cannot be kept by a {type(store).__name__}; open the workspace by "
        "its folder or by its server's http(s):// tracking_uri"
    )


def _dataset_ids(datasets: Iterable[Any] | None) -> list[str]:
    """``datasets=[('training', ds), ...]`` (the SDK's form) or plain datasets."""
    ids = []
    for item in datasets or []:
        dataset = item[1] if isinstance(item, tuple) else item
        dataset_id = getattr(dataset, "id", None)
        if not dataset_id:
            raise ValidationError(
                f"{dataset!r} is not registered, so a model cannot point at it; register it "
                "first (dataset.register(ws, name))"
            )
        ids.append(str(dataset_id))
    return ids


def _tag_filter(tags: Any) -> dict[str, str | None] | None:
    """The SDK's ``tags=[['key', 'value'], 'key2']``, or a dict."""
    if tags is None:
        return None
    if isinstance(tags, Mapping):
        return {str(k): None if v is None else str(v) for k, v in tags.items()}
    out: dict[str, str | None] = {}
    for item in tags:
        if isinstance(item, str):
            out[item] = None
        else:
            key, value = item
            out[str(key)] = str(value)
    return out


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class Model:
    """A registered model version."""

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
        run_id: str | None = None,
        *,
        _version: ModelVersion | None = None,
        **_sdk: Any,
    ) -> None:
        """``Model(ws, 'net')``, ``Model(ws, 'net', version=2)``, ``Model(ws,
        'net@production')`` or ``Model(ws, id='net:2')``. Raises ModelNotFoundError."""
        self.workspace = workspace
        if _version is None:
            alias = None
            if id is not None:
                name, _, number = id.partition(":")
                version = int(number) if number else None
            if name is None:
                raise ValidationError("Model(ws, name) needs the model's name (or id='name:3')")
            if "@" in name:
                name, alias = name.split("@", 1)
            _version = workspace.store.get_model(name, version, alias=alias)
        self._v = _version

    # -- registering --------------------------------------------------------------------

    @staticmethod
    def register(
        workspace: Workspace,
        model_path: str | Path,
        model_name: str,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
        datasets: Iterable[Any] | None = None,
        **_sdk: Any,
    ) -> Model:
        """Registers a local file or folder as the next version of ``model_name``."""
        files = _models.local_model_files(Path(model_path))
        return Model._new(workspace, model_name, files, tags, properties, description, datasets)

    @staticmethod
    def _new(
        workspace: Workspace,
        name: str,
        files: Sequence[tuple[str, Path]],
        tags: Mapping[str, str] | None,
        properties: Mapping[str, str] | None,
        description: str | None,
        datasets: Iterable[Any] | None,
        run_id: str | None = None,
        store: Store | None = None,
    ) -> Model:
        store = store or workspace.store
        version = _models.register(
            store,
            blob_store(store),
            name,
            files,
            description=description or "",
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            properties={str(k): str(v) for k, v in (properties or {}).items()},
            run_id=run_id,
            dataset_ids=_dataset_ids(datasets),
        )
        return Model(workspace, _version=version)

    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: Any = None,
        properties: Any = None,
        run_id: str | None = None,
        latest: bool = False,
        **_sdk: Any,
    ) -> list[Model]:
        """Registered versions, by name then version; ``tags=[['k', 'v'], 'k2']``."""
        found = workspace.store.list_models(name, _tag_filter(tags))
        if run_id is not None:
            found = [v for v in found if v.run_id == run_id]
        wanted = _tag_filter(properties)
        if wanted:
            found = [
                v
                for v in found
                if all(
                    k in v.properties and (w is None or v.properties[k] == w)
                    for k, w in wanted.items()
                )
            ]
        if latest:
            last: dict[str, ModelVersion] = {v.name: v for v in found}
            found = list(last.values())
        return [Model(workspace, _version=v) for v in found]

    # -- what it is ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._v.name

    @property
    def version(self) -> int:
        return self._v.version

    @property
    def id(self) -> str:
        return self._v.model_id

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._v.tags)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._v.properties)

    @property
    def description(self) -> str:
        return self._v.description

    @property
    def run_id(self) -> str | None:
        return self._v.run_id

    @property
    def created_time(self) -> float:
        return self._v.created_at

    @property
    def aliases(self) -> builtins.list[str]:
        return list(self._v.aliases)

    @property
    def sha256(self) -> str:
        """The content hash of the model's files."""
        return self._v.content_hash

    @property
    def files(self) -> dict[str, int]:
        """Each file's path in the model and its size."""
        return {path: int(entry[1]) for path, entry in self._v.manifest.items()}

    @property
    def datasets(self) -> dict[str, builtins.list[AbstractDataset]]:
        """The registered datasets the model was made from (lineage)."""
        from runyard.core.dataset import Dataset

        return {"training": [Dataset.get_by_id(self.workspace, i) for i in self._v.dataset_ids]}

    def _reload(self) -> ModelVersion:
        if not self._v.manifest:
            self._v = self.workspace.store.get_model(self.name, self.version)
        return self._v

    # -- changing -----------------------------------------------------------------------

    def add_tags(self, tags: Mapping[str, str]) -> None:
        self._v = self.workspace.store.update_model(
            self.name, self.version, add_tags={str(k): str(v) for k, v in tags.items()}
        )

    def remove_tags(self, tags: Iterable[str]) -> None:
        self._v = self.workspace.store.update_model(
            self.name, self.version, remove_tags=[str(t) for t in tags]
        )

    def add_properties(self, properties: Mapping[str, str]) -> None:
        """Adds properties; one already set to another value is a ConflictError."""
        self._v = self.workspace.store.update_model(
            self.name,
            self.version,
            add_properties={str(k): str(v) for k, v in properties.items()},
        )

    def set_alias(self, alias: str) -> AliasEvent:
        """Points ``alias`` at this version (``Model(ws, 'name@alias')``)."""
        event = self.workspace.store.set_model_alias(self.name, alias, self.version, _actor())
        self._v = self.workspace.store.get_model(self.name, self.version)
        return event

    def remove_alias(self, alias: str) -> AliasEvent:
        return self.workspace.store.set_model_alias(self.name, alias, None, _actor())

    def alias_history(
        self, alias: str | None = None, as_of: float | None = None
    ) -> builtins.list[AliasEvent]:
        return self.workspace.store.get_model_alias_history(self.name, alias, as_of)

    # -- files --------------------------------------------------------------------------

    def download(
        self, target_dir: str | Path = ".", exist_ok: bool = False, exists_ok: bool | None = None
    ) -> str:
        """Copies the model's files into ``target_dir``, checking each sha256; returns
        the model's path there."""
        ok = exist_ok if exists_ok is None else exists_ok
        store = blob_store(self.workspace.store)
        return str(_models.download(store, self._reload(), Path(target_dir), exist_ok=ok))

    def serialize(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "tags": self.tags,
            "properties": self.properties,
            "description": self.description,
            "runId": self.run_id,
            "sha256": self.sha256,
            "aliases": self.aliases,
            "datasets": list(self._v.dataset_ids),
        }

    def __repr__(self) -> str:
        return f"Model(name={self.name!r}, version={self.version}, id={self.id!r})"


def register_from_run(run: Run, model_name: str, model_path: str | None, **options: Any) -> Model:
    """``run.register_model``: files among the run's uploaded files, or (inside a
    running script) at that path in the working folder."""
    from runyard.store.artifacts import clean_relative_path

    store = run._require_store("models")
    ws = run._workspace
    if ws is None:
        from runyard.core.workspace import Workspace

        ws = Workspace.from_config()
    rel = clean_relative_path(model_path or "outputs")
    artifacts = store.artifacts
    files: list[tuple[str, Path]] = []
    if isinstance(artifacts, LocalArtifactRepository):
        base = rel.rsplit("/", 1)[-1]
        for info in artifacts.list_files(run.id):
            if info.path == rel or info.path.startswith(rel + "/"):
                inner = info.path[len(rel) :].lstrip("/")
                name = f"{base}/{inner}" if inner else base
                files.append((name, artifacts.local_path(run.id, info.path)))
    if not files and not isinstance(artifacts, LocalArtifactRepository):
        # The run's files are on the server: fetch the ones under ``rel`` to register
        # them (sent back up as blobs; the server keeps each content once).
        return _register_remote_files(run, ws, store, model_name, rel, options)
    if not files:
        local = Path(os.getcwd()) / rel
        if not local.exists():
            raise ValidationError(
                f"run {run.id} has no file or folder {rel!r}; save the model under "
                "outputs/ (uploaded when the run ends) or upload it with run.upload_file first"
            )
        files = _models.local_model_files(local)
    return _new_from_run(run, ws, store, model_name, files, options)


def _new_from_run(
    run: Run,
    ws: Workspace,
    store: Store,
    model_name: str,
    files: Sequence[tuple[str, Path]],
    options: Mapping[str, Any],
) -> Model:
    allowed = {"tags", "properties", "description", "datasets"}
    kept = {k: v for k, v in options.items() if k in allowed}
    return Model._new(
        ws,
        model_name,
        files,
        kept.get("tags"),
        kept.get("properties"),
        kept.get("description"),
        kept.get("datasets"),
        run_id=run.id,
        store=store,
    )


def _register_remote_files(
    run: Run, ws: Workspace, store: Store, model_name: str, rel: str, options: Mapping[str, Any]
) -> Model:
    import tempfile

    infos = [
        i
        for i in store.artifacts.list_files(run.id)
        if i.path == rel or i.path.startswith(rel + "/")
    ]
    local = Path(os.getcwd()) / rel
    if not infos:
        if not local.exists():
            raise ValidationError(
                f"run {run.id} has no file or folder {rel!r}; save the model under "
                "outputs/ (uploaded when the run ends) or upload it with run.upload_file first"
            )
        return _new_from_run(run, ws, store, model_name, _models.local_model_files(local), options)
    base = rel.rsplit("/", 1)[-1]
    with tempfile.TemporaryDirectory(prefix="runyard-model-") as tmp:
        files: list[tuple[str, Path]] = []
        for info in infos:
            inner = info.path[len(rel) :].lstrip("/")
            name = f"{base}/{inner}" if inner else base
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            store.artifacts.download(run.id, info.path, target)
            files.append((name, target))
        return _new_from_run(run, ws, store, model_name, files, options)
