"""The studio's Datasets and Models pages: every dataset and model with its latest
version, and one asset's versions with their files, sizes, content hashes and lineage
(the run that wrote a dataset or a model, the runs that read a dataset version, the
datasets a model was made from, the models made from a dataset version), a model's
aliases and every move of them. Pages read the store as the ``/api/datasets`` and
``/api/models`` routes do."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from runyard.entities import DatasetVersion, ModelVersion
from runyard.errors import DatasetNotFoundError, ModelNotFoundError, RunNotFoundError
from runyard.server.deps import StoreDep
from runyard.server.pages import render
from runyard.store.base import Store

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset version as a model page links it: None fields when it is gone."""

    dataset_id: str
    name: str | None
    version: int | None


def _latest(versions: list[Any]) -> list[tuple[Any, int]]:
    """The latest version of each name and how many versions the name has (the
    store lists by name then version, so the last seen is the latest)."""
    counts = Counter(v.name for v in versions)
    latest: dict[str, Any] = {}
    for v in versions:
        latest[v.name] = v
    return [(latest[name], counts[name]) for name in sorted(latest)]


def _run_names(store: Store, run_ids: set[str]) -> dict[str, str]:
    """Each known run's label by id; a run deleted since is left out (shown as its id)."""
    names: dict[str, str] = {}
    for run_id in run_ids:
        try:
            run = store.get_run(run_id)
        except RunNotFoundError:
            continue
        names[run_id] = run.display_name or f"Run {run.number}"
    return names


def _dataset_refs(store: Store, models: list[ModelVersion]) -> dict[str, DatasetRef]:
    refs: dict[str, DatasetRef] = {}
    for dataset_id in {d for m in models for d in m.dataset_ids}:
        try:
            ds = store.get_dataset_by_id(dataset_id)
            refs[dataset_id] = DatasetRef(dataset_id, ds.name, ds.version)
        except DatasetNotFoundError:
            refs[dataset_id] = DatasetRef(dataset_id, None, None)
    return refs


@router.get("/datasets")
def datasets_page(request: Request, store: StoreDep) -> HTMLResponse:
    return render(request, "datasets.html", datasets=_latest(store.list_datasets()))


@router.get("/datasets/{name}")
def dataset_page(request: Request, store: StoreDep, name: str) -> HTMLResponse:
    listed = store.list_datasets(name)
    if not listed:
        raise DatasetNotFoundError(f"no dataset named {name!r}; see /datasets for the names")
    # Newest first, each with its manifest (the listing leaves manifests empty).
    versions: list[DatasetVersion] = [store.get_dataset(name, v.version) for v in listed[::-1]]
    ids = {v.dataset_id for v in versions}
    used_by: dict[str, list[ModelVersion]] = {i: [] for i in ids}
    for model in store.list_models():
        for dataset_id in model.dataset_ids:
            if dataset_id in used_by:
                used_by[dataset_id].append(model)
    # The runs that read each version (a run that wrote one is its "Written by").
    read_by = {
        v.dataset_id: [x for x in store.get_dataset_runs(v.dataset_id) if x.direction == "input"]
        for v in versions
    }
    run_ids = {v.run_id for v in versions if v.run_id}
    run_ids |= {x.run_id for links in read_by.values() for x in links}
    return render(
        request,
        "dataset.html",
        asset_name=name,
        versions=versions,
        used_by=used_by,
        read_by=read_by,
        run_names=_run_names(store, run_ids),
    )


@router.get("/models")
def models_page(request: Request, store: StoreDep) -> HTMLResponse:
    listed = store.list_models()
    aliases: dict[str, list[tuple[str, int]]] = {}
    for m in listed:
        aliases.setdefault(m.name, []).extend((a, m.version) for a in m.aliases)
    return render(request, "models.html", models=_latest(listed), aliases=aliases)


@router.get("/models/{name}")
def model_page(request: Request, store: StoreDep, name: str) -> HTMLResponse:
    listed = store.list_models(name)
    if not listed:
        raise ModelNotFoundError(f"no model named {name!r}; see /models for the names")
    versions = [store.get_model(name, m.version) for m in listed[::-1]]
    run_ids = {m.run_id for m in versions if m.run_id}
    return render(
        request,
        "model.html",
        asset_name=name,
        versions=versions,
        datasets=_dataset_refs(store, versions),
        run_names=_run_names(store, run_ids),
        history=store.get_model_alias_history(name),
    )
