"""Experiment tags and the SDK's experiment calls around them (``tag``, ``set_tags``,
``remove_tags``, ``tags``, ``refresh``, ``Experiment.list(tags=)``,
``Experiment.delete``) and MLflow's experiment tags, on the SQL stores (SQLite and
PostgreSQL; the HTTP store runs ``check_experiment_tags`` in tests/test_store_http.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.core import Experiment, Workspace
from runyard.entities import RunKind, RunStatus
from runyard.errors import (
    ConflictError,
    ExperimentNotFoundError,
    RunNotFoundError,
    ValidationError,
)
from runyard.store.base import Store


def check_experiment_tags(store: Store) -> None:
    exp = store.get_or_create_experiment("tagged")
    assert exp.tags == {}
    done = store.set_experiment_tags(exp.experiment_id, {"team": "vision", "stage": "dev"})
    assert done.tags == {"team": "vision", "stage": "dev"}
    store.set_experiment_tags(exp.experiment_id, {"stage": "prod"})  # the others stay
    assert store.get_experiment(exp.experiment_id).tags == {"team": "vision", "stage": "prod"}
    assert store.get_experiment_by_name("tagged").tags["stage"] == "prod"  # type: ignore[union-attr]
    listed = {s.experiment.name: s.experiment.tags for s in store.list_experiments()}
    assert listed["tagged"] == {"team": "vision", "stage": "prod"}
    removed = store.remove_experiment_tags(exp.experiment_id, ["stage", "never-set"])
    assert removed.tags == {"team": "vision"}
    with pytest.raises(ValidationError, match="list of tag names"):
        store.remove_experiment_tags(exp.experiment_id, "team")
    with pytest.raises(ValidationError):
        store.set_experiment_tags(exp.experiment_id, {"": "x"})
    with pytest.raises(ExperimentNotFoundError):
        store.set_experiment_tags("no-such-experiment", {"a": "b"})
    assert store.get_experiment(exp.experiment_id).tags == {"team": "vision"}  # unharmed


def check_rename(store: Store) -> None:
    exp = store.get_or_create_experiment("rename-me")
    other = store.get_or_create_experiment("rename-taken")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    seq = store.get_change_seqs([run.run_id])[run.run_id]
    done = store.rename_experiment(exp.experiment_id, "renamed")
    assert done.name == "renamed" and done.experiment_id == exp.experiment_id
    assert store.get_experiment_by_name("rename-me") is None
    assert store.get_experiment_by_name("renamed") == done
    assert store.get_run(run.run_id).experiment_id == exp.experiment_id  # its runs stay
    assert store.get_change_seqs([run.run_id])[run.run_id] == seq + 1  # pages show it
    assert store.rename_experiment(exp.experiment_id, "renamed") == done  # the same name
    with pytest.raises(ConflictError, match="'rename-taken' exists already"):
        store.rename_experiment(exp.experiment_id, other.name)
    with pytest.raises(ValidationError):
        store.rename_experiment(exp.experiment_id, "")
    with pytest.raises(ExperimentNotFoundError):
        store.rename_experiment("no-such-experiment", "x-name")
    assert store.get_experiment(exp.experiment_id).name == "renamed"  # unharmed
    store.set_status(run.run_id, RunStatus.COMPLETED)


def test_sql_store(store: Store) -> None:
    check_experiment_tags(store)
    check_rename(store)


def test_sdk_experiment_tags_list_and_delete(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    exp = Experiment(ws, "sdk-tags")
    exp.tag("owner")
    exp.set_tags({"team": "nlp", "epochs": 10})
    assert exp.tags == {"owner": "", "team": "nlp", "epochs": "10"}
    exp.remove_tags(["owner"])
    other = Experiment(ws, "sdk-tags")  # another handle sees the store's tags
    assert other.tags == {"team": "nlp", "epochs": "10"}
    other.tag("stage", "prod")
    assert "stage" not in exp.tags  # as last read...
    exp.refresh()
    assert exp.tags["stage"] == "prod"  # ...until refreshed
    Experiment(ws, "sdk-plain")
    assert [e.name for e in Experiment.list(ws, tags={"team": "nlp"})] == ["sdk-tags"]
    assert [e.name for e in Experiment.list(ws, tags="stage")] == ["sdk-tags"]
    assert {e.name for e in Experiment.list(ws)} >= {"sdk-tags", "sdk-plain"}
    with pytest.raises(ValidationError, match="tag name or a dict"):
        Experiment.list(ws, tags=3)

    # Experiment.delete: the experiment and its runs go for good, files included.
    run = exp.start_logging()
    run.log("loss", 0.5)
    live_id, folder = run.id, ws.artifact_root / "runs" / run.id
    with pytest.raises(ConflictError, match="not ended"):
        Experiment.delete(ws, exp.id)
    run.complete()
    assert folder.is_dir()
    Experiment.delete(ws, exp.id)
    with pytest.raises(ExperimentNotFoundError):
        ws.store.get_experiment(exp.id)
    with pytest.raises(RunNotFoundError):
        ws.store.get_run(live_id)
    assert not folder.exists()
    assert "sdk-tags" not in {e.name for e in Experiment.list(ws, view_type="All")}
    assert Experiment(ws, "sdk-tags").tags == {}  # the name is free again: a new one
    ws.close()


def test_the_studio_shows_experiment_tags(tmp_path: Path) -> None:
    import httpx

    from runyard.server import create_app
    from tests.support.server import start_server

    ws = Workspace.create(tmp_path / "proj", name="proj")
    exp = Experiment(ws, "shown")
    exp.set_tags({"team": "<vision>"})
    srv = start_server(create_app(ws.store, token="t"))
    try:
        listed = httpx.get(f"{srv.url}/", timeout=30).text
        page = httpx.get(f"{srv.url}/experiments/{exp.id}", timeout=30).text
    finally:
        srv.stop()
        ws.close()
    for html in (listed, page):
        assert '<span class="tag">team: &lt;vision&gt;</span>' in html  # escaped
    assert 'id="experiment-tags"' in page


def test_mlflow_experiment_tags(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    ws = Workspace.create(tmp_path / "proj", name="proj")
    client = mlflow.MlflowClient(tracking_uri=ws.get_mlflow_tracking_uri())
    exp_id = client.create_experiment("ml-tags", tags={"team": "rec"})
    client.set_experiment_tag(exp_id, "stage", "dev")
    assert client.get_experiment(exp_id).tags == {"team": "rec", "stage": "dev"}
    assert ws.store.get_experiment(exp_id).tags == {"team": "rec", "stage": "dev"}
    found = client.search_experiments(
        view_type=ViewType.ACTIVE_ONLY, filter_string="tags.team = 'rec'"
    )
    assert [e.name for e in found] == ["ml-tags"]
    client.delete_experiment_tag(exp_id, "stage")
    assert client.get_experiment_by_name("ml-tags").tags == {"team": "rec"}
    with pytest.raises(MlflowException, match="No tag with name: stage"):
        client.delete_experiment_tag(exp_id, "stage")
    ws.close()
