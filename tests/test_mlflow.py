"""MLflow's API on a workspace: ``mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())``.

MLflow finds Runyard's tracking store and artifact repository through their entry
points; everything is read back through Runyard's own SDK too, so both views agree.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
# MLflow warns about its own type hints when mlflow.pyfunc is first imported.
pytestmark = pytest.mark.filterwarnings("ignore:.*Any type hint is inferred:UserWarning")
from mlflow.exceptions import MlflowException  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402

from runyard.core import Environment, Experiment, Run, ScriptRunConfig, Workspace  # noqa: E402
from runyard.core.conda_dependencies import CondaDependencies  # noqa: E402
from runyard.core.local_build import submittable_spec  # noqa: E402


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.create(tmp_path / "proj", name="mlflow-ws")
    mlflow.set_tracking_uri(workspace.get_mlflow_tracking_uri())
    yield workspace
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    mlflow.tracking.fluent._active_experiment_id = None  # set_experiment's, per process
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        os.environ.pop(name, None)  # set_experiment exports the experiment it set
    workspace.close()


def test_the_tracking_uri_names_the_workspace(ws: Workspace) -> None:
    assert ws.get_mlflow_tracking_uri() == f"runyard:{ws.config_path}"
    store = mlflow.MlflowClient()._tracking_client.store
    assert type(store).__name__ == "RunyardMlflowStore"


def test_a_run_logged_with_mlflow_reads_back_through_both_apis(
    ws: Workspace, tmp_path: Path
) -> None:
    mlflow.set_experiment("diabetes")
    tiny = 1e-300
    with mlflow.start_run(run_name="ridge") as active:
        mlflow.log_param("alpha", 0.03)
        mlflow.log_params({"solver": "auto", "fit_intercept": True})
        for step, loss in enumerate([1.0, 0.5, 1 / 3, tiny]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metric("nan", math.nan)
        mlflow.set_tag("team", "vision")
        (tmp_path / "notes.txt").write_text("hello")
        mlflow.log_artifact(str(tmp_path / "notes.txt"), artifact_path="docs")
        mlflow.log_dict({"a": 1}, "config/params.json")
        model = Ridge(alpha=0.03).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
        info = mlflow.sklearn.log_model(model, name="model")
    run_id = active.info.run_id

    run = Run.get(ws, run_id)  # Runyard's view
    assert run.get_status() == "Completed"
    assert run.experiment.name == "diabetes" and run.display_name == "ridge"
    assert run.get_metrics()["loss"] == [1.0, 0.5, 1 / 3, tiny]  # exactly as logged
    assert math.isnan(run.get_metrics()["nan"])
    assert run.get_properties() == {"alpha": "0.03", "solver": "auto", "fit_intercept": "True"}
    assert run.get_tags()["team"] == "vision"
    files = set(run.get_file_names())
    assert {"docs/notes.txt", "config/params.json", "model/MLmodel", "model/model.skops"} <= files

    client = mlflow.MlflowClient()  # MLflow's view
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "ridge"
    assert got.data.params["alpha"] == "0.03" and got.data.metrics["loss"] == tiny
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == list(enumerate([1.0, 0.5, 1 / 3, tiny]))
    listed = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert listed == {"config": True, "docs": True, "model": True}
    assert [f.path for f in client.list_artifacts(run_id, "docs")] == ["docs/notes.txt"]
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="docs/notes.txt")
    assert Path(local).read_text() == "hello"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config/params.json") == {"a": 1}
    loaded = mlflow.sklearn.load_model(info.model_uri)  # models:/m-...
    assert loaded.predict([[3.0]])[0] == pytest.approx(model.predict([[3.0]])[0])
    assert mlflow.sklearn.load_model(f"runs:/{run_id}/model").coef_ == pytest.approx(model.coef_)
    assert client.get_logged_model(info.model_id).status == "READY"
    assert run.get_metrics()["loss"] == [1.0, 0.5, 1 / 3, tiny]  # log_model added no values
    registered = run.register_model(model_name="ridge", model_path="model")  # the SDK's way
    assert registered.version == 1
    (found,) = client.search_logged_models(experiment_ids=[got.info.experiment_id])
    assert found.model_id == info.model_id and found.source_run_id == run_id


def test_search_runs_filters_and_orders(ws: Workspace) -> None:
    experiment_id = mlflow.set_experiment("sweep").experiment_id
    for lr in (0.1, 0.01, 0.001):
        with mlflow.start_run():
            mlflow.log_param("lr", lr)
            mlflow.log_metric("val_loss", lr * 10)
    found = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string="metrics.val_loss < 0.5",
        order_by=["metrics.val_loss ASC"],
    )
    assert list(found["params.lr"]) == ["0.001", "0.01"]
    assert set(found["status"]) == {"FINISHED"}
    assert len(mlflow.search_runs(search_all_experiments=True)) == 3
    names = [e.name for e in mlflow.search_experiments()]
    assert "sweep" in names


def test_failures_nesting_and_the_default_experiment(ws: Workspace) -> None:
    with pytest.raises(RuntimeError), mlflow.start_run() as failed:
        raise RuntimeError("diverged")
    assert Run.get(ws, failed.info.run_id).get_status() == "Failed"
    assert failed.info.experiment_id == "0"  # MLflow's default experiment
    assert Run.get(ws, failed.info.run_id).experiment.name == "Default"

    with mlflow.start_run() as killed:
        mlflow.end_run(status="KILLED")
    assert Run.get(ws, killed.info.run_id).get_status() == "Canceled"

    with (
        mlflow.start_run(run_name="parent") as parent,
        mlflow.start_run(run_name="child", nested=True) as child,
    ):
        mlflow.log_metric("x", 1)
    children = list(Run.get(ws, parent.info.run_id).get_children())
    assert [c.id for c in children] == [child.info.run_id]
    assert children[0].get_status() == "Completed"
    assert mlflow.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_bad_input_is_a_clear_mlflow_error(ws: Workspace, tmp_path: Path) -> None:
    client = mlflow.MlflowClient()
    with pytest.raises(MlflowException) as missing:
        client.get_run("no_such_run_1")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with mlflow.start_run() as active:
        mlflow.log_param("lr", "0.1")
        with pytest.raises(MlflowException, match="lr"):
            mlflow.log_param("lr", "0.2")  # params, like properties, never change
    assert Run.get(ws, active.info.run_id).get_properties() == {"lr": "0.1"}
    with pytest.raises(MlflowException, match="does not start again"):
        mlflow.start_run(run_id=active.info.run_id)
    with pytest.raises(MlflowException, match="already exists"):
        client.create_experiment("Default")
    renamed = client.create_experiment("before")
    client.rename_experiment(renamed, "after")
    assert client.get_experiment(renamed).name == "after"
    assert client.get_experiment_by_name("before") is None
    with pytest.raises(MlflowException, match="exists already"):
        client.rename_experiment(renamed, "Default")
    mlflow.set_tracking_uri(f"runyard:{tmp_path / 'nowhere' / 'config.json'}")
    with pytest.raises(MlflowException, match="no workspace config"):
        mlflow.MlflowClient().search_experiments()


SUBMITTED = """
import os
import mlflow
from runyard.core import Run

with mlflow.start_run() as active:
    assert active.info.run_id == Run.get_context().id, "MLflow continues the run itself"
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_param("epochs", 3)
    mlflow.set_tag("via", "mlflow")
    with open("out.txt", "w") as f:
        f.write("written by the script")
    mlflow.log_artifact("out.txt")
    with mlflow.start_run(nested=True, run_name="eval"):
        mlflow.log_metric("acc", 0.9)
with mlflow.start_run(run_name="second") as second:  # a later top-level run: a child
    mlflow.log_metric("acc", 0.8)
assert second.info.run_id != active.info.run_id
assert "MLFLOW_RUN_ID" not in os.environ  # a script sending MLflow elsewhere is not misled
print("done", active.info.run_id)
"""


def test_a_submitted_script_logs_to_its_own_run(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(SUBMITTED)
    run = Experiment(ws, "submitted").submit(ScriptRunConfig(str(source), "train.py"))
    run.wait_for_completion(timeout=180)
    assert run.get_status() == "Completed"  # the runner ends it, not the script's end_run
    assert run.get_metrics()["loss"] == [1.0, 0.5, 1 / 3]
    assert run.get_properties()["epochs"] == "3" and run.get_tags()["via"] == "mlflow"
    assert "out.txt" in run.get_file_names()
    children = {c.display_name: c for c in run.get_children()}
    assert set(children) == {"eval", "second"}
    assert children["eval"].get_metrics()["acc"] == 0.9
    assert children["second"].get_metrics()["acc"] == 0.8
    assert len(list(Experiment(ws, "submitted").get_runs())) == 1  # no run besides it


def test_azureml_mlflow_becomes_mlflow_skinny(capsys: pytest.CaptureFixture[str]) -> None:
    env = Environment("mlflow-env")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["azureml-mlflow", "scikit-learn", "azureml-defaults"]
    )
    assert submittable_spec(env)["pip"] == ["mlflow-skinny>=3.0", "scikit-learn", "skops"]
    assert "azureml-mlflow is installed as mlflow-skinny>=3.0 and skops" in capsys.readouterr().err
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["azureml-mlflow"])
    assert submittable_spec(env)["pip"] == ["mlflow-skinny>=3.0"]  # no scikit-learn, no skops


def test_a_built_environment_finds_the_plugin(tmp_path: Path) -> None:
    """The folder the runner puts on a built environment's path registers the plugin."""
    os.environ["RUNYARD_CACHE_DIR"] = str(tmp_path / "cache")
    try:
        from runyard.environments.runyard_link import runyard_link_folder

        folder = runyard_link_folder()
    finally:
        os.environ.pop("RUNYARD_CACHE_DIR")
    (dist,) = metadata.distributions(path=[str(folder)])
    points = {(e.group, e.name, e.value) for e in dist.entry_points}
    assert points == {
        ("mlflow.tracking_store", "runyard", "runyard.mlflow.store:RunyardMlflowStore"),
        ("mlflow.model_registry_store", "runyard", "runyard.mlflow.registry:RunyardRegistryStore"),
        (
            "mlflow.artifact_repository",
            "runyard-artifacts",
            "runyard.mlflow.artifacts:RunyardArtifactRepository",
        ),
    }
    assert json.dumps(sorted(p.name for p in folder.iterdir())) == json.dumps(
        sorted(["runyard", dist._path.name])  # type: ignore[attr-defined]
    )


def test_sklearn_autolog_logs_params_scores_and_the_model(ws: Workspace) -> None:
    from sklearn.datasets import load_diabetes

    mlflow.set_experiment("autolog")
    mlflow.sklearn.autolog()
    try:
        X, y = load_diabetes(return_X_y=True)
        with mlflow.start_run() as active:
            fitted = Ridge(alpha=0.5).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    run = Run.get(ws, active.info.run_id)
    metrics = run.get_metrics()
    assert metrics["training_score"] == pytest.approx(fitted.score(X, y))  # once, a scalar
    assert run.get_properties()["alpha"] == "0.5"
    assert {"model/MLmodel", "estimator.html"} <= set(run.get_file_names())
    model = mlflow.last_logged_model()
    assert model.source_run_id == run.id
    assert {m.key for m in model.metrics} >= {"training_score"}  # the model's scores too


def test_the_model_registry_is_the_workspaces(ws: Workspace) -> None:
    from runyard.core.model import Model

    with mlflow.start_run() as active:
        model = Ridge(alpha=0.1).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
        info = mlflow.sklearn.log_model(model, name="model")
    first = mlflow.register_model(f"runs:/{active.info.run_id}/model", "ridge")
    second = mlflow.register_model(info.model_uri, "ridge", tags={"stage": "try"})
    assert (first.version, second.version) == ("1", "2")
    sdk = Model(ws, "ridge", version=2)  # the SDK reads the same registry
    assert sdk.run_id == active.info.run_id and "model/MLmodel" in sdk.files
    assert sdk.tags == {"stage": "try"}
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("ridge", "champion", "1")
    assert client.get_model_version_by_alias("ridge", "champion").version == "1"
    assert Model(ws, "ridge@champion").version == 1
    for uri in ("models:/ridge/2", "models:/ridge@champion"):
        loaded = mlflow.sklearn.load_model(uri)
        assert loaded.predict([[3.0]])[0] == pytest.approx(model.predict([[3.0]])[0])
    found = client.search_model_versions("name='ridge'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert client.get_registered_model("ridge").aliases == {"champion": "1"}
    client.set_model_version_tag("ridge", "1", "reviewed", "yes")
    assert Model(ws, "ridge", version=1).tags == {"reviewed": "yes"}
    with pytest.raises(MlflowException, match="already exists"):
        client.create_registered_model("ridge")
    with pytest.raises(MlflowException, match="not found"):
        client.get_registered_model("nothing-here")
