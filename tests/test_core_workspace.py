"""Workspaces: create, find by walking up, and clear errors for broken configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runyard.core import Workspace
from runyard.errors import ConfigError, WorkspaceNotFoundError


def test_create_and_find_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create(tmp_path, name="proj")
    config = json.loads((tmp_path / ".runyard" / "config.json").read_text())
    assert config["name"] == "proj"
    assert config["tracking_uri"].startswith("sqlite:///")
    assert "local" in config["compute_targets"]
    assert (tmp_path / ".runyard" / "runyard.db").exists()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    found = Workspace.from_config()
    assert found == ws
    assert found.name == "proj"
    assert found.root == tmp_path.resolve()


def test_create_twice_returns_the_same_workspace(tmp_path: Path) -> None:
    a = Workspace.create(tmp_path, name="one")
    b = Workspace.create(tmp_path, name="two")
    assert b.name == "one" and a == b


def test_missing_workspace_says_where_it_looked_and_how_to_create(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError) as err:
        Workspace.from_config(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "runyard init" in message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"name": "x"}', "missing tracking_uri, artifact_root"),
        ('{"name": "x", "tracking_uri": 5, "artifact_root": "a"}', "'tracking_uri' must be"),
        (
            '{"name": "x", "tracking_uri": "sqlite:///r.db", "artifact_root": "a", '
            '"compute_targets": {"c": {"type": "k8s"}}}',
            "use 'local' or 'ray'",
        ),
        (
            '{"name": "x", "tracking_uri": "sqlite:///r.db", "artifact_root": "a", '
            '"compute_targets": {"c": {"max_concurrent_runs": 0}}}',
            "max_concurrent_runs must be an integer >= 1",
        ),
        (
            '{"name": "x", "tracking_uri": "mysql://h/db", "artifact_root": "a"}',
            "unsupported tracking URI",
        ),
    ],
)
def test_broken_configs_get_clear_errors(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / ".runyard").mkdir()
    (tmp_path / ".runyard" / "config.json").write_text(content)
    with pytest.raises(ConfigError) as err:
        Workspace.from_config(tmp_path).store  # noqa: B018
    assert fragment in str(err.value)


def test_force_rewrites_a_broken_config_and_keeps_the_data(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path, name="keep")
    run = ws.store.get_or_create_experiment("e")
    (tmp_path / ".runyard" / "config.json").write_text("{broken")
    again = Workspace.create(tmp_path, name="keep", force=True)
    assert again.store.get_experiment_by_name("e") == run


def test_bad_workspace_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="may only contain"):
        Workspace.create(tmp_path, name="<script>")
    with pytest.raises(ConfigError, match="limit is 255"):
        Workspace.create(tmp_path, name="n" * 300)
