"""The asset catalogue in the store, on SQLite and PostgreSQL: dataset versions by
content, model versions numbered atomically, tags and immutable properties, aliases
with their history, and lineage links."""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.queues
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from runyard.assets import models as asset_models
from runyard.entities import RunKind, RunStatus
from runyard.errors import (
    ConflictError,
    DatasetNotFoundError,
    ModelNotFoundError,
    RunNotFoundError,
    ValidationError,
)
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.snapshots import SnapshotStore
from runyard.store.sql import SqlStore

_CTX = multiprocessing.get_context("fork")
DEFINITION = {"datastore": {"name": "d", "kind": "file", "url": "/x"}, "paths": ["a"]}


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _dataset(store: SqlStore, content: str, **kw: Any) -> Any:
    manifest = {"f.txt": [_h(content), len(content)]}
    return store.register_dataset(
        "cifar", kind="file", definition=DEFINITION, manifest=manifest,
        content_hash=_h("v" + content), **kw,
    )  # fmt: skip


def test_dataset_versions_are_found_by_content(store: SqlStore) -> None:
    first = _dataset(store, "one", description="d", tags={"k": "v"})
    assert (first.version, first.created, first.file_count, first.total_bytes) == (1, True, 1, 3)
    again = _dataset(store, "one")
    assert (again.version, again.created, again.dataset_id) == (1, False, first.dataset_id)
    with pytest.raises(ConflictError, match="create_new_version=True"):
        _dataset(store, "two")
    second = _dataset(store, "two", create_new_version=True)
    assert second.version == 2 and second.created
    assert store.get_dataset("cifar").version == 2
    assert store.get_dataset("cifar", 1).manifest == {"f.txt": [_h("one"), 3]}
    assert store.get_dataset_by_id(first.dataset_id).tags == {"k": "v"}
    assert [v.version for v in store.list_datasets("cifar")] == [1, 2]
    assert store.list_datasets()[0].manifest == {}
    with pytest.raises(DatasetNotFoundError, match="register it"):
        store.get_dataset("nope")
    with pytest.raises(ValidationError):
        store.register_dataset(
            "bad", kind="file", definition=DEFINITION, manifest={"../x": [_h("a"), 1]},
            content_hash=_h("a"),
        )  # fmt: skip


def _register_model(uri: str, folder: str, worker: int, out: Any) -> None:
    try:
        root = Path(folder)
        with SqlStore(uri, LocalArtifactRepository(root / "artifacts")) as store:
            blobs = asset_models.LocalBlobs(SnapshotStore(root / "artifacts" / "snapshots"))
            weights = root / f"w{worker}.bin"
            weights.write_bytes(b"same weights")  # identical content: one blob for all
            version = asset_models.register(store, blobs, "net", [("model.bin", weights)])
        out.put(("ok", version.version))
    except BaseException:
        out.put(("error", traceback.format_exc()))


def test_sixteen_concurrent_registrations_get_versions_1_to_16(
    store: SqlStore, store_uri: str, tmp_path: Path
) -> None:
    out: multiprocessing.queues.Queue[Any] = _CTX.Queue()
    procs = [
        _CTX.Process(target=_register_model, args=(store_uri, str(tmp_path), w, out))
        for w in range(16)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [detail for status, detail in results if status == "error"]
    assert not errors, errors[0]
    assert sorted(v for _, v in results) == list(range(1, 17))
    listed = store.list_models("net")
    assert [m.version for m in listed] == list(range(1, 17))
    blobs = list((tmp_path / "artifacts" / "snapshots" / "blobs").glob("*/*"))
    assert len(blobs) == 1  # stored once


def _model(store: SqlStore, name: str = "net", **kw: Any) -> Any:
    return store.register_model(
        name, manifest={"m.pt": [_h(name), 4]}, content_hash=_h("m" + name), **kw
    )


def test_model_tags_change_and_properties_are_set_once(store: SqlStore) -> None:
    exp = store.get_or_create_experiment("e")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    ds = _dataset(store, "one")
    m = _model(store, tags={"a": "1"}, properties={"acc": "0.9"}, run_id=run.run_id,
               dataset_ids=[ds.dataset_id], description="first")  # fmt: skip
    assert (m.version, m.model_id, m.run_id, list(m.dataset_ids)) == (
        1, "net:1", run.run_id, [ds.dataset_id],
    )  # fmt: skip
    m = store.update_model("net", 1, add_tags={"b": "2"}, remove_tags=["a"])
    assert m.tags == {"b": "2"}
    m = store.update_model("net", 1, add_properties={"acc": "0.9", "f1": "0.8"})
    assert m.properties == {"acc": "0.9", "f1": "0.8"}
    with pytest.raises(ConflictError, match="immutable"):
        store.update_model("net", 1, add_properties={"acc": "0.5"}, add_tags={"c": "3"})
    assert store.get_model("net", 1).tags == {"b": "2"}  # nothing of it was written
    _model(store, tags={"stage": "dev"})
    assert [x.version for x in store.list_models("net", {"stage": "dev"})] == [2]
    assert [x.version for x in store.list_models(tags={"b": None})] == [1]
    with pytest.raises(RunNotFoundError):
        _model(store, run_id="no-such-run")
    with pytest.raises(ModelNotFoundError):
        store.get_model("net", 9)


def test_aliases_move_with_an_append_only_history(store: SqlStore) -> None:
    _model(store)
    _model(store)
    store.set_model_alias("net", "production", 1, actor="ana")
    assert store.get_model("net", alias="production").version == 1
    assert store.get_model("net", 1).aliases == ("production",)
    time.sleep(0.01)
    between = time.time()
    time.sleep(0.01)
    store.set_model_alias("net", "production", 2, actor="bo")
    store.set_model_alias("net", "production", 2, actor="bo")  # no move: no event
    assert store.get_model("net", alias="production").version == 2
    store.set_model_alias("net", "production", None, actor="cy")
    with pytest.raises(ModelNotFoundError, match="no alias"):
        store.get_model("net", alias="production")
    moves = [(e.from_version, e.to_version, e.actor) for e in store.get_model_alias_history("net")]
    assert moves == [(None, 1, "ana"), (1, 2, "bo"), (2, None, "cy")]
    as_of = store.get_model_alias_history("net", "production", as_of=between)
    assert [e.to_version for e in as_of] == [1]
    with pytest.raises(ModelNotFoundError):
        store.set_model_alias("net", "staging", 7)


def test_lineage_links(store: SqlStore) -> None:
    exp = store.get_or_create_experiment("e")
    run = store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.QUEUED)
    ds = _dataset(store, "one")
    store.add_run_dataset(run.run_id, "input", "train", ds.dataset_id, {"paths": ["a"]})
    store.add_run_dataset(run.run_id, "output", "prepared", None, {"paths": ["b"]})
    links = store.get_run_datasets(run.run_id)
    assert [(x.direction, x.name, x.dataset_id) for x in links] == [
        ("input", "train", ds.dataset_id),
        ("output", "prepared", None),
    ]
    with pytest.raises(ValidationError):
        store.add_run_dataset(run.run_id, "sideways", "x")
    with pytest.raises(RunNotFoundError):
        store.add_run_dataset("nope", "input", "x")
