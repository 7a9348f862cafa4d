"""``runyard datastore|dataset|model`` over a real workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from runyard.cli import cli
from runyard.core import Model, Workspace


def test_datastore_dataset_and_model_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_CACHE_DIR", str(tmp_path / "cache"))
    ws = Workspace.create(tmp_path / "p")
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    runner = CliRunner()

    def call(*args: str) -> str:
        done = runner.invoke(cli, ["-w", str(ws.root), *args], catch_exceptions=False)
        assert done.exit_code == 0, done.output
        return done.output

    assert "workspaceblobstore" in call("datastore", "list")
    call("datastore", "upload", str(data), "--target-path", "d")
    from runyard.core import Dataset

    Dataset.File.from_files(path=(ws.get_default_datastore(), "d")).register(ws, "ds")
    listed = json.loads(call("dataset", "list", "--json"))
    assert [d["name"] for d in listed["datasets"]] == ["ds"]
    assert json.loads(call("dataset", "show", "ds", "--json"))["files_list"] == {"a.txt": 1}
    assert "1 files" in call("dataset", "download", "ds", str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "a.txt").read_text() == "a"
    Model.register(ws, str(data / "a.txt"), "net")
    Model.register(ws, str(data / "a.txt"), "net")
    assert "net@prod: None -> 1" in call("model", "alias", "net", "prod", "1")
    assert json.loads(call("model", "show", "net@prod", "--json"))["version"] == 1
    versions = json.loads(call("model", "list", "--json"))["models"]
    assert [m["version"] for m in versions] == [1, 2]
    out = call("model", "download", "net:2", str(tmp_path / "m"))
    assert Path(out.strip()).read_text() == "a"
    ws.close()
