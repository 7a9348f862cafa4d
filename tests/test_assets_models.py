"""Models through the SDK-v1 API: registered from a run's outputs or a local path,
found by version or alias, downloaded with each sha256 checked, tags and immutable
properties, and a registration killed midway that leaves no version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.core import Dataset, Experiment, Model, ScriptRunConfig, Workspace
from runyard.entities import ComputeTargetConfig
from runyard.errors import ConflictError, ModelNotFoundError, ValidationError


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("RUNYARD_CACHE_DIR", str(tmp_path / "cache"))
    workspace = Workspace.create(tmp_path / "project")
    workspace.add_compute_target(ComputeTargetConfig(name="cpu", type="local"))
    yield workspace
    workspace.close()


TRAIN = textwrap.dedent(
    """
    import os
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/model.pt", "wb") as f:
        f.write(b"weights" * 1000)
    """
)


def test_register_from_a_run_with_lineage(ws: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("a\n1\n")
    store = ws.get_default_datastore()
    store.upload(str(data), target_path="train", show_progress=False)
    ds = Dataset.File.from_files(path=(store, "train")).register(ws, "train")
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    run = Experiment(ws, "models").submit(
        ScriptRunConfig(source_directory=str(code), script="train.py", compute_target="cpu")
    )
    run.wait_for_completion(timeout=120)
    model = run.register_model(
        model_name="net",
        model_path="outputs/model.pt",
        tags={"area": "vision"},
        properties={"acc": "0.91"},
        description="a CNN",
        datasets=[("training", ds)],
    )
    assert (model.name, model.version, model.id, model.run_id) == ("net", 1, "net:1", run.id)
    assert model.files == {"model.pt": 7000}
    assert [d.id for d in model.datasets["training"]] == [ds.id]
    path = Model(ws, "net").download(str(tmp_path / "dl"))
    assert Path(path).read_bytes() == b"weights" * 1000
    with pytest.raises(ConflictError, match="exist_ok=True"):
        Model(ws, "net").download(str(tmp_path / "dl"))
    Model(ws, "net").download(str(tmp_path / "dl"), exist_ok=True)
    with pytest.raises(ValidationError, match="has no file or folder"):
        run.register_model("net", "outputs/missing.pt")


def test_local_models_aliases_tags_and_damage(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "net"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"w" * 10)
    (folder / "sub" / "config.json").write_text("{}")
    first = Model.register(ws, model_path=str(folder), model_name="net", tags={"stage": "dev"})
    second = Model.register(ws, str(folder), "net", properties={"acc": "0.5"})
    assert (first.version, second.version) == (1, 2)
    assert second.files == {"net/sub/config.json": 2, "net/weights.bin": 10}
    assert Model(ws, "net").version == 2 and Model(ws, "net", version=1).tags == {"stage": "dev"}
    first.set_alias("production")
    assert Model(ws, "net@production").version == 1
    second.set_alias("production")
    assert Model(ws, "net@production").version == 2
    assert Model(ws, id="net:2").aliases == ["production"]
    history = [(e.from_version, e.to_version) for e in second.alias_history("production")]
    assert history == [(None, 1), (1, 2)]
    with pytest.raises(ModelNotFoundError, match="no alias 'staging'"):
        Model(ws, "net@staging")
    second.add_tags({"owner": "ana"})
    second.remove_tags(["owner"])
    second.add_properties({"f1": "0.4"})
    with pytest.raises(ConflictError, match="immutable"):
        second.add_properties({"acc": "0.9"})
    assert Model(ws, "net").properties == {"acc": "0.5", "f1": "0.4"}
    assert [m.version for m in Model.list(ws, name="net", tags=[["stage", "dev"]])] == [1]
    assert [m.version for m in Model.list(ws, latest=True)] == [2]
    # Identical files are stored once, whatever the version.
    blobs = list((ws.artifact_root / "snapshots" / "blobs").glob("*/*"))
    assert len(blobs) == 2
    # A damaged blob is found on download, and nothing is left behind.
    weights = next(b for b in blobs if b.stat().st_size == 10)
    os.chmod(weights, 0o644)
    weights.write_bytes(b"x" * 10)
    with pytest.raises(ValidationError, match="damaged"):
        Model(ws, "net").download(str(tmp_path / "bad"))
    assert not (tmp_path / "bad" / "net" / "weights.bin").exists()
    with pytest.raises(ValidationError, match="does not exist"):
        Model.register(ws, str(tmp_path / "nope"), "net")


KILLED = textwrap.dedent(
    """
    import sys
    from runyard.core import Model, Workspace
    Model.register(Workspace.from_config(sys.argv[1]), sys.argv[2], "big")
    """
)


def test_a_registration_killed_midway_leaves_no_version(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(40):
        (folder / f"part{i:02}.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    script = tmp_path / "register.py"
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(ws.root), str(folder)])
    blobs = ws.artifact_root / "snapshots" / "blobs"
    deadline = time.monotonic() + 60
    while not list(blobs.glob("*/*")) and time.monotonic() < deadline:
        assert proc.poll() is None, "the registration ended before it could be killed"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert Model.list(ws, name="big") == []
    done = Model.register(ws, str(folder), "big")  # the retry completes it
    assert done.version == 1 and len(done.files) == 40
