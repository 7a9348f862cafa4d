"""HttpStore's calls for the assets catalogue: datasets, models, aliases, lineage."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from runyard import wire
from runyard.entities import AliasEvent, DatasetVersion, Manifest, ModelVersion, RunDatasetLink
from runyard.errors import ValidationError
from runyard.remote.calls import WireCalls, path_part
from runyard.remote.client import HttpClient

_CHUNK = 1 << 20


def _chunks(source: Path) -> Iterator[bytes]:
    with open(source, "rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    for chunk in _chunks(path):
        h.update(chunk)
    return h.hexdigest()


class HttpModelBlobs:
    """Model files kept by the server, in its content-addressed blob store: a file is
    hashed here, streamed up and checked by the server against its hash (nothing
    stored on a mismatch); a download is streamed to a temporary file and checked
    here before it is renamed into place."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def put(self, source: Path) -> str:
        sha = _file_sha256(source)
        self._http.request("PUT", f"/blobs/{sha}", content=lambda: _chunks(source), idempotent=True)
        return sha

    def fetch(self, sha256: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        try:
            self._http.request("GET", f"/blobs/{sha256}", idempotent=True, save_to=tmp)
            actual = _file_sha256(tmp)
            if actual != sha256:
                raise ValidationError(
                    f"{target.name} arrived damaged (sha256 {actual}, registered {sha256}); "
                    "download it again"
                )
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def _manifest(manifest: Manifest) -> dict[str, list[Any]]:
    return {path: list(entry) for path, entry in manifest.items()}


def _model(name: str, tail: str = "") -> str:
    return f"/models/{path_part(name)}{tail}"


class AssetCalls(WireCalls):
    """The assets part of :class:`runyard.remote.HttpStore` (see ``Store`` for each
    method's contract)."""

    def model_blobs(self) -> HttpModelBlobs:
        """Model files through the server (``Model.register``/``download`` over http)."""
        return HttpModelBlobs(self._http)

    def register_dataset(
        self,
        name: str,
        *,
        kind: str,
        definition: Mapping[str, Any],
        manifest: Manifest,
        content_hash: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        create_new_version: bool = False,
        run_id: str | None = None,
    ) -> DatasetVersion:
        body = wire.DatasetIn(
            name=name,
            kind=kind,
            definition=wire.encode_any(dict(definition)),
            manifest=_manifest(manifest),
            content_hash=content_hash,
            description=description,
            tags=None if tags is None else dict(tags),
            create_new_version=create_new_version,
            run_id=run_id,
        )
        # A repeat finds the same content hash as latest and returns that version.
        return self._send("POST", "/datasets", body, wire.DatasetOut).to_entity()

    def get_dataset(self, name: str, version: int | None = None) -> DatasetVersion:
        path = f"/datasets/{path_part(name)}"
        return self._get(wire.DatasetOut, path, version=version).to_entity()

    def get_dataset_by_id(self, dataset_id: str) -> DatasetVersion:
        path = f"/datasets/by-id/{path_part(dataset_id)}"
        return self._get(wire.DatasetOut, path).to_entity()

    def list_datasets(self, name: str | None = None) -> list[DatasetVersion]:
        out = self._get(wire.DatasetsOut, "/datasets", name=name)
        return [d.to_entity() for d in out.datasets]

    def register_model(
        self,
        name: str,
        *,
        manifest: Manifest,
        content_hash: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        run_id: str | None = None,
        dataset_ids: Sequence[str] = (),
    ) -> ModelVersion:
        body = wire.ModelIn(
            name=name,
            manifest=_manifest(manifest),
            content_hash=content_hash,
            description=description,
            tags=None if tags is None else dict(tags),
            properties=None if properties is None else dict(properties),
            run_id=run_id,
            dataset_ids=list(dataset_ids),
        )
        # Never repeated after a broken connection: a repeat would make another version.
        return self._send("POST", "/models", body, wire.ModelOut, idempotent=False).to_entity()

    def get_model(
        self, name: str, version: int | None = None, *, alias: str | None = None
    ) -> ModelVersion:
        return self._get(wire.ModelOut, _model(name), version=version, alias=alias).to_entity()

    def list_models(
        self, name: str | None = None, tags: Mapping[str, str | None] | None = None
    ) -> list[ModelVersion]:
        tag = [k if v is None else f"{k}:{v}" for k, v in (tags or {}).items()] or None
        out = self._get(wire.ModelsOut, "/models", name=name, tag=tag)
        return [m.to_entity() for m in out.models]

    def update_model(
        self,
        name: str,
        version: int,
        *,
        add_tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        add_properties: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        body = wire.ModelUpdateIn(
            add_tags=None if add_tags is None else dict(add_tags),
            remove_tags=list(remove_tags),
            add_properties=None if add_properties is None else dict(add_properties),
        )
        path = _model(name, f"/versions/{int(version)}")
        return self._send("PATCH", path, body, wire.ModelOut).to_entity()

    def set_model_alias(
        self, name: str, alias: str, version: int | None, actor: str = ""
    ) -> AliasEvent:
        # Idempotent: moving an alias to where it is records no event.
        body = wire.AliasIn(version=version, actor=actor)
        path = _model(name, f"/aliases/{path_part(alias)}")
        return self._send("PUT", path, body, wire.AliasEventOut).to_entity()

    def get_model_alias_history(
        self, name: str, alias: str | None = None, as_of: float | None = None
    ) -> list[AliasEvent]:
        path = _model(name, "/alias-history")
        out = self._get(wire.AliasEventsOut, path, alias=alias, as_of=as_of)
        return [e.to_entity() for e in out.events]

    def add_run_dataset(
        self,
        run_id: str,
        direction: str,
        name: str,
        dataset_id: str | None = None,
        source: Mapping[str, Any] | None = None,
    ) -> RunDatasetLink:
        body = wire.RunDatasetIn.of(direction, name, dataset_id, source)
        path = f"/runs/{path_part(run_id)}/datasets"
        # Never repeated after a broken connection: a repeat would record a second link.
        return self._send("POST", path, body, wire.RunDatasetOut, idempotent=False).to_entity()

    def get_run_datasets(self, run_id: str) -> list[RunDatasetLink]:
        out = self._get(wire.RunDatasetsOut, f"/runs/{path_part(run_id)}/datasets")
        return [link.to_entity() for link in out.links]

    def get_dataset_runs(self, dataset_id: str) -> list[RunDatasetLink]:
        out = self._get(wire.RunDatasetsOut, f"/datasets/by-id/{path_part(dataset_id)}/runs")
        return [link.to_entity() for link in out.links]
