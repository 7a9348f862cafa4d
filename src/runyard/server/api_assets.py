"""Datasets, models, model aliases and run lineage (``Store`` methods of the assets
catalogue). Reads are GETs; registering, tagging, moving an alias and recording
lineage need the token, as every write does. Model and dataset files travel as blobs
(``runyard.server.api_snapshots``) before the version that names them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from runyard import wire
from runyard.errors import ValidationError
from runyard.server.deps import StoreDep
from runyard.server.responses import WireJSON, answer
from runyard.wire import MAX_INT64

router = APIRouter(prefix="/api", default_response_class=WireJSON)

Version = Annotated[int | None, Query(ge=1, le=MAX_INT64)]


def tag_filter(values: list[str] | None) -> dict[str, str | None] | None:
    """``?tag=k:v&tag=k2`` -> ``{"k": "v", "k2": None}`` (a key alone matches any value)."""
    if not values:
        return None
    out: dict[str, str | None] = {}
    for item in values:
        key, sep, value = item.partition(":")
        if not key:
            raise ValidationError(f"tag filter {item!r} must look like key or key:value")
        out[key] = value if sep else None
    return out


# -- datasets ---------------------------------------------------------------------------


@router.post("/datasets", response_model=wire.DatasetOut)
def register_dataset(store: StoreDep, body: wire.DatasetIn) -> WireJSON:
    """A new version, or the latest one when its content hash is the same
    (``created`` says which); other content needs ``create_new_version`` (409 else)."""
    version = store.register_dataset(
        body.name,
        kind=body.kind,
        definition=body.decoded_definition(),
        manifest=body.manifest,
        content_hash=body.content_hash,
        description=body.description,
        tags=body.tags,
        create_new_version=body.create_new_version,
        run_id=body.run_id,
    )
    return answer(wire.DatasetOut.of(version))


@router.get("/datasets", response_model=wire.DatasetsOut)
def list_datasets(store: StoreDep, name: str | None = None) -> WireJSON:
    """Every version (of ``name``, or of all), manifests left empty."""
    return answer(wire.DatasetsOut.of(store.list_datasets(name)))


@router.get("/datasets/by-id/{dataset_id}", response_model=wire.DatasetOut)
def get_dataset_by_id(store: StoreDep, dataset_id: str) -> WireJSON:
    return answer(wire.DatasetOut.of(store.get_dataset_by_id(dataset_id)))


@router.get("/datasets/by-id/{dataset_id}/runs", response_model=wire.RunDatasetsOut)
def get_dataset_runs(store: StoreDep, dataset_id: str) -> WireJSON:
    """The runs that read or wrote this dataset version, oldest first."""
    links = store.get_dataset_runs(dataset_id)
    return answer(wire.RunDatasetsOut(links=[wire.RunDatasetOut.of(x) for x in links]))


@router.get("/datasets/{name}", response_model=wire.DatasetOut)
def get_dataset(store: StoreDep, name: str, version: Version = None) -> WireJSON:
    """One version with its manifest, the latest when ``version`` is not given."""
    return answer(wire.DatasetOut.of(store.get_dataset(name, version)))


# -- models -----------------------------------------------------------------------------


@router.post("/models", response_model=wire.ModelOut)
def register_model(store: StoreDep, body: wire.ModelIn) -> WireJSON:
    """The next version of the model; its files' blobs must be stored first."""
    model = store.register_model(
        body.name,
        manifest=body.manifest,
        content_hash=body.content_hash,
        description=body.description,
        tags=body.tags,
        properties=body.properties,
        run_id=body.run_id,
        dataset_ids=body.dataset_ids,
    )
    return answer(wire.ModelOut.of(model))


@router.get("/models", response_model=wire.ModelsOut)
def list_models(
    store: StoreDep,
    name: str | None = None,
    tag: Annotated[list[str] | None, Query(description="key or key:value, repeatable")] = None,
) -> WireJSON:
    """Versions with every tag given, manifests left empty."""
    return answer(wire.ModelsOut.of(store.list_models(name, tag_filter(tag))))


@router.get("/models/{name}", response_model=wire.ModelOut)
def get_model(
    store: StoreDep, name: str, version: Version = None, alias: str | None = None
) -> WireJSON:
    """The given version, the one ``alias`` points at, or the latest."""
    return answer(wire.ModelOut.of(store.get_model(name, version, alias=alias)))


@router.patch("/models/{name}/versions/{version}", response_model=wire.ModelOut)
def update_model(
    store: StoreDep,
    name: str,
    version: Annotated[int, Path(ge=1, le=MAX_INT64)],
    body: wire.ModelUpdateIn,
) -> WireJSON:
    """Adds and removes tags, adds properties (changing one is a 409)."""
    model = store.update_model(
        name,
        version,
        add_tags=body.add_tags,
        remove_tags=body.remove_tags,
        add_properties=body.add_properties,
    )
    return answer(wire.ModelOut.of(model))


@router.put("/models/{name}/aliases/{alias}", response_model=wire.AliasEventOut)
def set_model_alias(store: StoreDep, name: str, alias: str, body: wire.AliasIn) -> WireJSON:
    """Points the alias at ``version`` (null removes it); the move is kept in history."""
    event = store.set_model_alias(name, alias, body.version, body.actor)
    return answer(wire.AliasEventOut.of(event))


@router.get("/models/{name}/alias-history", response_model=wire.AliasEventsOut)
def get_model_alias_history(
    store: StoreDep,
    name: str,
    alias: str | None = None,
    as_of: Annotated[float | None, Query(allow_inf_nan=False)] = None,
) -> WireJSON:
    """Every move of the model's aliases (or of one) up to ``as_of``, oldest first."""
    events = store.get_model_alias_history(name, alias, as_of)
    return answer(wire.AliasEventsOut(events=[wire.AliasEventOut.of(e) for e in events]))


# -- lineage ----------------------------------------------------------------------------


@router.post("/runs/{run_id}/datasets", response_model=wire.RunDatasetOut)
def add_run_dataset(store: StoreDep, run_id: str, body: wire.RunDatasetIn) -> WireJSON:
    """Records that the run read (``input``) or wrote (``output``) a dataset."""
    link = store.add_run_dataset(
        run_id, body.direction, body.name, body.dataset_id, body.decoded_source()
    )
    return answer(wire.RunDatasetOut.of(link))


@router.get("/runs/{run_id}/datasets", response_model=wire.RunDatasetsOut)
def get_run_datasets(store: StoreDep, run_id: str) -> WireJSON:
    """The run's lineage links, in the order they were recorded."""
    links = store.get_run_datasets(run_id)
    return answer(wire.RunDatasetsOut(links=[wire.RunDatasetOut.of(x) for x in links]))
