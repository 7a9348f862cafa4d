"""HttpStore's assets calls (datasets, models, aliases, lineage) through a real studio
over a real SQL store: each answer equals what the SQL store itself says."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from runyard.entities import RunKind, RunStatus
from runyard.errors import (
    ConflictError,
    DatasetNotFoundError,
    ModelNotFoundError,
    RunNotFoundError,
    ValidationError,
)
from runyard.remote import HttpStore
from runyard.server import create_app
from runyard.store.base import Store
from tests.support.server import RunningServer, open_test_store, start_server

TOKEN = "assets-token"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("assets-backend"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(backend: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(backend, token=TOKEN))
    yield srv
    srv.stop()


@pytest.fixture
def store(server: RunningServer) -> Iterator[HttpStore]:
    s = HttpStore(server.url, token=TOKEN, retry_for=5)
    yield s
    s.close()


def test_datasets(store: HttpStore, backend: Store) -> None:
    manifest = {"train.csv": [sha("a"), 10], "sub/test.csv": [sha("b"), 5]}
    definition = {"datastore": "workspaceblobstore", "paths": ["data/"], "skip": math.inf}
    v1 = store.register_dataset(
        "iris",
        kind="tabular",
        definition=definition,
        manifest=manifest,
        content_hash=sha("v1"),
        description="flowers",
        tags={"team": "a"},
    )
    assert v1.created and v1.version == 1 and (v1.file_count, v1.total_bytes) == (2, 15)
    assert v1.definition == definition and v1.manifest == manifest
    again = store.register_dataset(
        "iris", kind="tabular", definition=definition, manifest=manifest, content_hash=sha("v1")
    )
    assert not again.created and again.dataset_id == v1.dataset_id
    with pytest.raises(ConflictError, match="create_new_version"):
        store.register_dataset(
            "iris", kind="tabular", definition={}, manifest={}, content_hash=sha("v2")
        )
    v2 = store.register_dataset(
        "iris",
        kind="tabular",
        definition={},
        manifest={},
        content_hash=sha("v2"),
        create_new_version=True,
    )
    assert v2.version == 2
    assert store.get_dataset("iris") == backend.get_dataset("iris") == replace(v2, created=False)
    assert store.get_dataset("iris", 1).manifest == manifest
    assert store.get_dataset_by_id(v1.dataset_id) == backend.get_dataset_by_id(v1.dataset_id)
    assert store.list_datasets("iris") == backend.list_datasets("iris")
    assert [d.version for d in store.list_datasets()] == [1, 2]
    with pytest.raises(DatasetNotFoundError):
        store.get_dataset("no-such-dataset")
    with pytest.raises(ValidationError, match="kind"):
        store.register_dataset("x", kind="odd", definition={}, manifest={}, content_hash=sha("x"))


def test_models_and_aliases(store: HttpStore, backend: Store) -> None:
    exp = store.get_or_create_experiment("assets")
    run = store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING)
    data = store.register_dataset(
        "digits", kind="file", definition={}, manifest={}, content_hash=sha("d")
    )
    files = {"model.pkl": [sha("weights"), 2**40]}
    m1 = store.register_model(
        "clf",
        manifest=files,
        content_hash=sha("m1"),
        tags={"stage": "dev"},
        properties={"seed": "1"},
        run_id=run.run_id,
        dataset_ids=[data.dataset_id],
    )
    m2 = store.register_model("clf", manifest=files, content_hash=sha("m2"))
    assert (m1.version, m2.version, m1.model_id) == (1, 2, "clf:1")
    assert m1.total_bytes == 2**40 and list(m1.dataset_ids) == [data.dataset_id]
    assert store.get_model("clf") == backend.get_model("clf") == m2
    with pytest.raises(RunNotFoundError):
        store.register_model("clf", manifest=files, content_hash=sha("m3"), run_id="nope")

    updated = store.update_model(
        "clf", 1, add_tags={"stage": "prod", "x": "1"}, remove_tags=["x"], add_properties={"a": "b"}
    )
    assert updated.tags == {"stage": "prod"} and updated.properties == {"seed": "1", "a": "b"}
    with pytest.raises(ConflictError):
        store.update_model("clf", 1, add_properties={"seed": "2"})
    assert [m.version for m in store.list_models("clf", {"stage": "prod"})] == [1]
    assert [m.version for m in store.list_models(tags={"stage": None})] == [1]
    assert store.list_models() == backend.list_models()

    first = store.set_model_alias("clf", "champion", 1, actor="ann")
    assert (first.from_version, first.to_version, first.actor) == (None, 1, "ann")
    moved = store.set_model_alias("clf", "champion", 2)
    assert store.get_model("clf", alias="champion").version == 2
    assert "champion" in store.get_model("clf", 2).aliases
    history = store.get_model_alias_history("clf", "champion")
    assert history == backend.get_model_alias_history("clf", "champion")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, 2)]
    assert store.get_model_alias_history("clf", as_of=first.at) == history[:1]
    assert moved.at >= first.at
    store.set_model_alias("clf", "champion", None)
    with pytest.raises(ModelNotFoundError):
        store.get_model("clf", alias="champion")
    with pytest.raises(ModelNotFoundError):
        store.set_model_alias("clf", "champion", 99)


def test_run_lineage(store: HttpStore, backend: Store) -> None:
    exp = store.get_or_create_experiment("lineage")
    run = store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING)
    data = store.register_dataset(
        "inputs", kind="file", definition={}, manifest={}, content_hash=sha("i")
    )
    link = store.add_run_dataset(run.run_id, "input", "inputs", data.dataset_id)
    assert (link.direction, link.dataset_id) == ("input", data.dataset_id)
    source = {"url": "s3://bucket/out/", "rows": 2**62, "loss": math.inf}
    out = store.add_run_dataset(run.run_id, "output", "preds", source=source)
    assert out.source == source and out.created_at <= time.time()
    links = store.get_run_datasets(run.run_id)
    assert links == backend.get_run_datasets(run.run_id) and len(links) == 2
    other = store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING)
    store.add_run_dataset(other.run_id, "input", "again", data.dataset_id)
    readers = store.get_dataset_runs(data.dataset_id)
    assert readers == backend.get_dataset_runs(data.dataset_id)
    assert [(x.run_id, x.name) for x in readers] == [
        (run.run_id, "inputs"),
        (other.run_id, "again"),
    ]
    with pytest.raises(DatasetNotFoundError):
        store.get_dataset_runs("no-such-dataset")
    with pytest.raises(ValidationError, match="direction"):
        store.add_run_dataset(run.run_id, "sideways", "x")
    with pytest.raises(RunNotFoundError):
        store.add_run_dataset("no-such-run", "input", "x")
