"""Datastores and datasets through the SDK-v1 API on a real workspace: uploads,
content-addressed versions, reads that never see changed data, tabular reads, and
dataset inputs and outputs of submitted runs."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.core import Dataset, Datastore, Experiment, Run, ScriptRunConfig, Workspace
from runyard.entities import ComputeTargetConfig
from runyard.errors import ConflictError, DatastoreNotFoundError, ValidationError


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("RUNYARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RUNYARD_SECRETS_FILE", str(tmp_path / "secrets.json"))
    workspace = Workspace.create(tmp_path / "project")
    workspace.add_compute_target(ComputeTargetConfig(name="cpu", type="local"))
    yield workspace
    workspace.close()


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_upload_download_and_the_datastore_registry(ws: Workspace, tmp_path: Path) -> None:
    store = ws.get_default_datastore()
    assert store.name == "workspaceblobstore" and list(ws.datastores) == ["workspaceblobstore"]
    assert Datastore.get(ws, "workspaceblobstore") == store
    src = _tree(tmp_path / "src", {"a.txt": b"a", "sub/b.txt": b"bb"})
    ref = store.upload(str(src), target_path="up", overwrite=False, show_progress=False)
    assert ref.path_on_datastore == "up"
    (src / "a.txt").write_bytes(b"changed")
    store.upload(str(src), target_path="up", overwrite=False, show_progress=False)
    assert (store.spec.root / "up" / "a.txt").read_bytes() == b"a"  # kept: no overwrite
    store.upload(str(src), target_path="up", overwrite=True, show_progress=False)
    assert (store.spec.root / "up" / "a.txt").read_bytes() == b"changed"
    store.upload_files([str(src / "sub" / "b.txt")], relative_root=str(src), target_path="one")
    assert (store.spec.root / "one" / "sub" / "b.txt").read_bytes() == b"bb"
    assert store.download(tmp_path / "down", prefix="up", show_progress=False) == 2
    assert (tmp_path / "down" / "up" / "sub" / "b.txt").read_bytes() == b"bb"
    with pytest.raises(DatastoreNotFoundError, match="workspaceblobstore"):
        Datastore.get(ws, "blobs2")
    with pytest.raises(ValidationError, match="does not exist"):
        store.upload(str(tmp_path / "missing"), target_path="x")
    with pytest.raises(ValidationError, match="inside the datastore"):
        store.upload(str(src), target_path="../escape")


def test_versions_are_content_addressed_and_reads_check_them(ws: Workspace, tmp_path: Path) -> None:
    store = ws.get_default_datastore()
    src = _tree(tmp_path / "data", {"train/1.bin": b"1" * 100, "train/2.bin": b"2" * 50})
    store.upload(str(src), target_path="datasets/d", show_progress=False)
    ds = Dataset.File.from_files(path=(store, "datasets/d"))
    assert ds.to_path() == ["/train/1.bin", "/train/2.bin"]
    v1 = ds.register(ws, "digits", description="first", tags={"k": "v"})
    assert (v1.name, v1.version, v1.tags, v1.description) == ("digits", 1, {"k": "v"}, "first")
    again = Dataset.File.from_files(path=(store, "datasets/d")).register(ws, "digits")
    assert again.version == 1 and again.id == v1.id  # unchanged: nothing created
    # A mount of a registered local version is the datastore's own folder: no copy.
    with Dataset.get_by_name(ws, "digits").mount() as mounted:
        assert mounted.mount_point == str(store.spec.root / "datasets" / "d")
    # Changed data is a new version only when asked.
    (store.spec.root / "datasets" / "d" / "train" / "2.bin").write_bytes(b"x" * 50)
    with pytest.raises(ConflictError, match="create_new_version=True"):
        ds.register(ws, "digits")
    v2 = ds.register(ws, "digits", create_new_version=True)
    assert v2.version == 2
    assert [v.version for v in Dataset.list_versions(ws, "digits")] == [1, 2]
    assert Dataset.get_by_name(ws, "digits", version=1).id == v1.id
    assert Dataset.get_by_id(ws, v2.id or "").version == 2
    assert set(Dataset.get_all(ws)) == {"digits"}
    # Version 1's bytes changed in place: reading it is a clear error, never other data.
    old = Dataset.get_by_name(ws, "digits", version=1)
    with pytest.raises(ValidationError, match="changed in the datastore"):
        old.download(tmp_path / "old")
    got = Dataset.get_by_name(ws, "digits").download(tmp_path / "new")
    assert sorted(Path(p).name for p in got) == ["1.bin", "2.bin"]
    assert (tmp_path / "new" / "train" / "2.bin").read_bytes() == b"x" * 50
    # A new file beside v2's: v2 is shown without it (a folder of links).
    (store.spec.root / "datasets" / "d" / "train" / "3.bin").write_bytes(b"3")
    with Dataset.get_by_name(ws, "digits").mount() as mounted:
        names = sorted(p.name for p in (Path(mounted.mount_point) / "train").iterdir())
        assert names == ["1.bin", "2.bin"]
    with pytest.raises(ValidationError, match="matches no file"):
        Dataset.File.from_files(path=(store, "datasets/none"))
    globbed = Dataset.File.from_files(path=[(store, "datasets/d/train/[12].bin")])
    assert globbed.to_path() == ["/1.bin", "/2.bin"]


def test_tabular_datasets(ws: Workspace, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    store = ws.get_default_datastore()
    rows = "a,b\n" + "".join(f"{i},{i * i}\n" for i in range(10))
    src = _tree(tmp_path / "t", {"p1.csv": rows.encode(), "p2.csv": b"a,b\n10,100\n"})
    store.upload(str(src), target_path="tables", show_progress=False)
    table = Dataset.Tabular.from_delimited_files(path=(store, "tables/*.csv"))
    df = table.to_pandas_dataframe()
    assert list(df.columns) == ["a", "b"] and len(df) == 11
    assert list(table.skip(2).take(3).to_pandas_dataframe()["a"]) == [2, 3, 4]
    registered = table.register(ws, "squares")
    assert len(Dataset.get_by_name(ws, "squares").to_pandas_dataframe()) == 11
    assert registered.version == 1
    pytest.importorskip("pyarrow")
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(tmp_path / "x.parquet")
    store.upload_files([str(tmp_path / "x.parquet")], target_path="pq", show_progress=False)
    parquet = Dataset.Tabular.from_parquet_files(path=(store, "pq/x.parquet"))
    assert list(parquet.to_pandas_dataframe()["x"]) == [1, 2, 3]


TRAIN = textwrap.dedent(
    """
    import os, sys
    from runyard.core import Run
    run = Run.get_context()
    data = sys.argv[1]
    run.log("data", data)
    run.log("files", ",".join(sorted(os.listdir(data))))
    run.log("given", run.input_datasets["digits"])
    out = sys.argv[2]
    with open(os.path.join(out, "result.txt"), "w") as f:
        f.write("done")
    """
)


def test_registered_input_downloaded_and_an_output_registered(
    ws: Workspace, tmp_path: Path
) -> None:
    from runyard.data import OutputFileDatasetConfig

    store = ws.get_default_datastore()
    src = _tree(tmp_path / "data", {"1.bin": b"1", "2.bin": b"22"})
    store.upload(str(src), target_path="digits", show_progress=False)
    ds = Dataset.File.from_files(path=(store, "digits")).register(ws, "digits")
    code = _tree(tmp_path / "code", {"train.py": TRAIN.encode()})
    output = OutputFileDatasetConfig(name="prepared", destination=(store, "out/{run-id}"))
    config = ScriptRunConfig(
        source_directory=str(code),
        script="train.py",
        compute_target="cpu",
        arguments=[
            ds.as_named_input("digits").as_download(path_on_compute="local_digits"),
            output.register_on_complete("prepared"),
        ],
    )
    run = Experiment(ws, "data").submit(config)
    run.wait_for_completion(timeout=120, raise_on_error=False)
    assert run.get_status() == "Completed", run.get_driver_log()
    metrics = run.get_metrics()
    assert metrics["data"].endswith("local_digits") and metrics["given"] == metrics["data"]
    assert metrics["files"] == "1.bin,2.bin"
    assert (store.spec.root / "out" / run.id / "result.txt").read_text() == "done"
    prepared = Dataset.get_by_name(ws, "prepared")
    assert prepared.to_path() == ["/result.txt"]
    assert ws.store.get_dataset("prepared").run_id == run.id
    links = [(x.direction, x.name, x.dataset_id) for x in ws.store.get_run_datasets(run.id)]
    assert links == [("input", "digits", ds.id), ("output", "prepared", prepared.id)]
    details = Run.get(ws, run.id).get_details()["inputDatasets"]
    assert details[0]["dataset"]["name"] == "digits"
    assert details[0]["consumptionDetails"] == {"inputName": "digits", "mechanism": "download"}


def test_sdk_module_paths() -> None:
    from runyard.data import FileDataset, OutputFileDatasetConfig, TabularDataset
    from runyard.data.datapath import DataPath
    from runyard.data.dataset_consumption_config import DatasetConsumptionConfig

    assert FileDataset.__name__ == "FileDataset" and TabularDataset.__name__ == "TabularDataset"
    assert DataPath.__name__ == "DataPath" and OutputFileDatasetConfig.__name__
    assert DatasetConsumptionConfig.__name__ == "DatasetConsumptionConfig"
    assert os.environ.get("RUNYARD_INPUT_DATASETS") is None
