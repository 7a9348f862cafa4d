"""Datasets, models, model aliases and run lineage on the wire. A manifest maps each
file's relative path to ``[sha256, size]``; the files' bytes travel as blobs
(``PUT /api/blobs/{sha256}``), stored before the version that names them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from runyard.entities import AliasEvent, DatasetVersion, Manifest, ModelVersion, RunDatasetLink
from runyard.wire.base import Answer, Body
from runyard.wire.values import NonNegativeInt64, decode_any, encode_any

__all__ = [
    "AliasEventOut",
    "AliasEventsOut",
    "AliasIn",
    "DatasetIn",
    "DatasetOut",
    "DatasetsOut",
    "ModelIn",
    "ModelOut",
    "ModelUpdateIn",
    "ModelsOut",
    "RunDatasetIn",
    "RunDatasetOut",
    "RunDatasetsOut",
]

ManifestJson = dict[str, list[Any]]


def _manifest(manifest: Manifest) -> ManifestJson:
    return {path: list(entry) for path, entry in manifest.items()}


class DatasetIn(Body):
    """``POST /api/datasets``: the arguments of ``Store.register_dataset``."""

    name: str
    kind: str = Field(description="file or tabular")
    definition: dict[str, Any]
    manifest: ManifestJson
    content_hash: str
    description: str = ""
    tags: dict[str, str] | None = None
    create_new_version: bool = False
    run_id: str | None = None

    def decoded_definition(self) -> dict[str, Any]:
        definition: dict[str, Any] = decode_any(self.definition)
        return definition


class DatasetOut(Answer):
    dataset_id: str
    name: str
    version: int
    kind: str
    description: str
    tags: dict[str, str]
    definition: dict[str, Any]
    content_hash: str
    file_count: int
    total_bytes: int
    manifest: ManifestJson
    run_id: str | None
    created_at: float
    created: bool = False

    @classmethod
    def of(cls, d: DatasetVersion) -> DatasetOut:
        return cls(
            dataset_id=d.dataset_id,
            name=d.name,
            version=d.version,
            kind=d.kind,
            description=d.description,
            tags=dict(d.tags),
            definition=encode_any(d.definition),
            content_hash=d.content_hash,
            file_count=d.file_count,
            total_bytes=d.total_bytes,
            manifest=_manifest(d.manifest),
            run_id=d.run_id,
            created_at=d.created_at,
            created=d.created,
        )

    def to_entity(self) -> DatasetVersion:
        return DatasetVersion(
            dataset_id=self.dataset_id,
            name=self.name,
            version=self.version,
            kind=self.kind,
            description=self.description,
            tags=self.tags,
            definition=decode_any(self.definition),
            content_hash=self.content_hash,
            file_count=self.file_count,
            total_bytes=self.total_bytes,
            manifest=self.manifest,
            run_id=self.run_id,
            created_at=self.created_at,
            created=self.created,
        )


class DatasetsOut(Answer):
    """``GET /api/datasets``: versions by name then version, manifests left empty."""

    datasets: list[DatasetOut]

    @classmethod
    def of(cls, items: Sequence[DatasetVersion]) -> DatasetsOut:
        return cls(datasets=[DatasetOut.of(d) for d in items])


class ModelIn(Body):
    """``POST /api/models``: the arguments of ``Store.register_model``."""

    name: str
    manifest: ManifestJson
    content_hash: str
    description: str = ""
    tags: dict[str, str] | None = None
    properties: dict[str, str] | None = None
    run_id: str | None = None
    dataset_ids: list[str] = Field(default_factory=list)


class ModelOut(Answer):
    name: str
    version: int
    description: str
    tags: dict[str, str]
    properties: dict[str, str]
    content_hash: str
    file_count: int
    total_bytes: int
    manifest: ManifestJson
    run_id: str | None
    dataset_ids: list[str]
    created_at: float
    aliases: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, m: ModelVersion) -> ModelOut:
        return cls(
            name=m.name,
            version=m.version,
            description=m.description,
            tags=dict(m.tags),
            properties=dict(m.properties),
            content_hash=m.content_hash,
            file_count=m.file_count,
            total_bytes=m.total_bytes,
            manifest=_manifest(m.manifest),
            run_id=m.run_id,
            dataset_ids=list(m.dataset_ids),
            created_at=m.created_at,
            aliases=list(m.aliases),
        )

    def to_entity(self) -> ModelVersion:
        return ModelVersion(
            name=self.name,
            version=self.version,
            description=self.description,
            tags=self.tags,
            properties=self.properties,
            content_hash=self.content_hash,
            file_count=self.file_count,
            total_bytes=self.total_bytes,
            manifest=self.manifest,
            run_id=self.run_id,
            dataset_ids=tuple(self.dataset_ids),
            created_at=self.created_at,
            aliases=tuple(self.aliases),
        )


class ModelsOut(Answer):
    """``GET /api/models``: versions by name then version, manifests left empty."""

    models: list[ModelOut]

    @classmethod
    def of(cls, items: Sequence[ModelVersion]) -> ModelsOut:
        return cls(models=[ModelOut.of(m) for m in items])


class ModelUpdateIn(Body):
    """``PATCH /api/models/{name}/versions/{version}``."""

    add_tags: dict[str, str] | None = None
    remove_tags: list[str] = Field(default_factory=list)
    add_properties: dict[str, str] | None = None


class AliasIn(Body):
    """``PUT /api/models/{name}/aliases/{alias}``: null ``version`` removes the alias."""

    version: NonNegativeInt64 | None
    actor: str = ""


class AliasEventOut(Answer):
    model_name: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    at: float

    @classmethod
    def of(cls, e: AliasEvent) -> AliasEventOut:
        return cls(
            model_name=e.model_name,
            alias=e.alias,
            from_version=e.from_version,
            to_version=e.to_version,
            actor=e.actor,
            at=e.at,
        )

    def to_entity(self) -> AliasEvent:
        return AliasEvent(
            model_name=self.model_name,
            alias=self.alias,
            from_version=self.from_version,
            to_version=self.to_version,
            actor=self.actor,
            at=self.at,
        )


class AliasEventsOut(Answer):
    """``GET /api/models/{name}/alias-history``: oldest first."""

    events: list[AliasEventOut]


class RunDatasetIn(Body):
    """``POST /api/runs/{run_id}/datasets``: a registered version by id, or an
    unregistered one by ``source`` (JSON, non-finite floats tagged)."""

    direction: str = Field(description="input or output")
    name: str
    dataset_id: str | None = None
    source: dict[str, Any] | None = None

    @classmethod
    def of(
        cls, direction: str, name: str, dataset_id: str | None, source: Mapping[str, Any] | None
    ) -> RunDatasetIn:
        return cls(
            direction=direction,
            name=name,
            dataset_id=dataset_id,
            source=None if source is None else encode_any(dict(source)),
        )

    def decoded_source(self) -> dict[str, Any] | None:
        source: dict[str, Any] | None = None if self.source is None else decode_any(self.source)
        return source


class RunDatasetOut(Answer):
    run_id: str
    direction: str
    name: str
    dataset_id: str | None
    source: dict[str, Any]
    created_at: float

    @classmethod
    def of(cls, link: RunDatasetLink) -> RunDatasetOut:
        return cls(
            run_id=link.run_id,
            direction=link.direction,
            name=link.name,
            dataset_id=link.dataset_id,
            source=encode_any(link.source),
            created_at=link.created_at,
        )

    def to_entity(self) -> RunDatasetLink:
        return RunDatasetLink(
            run_id=self.run_id,
            direction=self.direction,
            name=self.name,
            dataset_id=self.dataset_id,
            source=decode_any(self.source),
            created_at=self.created_at,
        )


class RunDatasetsOut(Answer):
    """``GET /api/runs/{run_id}/datasets``: in the order they were recorded."""

    links: list[RunDatasetOut]
