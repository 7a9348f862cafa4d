"""Model files through a Runyard server: a workspace whose tracking_uri is http://
registers, lists and downloads models with the bytes going through ``/api/blobs``
(checked against their sha256 by the server on the way up and here on the way down),
including ``run.register_model`` of a run's uploaded file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.core import Experiment, Model, Workspace
from runyard.errors import ValidationError
from runyard.server import create_app
from runyard.store.snapshots import SnapshotStore
from tests.support.server import RunningServer, start_server


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Workspace, RunningServer]]:
    home = Workspace.create(tmp_path / "server-ws", show_output=False)
    srv = start_server(create_app(home.store, token="s3cret"))
    monkeypatch.setenv("RUNYARD_TOKEN", "s3cret")
    try:
        yield home, srv
    finally:
        srv.stop()
        home.close()


def _blobs(home: Workspace) -> SnapshotStore:
    return SnapshotStore(home.artifact_root / "snapshots")


def test_register_and_download_through_the_server(
    served: tuple[Workspace, RunningServer], tmp_path: Path
) -> None:
    home, srv = served
    client = Workspace.create(tmp_path / "client", tracking_uri=srv.url, show_output=False)
    weights = tmp_path / "src" / "net"
    weights.mkdir(parents=True)
    (weights / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    (weights / "config.json").write_text('{"layers": 3}')
    model = Model.register(client, str(weights), "net", tags={"k": "v"})
    assert (model.name, model.version) == ("net", 1)
    # The bytes are on the server, under their hashes; the client keeps no copy.
    for sha, _size in model._v.manifest.values():
        assert _blobs(home).has_blob(str(sha))
    assert not (tmp_path / "client" / ".runyard" / "artifacts" / "snapshots").exists()
    assert Model(home, "net").version == 1  # the server's own view agrees
    path = Model(client, "net").download(str(tmp_path / "dl"))
    assert Path(path) == tmp_path / "dl" / "net"
    for name in ("weights.bin", "config.json"):
        assert (tmp_path / "dl" / "net" / name).read_bytes() == (weights / name).read_bytes()

    # A run's uploaded file, registered from the client after the run ended.
    run = Experiment(client, "http-models").start_logging()
    run.upload_file("outputs/model.pt", str(weights / "weights.bin"))
    run.complete()
    second = run.register_model("net", "outputs/model.pt")
    assert (second.version, second.run_id) == (2, run.id)
    assert second._v.manifest["model.pt"][0] == model._v.manifest["net/weights.bin"][0]
    Model(client, "net", version=2).download(str(tmp_path / "dl2"))
    assert (tmp_path / "dl2" / "model.pt").read_bytes() == (weights / "weights.bin").read_bytes()
    client.close()


def test_a_damaged_blob_is_refused_on_download(
    served: tuple[Workspace, RunningServer], tmp_path: Path
) -> None:
    home, srv = served
    client = Workspace.create(tmp_path / "client", tracking_uri=srv.url, show_output=False)
    source = tmp_path / "m.bin"
    source.write_bytes(b"weights" * 1000)
    model = Model.register(client, str(source), "small")
    sha = str(model._v.manifest["m.bin"][0])
    blob = _blobs(home).blob_path(sha)
    os.chmod(blob, 0o644)
    blob.write_bytes(b"tampered" * 1000)
    with pytest.raises(ValidationError, match=r"m\.bin arrived damaged.*download it again"):
        model.download(str(tmp_path / "dl"))
    assert not (tmp_path / "dl" / "m.bin").exists()
    assert not [p for p in (tmp_path / "dl").rglob("*") if p.is_file()]  # no temp file left
    client.close()
