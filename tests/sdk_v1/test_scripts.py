"""SDK-v1 scripts and notebook cells, with only ``azureml`` -> ``runyard``, run end to end.

Each script under ``projects/`` follows a public SDK-v1 source (named at its top) and
runs as a user would run it: ``python SCRIPT`` in its folder, after the SDK-v1 set-up
scripts made the workspace and the ``cpu-cluster``. The tests read back what the runs
recorded: statuses, metrics, files, and the run definition.
"""

from __future__ import annotations

import ast
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from runyard.core import Experiment, Run
from runyard.core.compute import AmlCompute, ComputeTarget
from tests.sdk_v1.harness import PROJECTS, SDK_ENV, Project, make_project


def _runs(project: Project, experiment: str) -> list[Run]:
    return list(Experiment(project.workspace(), experiment).get_runs())


def _no_conda() -> None:
    if any(shutil.which(t) for t in ("conda", "mamba", "micromamba")):
        pytest.skip("a conda tool is on PATH: conda packages are built by it, not translated")


# -- set-up: the workspace and the cluster ------------------------------------------------


def test_configuration_creates_then_finds_the_workspace(tmp_path: Path) -> None:
    project = make_project(tmp_path, "hello", cluster=False)
    ws = project.workspace()
    assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == (
        SDK_ENV["WORKSPACE_NAME"],
        SDK_ENV["SUBSCRIPTION_ID"],
        SDK_ENV["RESOURCE_GROUP"],
        SDK_ENV["WORKSPACE_REGION"],
    )
    # The second time, Workspace(subscription_id, resource_group, workspace_name) finds it.
    again = project.run("configuration.py")
    assert "Workspace configuration succeeded" in again.stdout
    assert "SDK version: 0.1.0" in again.stdout
    assert f"Azure region: {SDK_ENV['WORKSPACE_REGION']}" in again.stdout
    # A notebook in a sub-folder finds it with from_config(), as configuration.ipynb says.
    (project.root / "notebooks").mkdir()
    (project.root / "notebooks" / "nb.py").write_text(
        "from runyard.core import Workspace\nprint(Workspace.from_config().name)\n"
    )
    assert project.run("notebooks/nb.py").stdout.strip() == SDK_ENV["WORKSPACE_NAME"]


def test_create_compute_makes_an_aml_cluster_once(tmp_path: Path) -> None:
    project = make_project(tmp_path, "hello", cluster=False)
    first = project.run("create_compute.py")
    assert "Succeeded" in first.stdout and "STANDARD_D2_V2" in first.stdout
    assert "'maxNodeCount': 4" in first.stdout and "'idleNodeCount': 4" in first.stdout
    assert "found compute target. just use it. cpu-cluster" in first.stdout
    second = project.run("create_compute.py")
    assert "Found existing cluster, use it." in second.stdout
    target = ComputeTarget(workspace=project.workspace(), name="cpu-cluster")
    assert type(target) is AmlCompute
    assert (target.max_nodes, target.vm_size) == (4, "STANDARD_D2_V2")
    assert target.scale_settings.idle_seconds_before_scaledown == 2400


# -- runs ---------------------------------------------------------------------------------


def test_hello_world_on_the_cluster(tmp_path: Path) -> None:
    project = make_project(tmp_path, "hello")
    proc = project.run("run-hello.py")
    assert "Hello world!" in proc.stdout  # streamed by wait_for_completion(show_output=True)
    run = project.run_from_url(proc.stdout)
    assert run.get_status() == "Completed"
    assert run.get_details()["target"] == "cpu-cluster"
    assert "Hello world!" in run.get_driver_log()


def test_train_on_local_user_managed(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    project = make_project(tmp_path, "train_local", cluster=False)
    proc = project.run("train-on-local.py")
    assert "Completed" in proc.stdout and "alphas 20 best mse" in proc.stdout
    (run,) = _runs(project, "train-on-local")
    metrics = run.get_metrics()
    assert metrics["alpha"] == pytest.approx([i * 0.05 for i in range(20)])
    assert len(metrics["mse"]) == 20 and all(m > 0 for m in metrics["mse"])
    names = run.get_file_names()
    assert "outputs/ridge_0.00.pkl" in names and "outputs/ridge_0.95.pkl" in names
    # user_managed_dependencies: no environment was built, this Python ran the script.
    assert run.get_details()["runDefinition"]["environment"]["spec"]["user_managed"] is True


def test_logging_api_interactive_run(tmp_path: Path) -> None:
    project = make_project(tmp_path, "logging_api", cluster=False)
    proc = project.run("logging-api.py")
    assert proc.stdout.splitlines()[-2:] == ["Completed", "123"]
    (run,) = _runs(project, "logging-api-test")
    metrics = run.get_metrics()
    assert metrics["a number"] == 123 and metrics["a string"] == "the run is going"
    assert metrics["Fibonacci"] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]
    assert len(metrics["Sine Wave"]["angle"]) == 20
    assert metrics["Sizes"] == {"count": [1, 2, 3], "size": [10, 20, 30]}
    assert run.get_tags()["Pipeline"] == "Preprocessing"
    assert "outputs/myfile.txt" in run.get_file_names()


def test_manage_runs_tags_and_children(tmp_path: Path) -> None:
    project = make_project(tmp_path, "manage_runs", cluster=False)
    proc = project.run("manage-runs.py")
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["Running", "Completed"]
    assert "{'quality': 'fantastic run'}" in proc.stdout and "tagged runs: 1" in proc.stdout
    assert "children: 3" in proc.stdout and lines[-1] == "fetched Completed True"
    runs = list(Experiment(project.workspace(), "explore-runs").get_runs(include_children=True))
    assert sorted(r.get_status() for r in runs) == ["Completed"] * 6
    (authored,) = [r for r in runs if r.get_properties().get("author") == "azureml-user"]
    assert authored.get_tags()["quality"] == "fantastic run"


@pytest.mark.usefixtures("env_cache")
def test_train_on_amlcompute_with_a_conda_package(tmp_path: Path) -> None:
    """A conda package (scikit-learn) built with uv from PyPI when no conda is here."""
    _no_conda()
    project = make_project(tmp_path, "train_amlcompute")
    proc = project.run("train-on-amlcompute.py", timeout=1200)
    assert "scikit-learn -> scikit-learn" in proc.stderr
    assert "'vmSize': 'STANDARD_D2_V2'" in proc.stdout
    assert "'nodeState': 'idle'" in proc.stdout  # list_nodes() before the submit
    options = project.workspace().compute_target_config("cpu-cluster").options
    assert options["idle_seconds_before_scaledown"] == 300  # cpu_cluster.update(...)
    (run,) = _runs(project, "train-on-amlcompute")
    assert run.get_status() == "Completed"
    assert len(run.get_metrics()["mse"]) == 20
    assert "outputs/ridge_0.50.pkl" in run.get_file_names()
    assert run.get_details()["target"] == "cpu-cluster"


@pytest.mark.usefixtures("env_cache")
def test_using_environments_builds_a_conda_dependencies_env(tmp_path: Path) -> None:
    _no_conda()
    project = make_project(tmp_path, "environments", cluster=False)
    proc = project.run("using-environments.py")
    assert "Name AzureML-Minimal" in proc.stdout and "Name AzureML-PyTorch-1.6-CPU" in proc.stdout
    assert "numpy -> numpy" in proc.stderr  # the conda package, translated for uv
    assert "azureml-defaults are satisfied by Runyard's own client" in proc.stderr
    assert "Environment(name='myenv', version=1)" in proc.stdout
    (run,) = _runs(project, "using-environments")
    assert run.get_status() == "Completed"
    assert run.get_metrics()["numpy_major"] >= 1
    spec = run.get_details()["runDefinition"]["environment"]["spec"]
    assert spec["conda"] == [] and spec["pip"] == ["numpy"]


@pytest.mark.usefixtures("env_cache")
def test_conda_specification_file(tmp_path: Path) -> None:
    _no_conda()
    project = make_project(tmp_path, "conda_spec")
    proc = project.run("run-conda.py")
    assert "numpy -> numpy" in proc.stderr
    assert "azureml-dataset-runtime[fuse], azureml-defaults are satisfied" in proc.stderr
    run = project.run_from_url(proc.stdout)
    assert run.get_status() == "Completed"
    assert run.get_tags()["python"] == "3.11"

    # What cannot be honoured offline fails at submit, naming the line and the fix.
    old = project.run("run-conda.py", "./env-py36.yml", ok=False)
    assert old.returncode != 0
    message = " ".join(old.stderr.split())
    assert "Python 3.6.2" in message and "line 5 of" in message and "env-py36.yml" in message
    assert "remove that line" in message
    conda_only = project.run("run-conda.py", "./env-conda-only.yml", ok=False)
    message = " ".join(conda_only.stderr.split())
    assert "'cudatoolkit=11.1' (line 5 of" in message and "no conda, mamba or micromamba" in message
    assert len(_runs(project, "day1-experiment-conda")) == 1  # no run was made for those


def test_distributed_and_docker_configs_are_recorded(tmp_path: Path) -> None:
    project = make_project(tmp_path, "distributed")
    proc = project.run("run-distributed.py")
    assert "DockerConfiguration(use_docker=True)" in proc.stderr
    assert "openmpi4.1.0-ubuntu20.04 only supplies Ubuntu and conda" in proc.stderr
    run = project.run_from_url(proc.stdout)
    assert run.get_status() == "Completed"
    assert run.get_metrics()["epoch"] == [0, 1] and run.get_metrics()["world_size"] == 1
    definition = run.info.definition  # what the run recorded at submit
    assert definition["distributed"] == {
        "framework": "PyTorch",
        "processCount": 1,
        "communicationBackend": "Nccl",
        "nodeCount": 1,
    }
    assert definition["docker"]["useDocker"] is True

    two = project.run_from_url(project.run("run-distributed.py", "2").stdout)  # two ranks
    assert two.get_status() == "Completed"
    assert two.get_metrics()["world_size"] == 2 == two.get_metrics(rank=1)["world_size"]
    assert two.get_metrics(rank=1)["epoch"] == [0, 1]


@pytest.mark.slow
def test_seed_tutorial_run_pytorch(tmp_path: Path) -> None:
    """The seed tutorial's run-pytorch.py and its logging train.py, unchanged but for
    their import lines; CIFAR-10 comes from the local torchvision stand-in."""
    pytest.importorskip("torch")
    project = make_project(tmp_path, "seed_tutorial")
    proc = project.run("run-pytorch.py")
    assert "'AzureML-PyTorch-1.6-CPU' is not available locally" in proc.stderr
    run = project.run_from_url(proc.stdout)
    run.wait_for_completion(raise_on_error=False, timeout=1500)
    assert run.get_status() == "Completed", run.get_driver_log()[-3000:]
    losses = run.get_metrics()["loss"]
    assert len(losses) == 2 and all(0.0 < x < 10.0 for x in losses)  # once per epoch
    log = run.get_driver_log()
    assert len(re.findall(r"^epoch=\d, batch= 2000: loss \d+\.\d\d$", log, re.M)) == 2
    assert "Finished Training" in log
    assert run.get_details()["runDefinition"]["environment"]["name"] == "Runyard-PyTorch-CPU"


# -- the scripts themselves ---------------------------------------------------------------


def test_mlflow_train_local_logs_to_the_workspace(tmp_path: Path) -> None:
    """train-local.ipynb: MLflow's fluent API on ws.get_mlflow_tracking_uri()."""
    project = make_project(tmp_path, "mlflow_local", cluster=False)
    proc = project.run("train-local.py")
    (run,) = _runs(project, "LocalTrain-with-mlflow-sample")
    assert f"run {run.id}" in proc.stdout
    assert run.get_status() == "Completed"
    metrics = run.get_metrics()
    assert metrics["alpha"] == 0.03
    printed = float(re.search(r"Mean Squared Error is (\S+)", proc.stdout).group(1))  # type: ignore[union-attr]
    assert metrics["mse"] == pytest.approx(printed, rel=1e-12)
    files = run.get_file_names()
    assert "actuals_vs_predictions.png" in files
    assert {"model/MLmodel", "model/model.skops", "model/requirements.txt"} <= set(files)
    assert run.get_tags()["mlflow.source.type"] == "LOCAL"


@pytest.mark.usefixtures("env_cache")
def test_mlflow_train_remote_script_logs_to_its_run(tmp_path: Path) -> None:
    """train-remote.ipynb: the submitted script uses MLflow alone, in an environment
    that asks for azureml-mlflow; its metrics, plot and model land in the run."""
    project = make_project(tmp_path, "mlflow_remote")
    proc = project.run("train-remote.py", timeout=900)
    assert "azureml-mlflow is installed as mlflow-skinny>=3.0 and skops" in proc.stderr
    (run,) = _runs(project, "RemoteTrain-with-mlflow-sample")  # no second run
    assert run.get_status() == "Completed"
    metrics = run.get_metrics()
    assert metrics["Training samples"] == 353.0 and metrics["Test samples"] == 89.0
    assert metrics["alpha"] == 0.03 and metrics["mse"] > 0
    files = set(run.get_file_names())
    assert {"actuals_vs_predictions.png", "model/MLmodel", "model/model.skops"} <= files
    spec = run.get_details()["runDefinition"]["environment"]["spec"]
    assert "mlflow-skinny>=3.0" in spec["pip"] and "azureml-mlflow" not in spec["pip"]


def test_export_run_history_to_tensorboard(tmp_path: Path) -> None:
    import socket

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    project = make_project(tmp_path, "tensorboard_export", cluster=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = project.run("export-to-tensorboard.py", str(port))
    assert proc.stdout.splitlines()[-2:] == [f"http://127.0.0.1:{port}/", "Completed"]
    (root,) = _runs(project, "export-to-tensorboard")
    assert len(list(root.get_children())) == 7
    acc = EventAccumulator(str(project.root / "exportedTBlogs" / root.id))
    acc.Reload()
    alphas = [round(e.value, 6) for e in acc.Scalars("alpha")]
    assert alphas == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert [e.step for e in acc.Scalars("mse")] == list(range(7))
    assert [e.value for e in acc.Scalars("mse")] == pytest.approx(root.get_metrics()["mse"])


def test_manage_experiments_tags_archive_rename_and_list(tmp_path: Path) -> None:
    project = make_project(tmp_path, "experiment_lifecycle", cluster=False)
    out = dict(
        line.split(": ", 1) for line in project.run("manage-experiments.py").stdout.splitlines()
    )
    assert out["tags"] == "[('flag', ''), ('stage', 'baseline'), ('team', 'vision')]"
    assert out["renamed"] == "previous-active-experiment True"
    assert out["tagged"] == "['previous-active-experiment']"
    assert out["archived"] == "['old-experiment']"
    names = {"active-experiment", "old-experiment", "previous-active-experiment"}
    assert names <= set(ast.literal_eval(out["all"]))
    assert out["by name"] == "[('active-experiment', True)]"
    # What the script left is what the workspace's store has.
    active = sorted(e.name for e in Experiment.list(project.workspace()))
    assert "old-experiment" not in active and "previous-active-experiment" in active


def test_a_one_file_dataset_mounted_is_the_file_and_the_output_is_stored(
    tmp_path: Path,
) -> None:
    from runyard.core import Dataset

    project = make_project(tmp_path, "data_io")
    out = project.run("how-to-use-scriptrun.py").stdout
    run_id, status = out.rsplit("run: ", 1)[1].split()
    assert status == "Completed", out
    run = Run.get(project.workspace(), run_id)
    log = run.get_driver_log()
    source = log.split("input ", 1)[1].splitlines()[0]
    assert source.endswith("/iris.csv")  # the file itself, as the notebook's script expects
    store = project.workspace().get_default_datastore()
    written = Dataset.File.from_files((store, "sample/outputdataset")).download(tmp_path / "o")
    assert [Path(p).name for p in written] == ["output.csv"]
    iris = (project.root / "iris.csv").read_text()
    assert Path(written[0]).read_text() == iris


def test_scripts_differ_from_sdk_v1_only_by_the_module_name() -> None:
    """Every mention of runyard in a stored script is where SDK-v1 code names azureml
    (an import, or a name qualified by the imported module); no azureml import is left."""
    allowed = re.compile(r"^\s*(from runyard[\w.]* import |import runyard[\w.]*)|runyard\.\w+\.")
    for path in PROJECTS.rglob("*.py"):
        if "torchvision" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            assert not re.match(r"\s*(from|import) azureml", code), f"{path}:{number}"
            if "runyard" in code:
                assert allowed.search(code), f"{path}:{number}: {line}"


def test_tabular_timeseries_dataset_filtering(tmp_path: Path) -> None:
    """The time-series notebook: partition folders read as a datetime column, the
    timestamp traits, the time_* filters, and the SDK's exceptions when a trait is gone."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    project = make_project(tmp_path, "timeseries_filtering", cluster=False)
    for month in range(1, 7):  # the notebook's layout: weather-data/2019/MM/data.parquet
        times = pd.date_range(f"2019-{month:02d}-01", periods=60, freq="12h", tz="UTC")
        frame = pd.DataFrame(
            {
                "usaf": "722010",
                "datetime": times[times.month == month],
                "snowDepth": 0.0,
                "version": 1.0,
                "temperature": [20.0 + i % 7 for i in range(int((times.month == month).sum()))],
            }
        )
        folder = project.root / "weather-data" / "2019" / f"{month:02d}"
        folder.mkdir(parents=True)
        frame.to_parquet(folder / "data.parquet")
    proc = project.run("tabular-timeseries-dataset-filtering.py")
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("Expected exception : time_before()") for line in lines) == 2
    assert "Cleaning not allowed because partition_timestamp can be set only" in proc.stdout
    assert lines[-2:] == [
        "after clean both with None/None, timestamp columns are: (None, None)",
        "after clean partition timestamp column, timestamp columns are: ('datetime', None)",
    ]
    from runyard.core import Dataset

    tsd = Dataset.get_by_name(project.workspace(), name="weather-data-florida")
    assert tsd.timestamp_columns == ("datetime", "partition_time")
    before = tsd.time_before(datetime(2019, 6, 12)).to_pandas_dataframe()
    assert before["datetime"].max() == pd.Timestamp("2019-06-12", tz="UTC")
    assert set(before["partition_time"]) == {datetime(2019, m, 1) for m in range(1, 7)}
