"""The SDK-v1 names in process: what each does locally, and the errors it gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import runyard
from runyard.core import Environment, Experiment, ScriptRunConfig, Workspace
from runyard.core.compute import AmlCompute, ComputeInstance, ComputeTarget
from runyard.core.compute_target import ComputeTargetException
from runyard.core.conda_dependencies import CondaDependencies
from runyard.core.local_build import pypi_requirement
from runyard.core.notices import notice
from runyard.core.runconfig import (
    DockerConfiguration,
    MpiConfiguration,
    PyTorchConfiguration,
    RunConfiguration,
    TensorflowConfiguration,
)
from runyard.errors import (
    ConflictError,
    EnvironmentNotFoundError,
    ValidationError,
    WorkspaceNotFoundError,
)


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.create(tmp_path / "proj", name="proj")
    yield workspace
    workspace.close()


# -- Workspace ----------------------------------------------------------------------------


def test_sdk_create_records_labels_and_refuses_a_second_create(in_tmp: Path) -> None:
    ws = Workspace.create("mlws", subscription_id="sub", resource_group="rg", location="uksouth")
    assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == (
        "mlws",
        "sub",
        "rg",
        "uksouth",
    )
    assert ws.root == in_tmp
    with pytest.raises(ConflictError, match="exist_ok=True"):
        Workspace.create("mlws", subscription_id="sub", resource_group="rg")
    assert Workspace.create("mlws", subscription_id="sub", exist_ok=True) == ws
    with pytest.raises(ConflictError, match="already holds workspace 'mlws'"):
        Workspace.create("other", subscription_id="sub", exist_ok=True)
    saved = json.loads((in_tmp / ".runyard" / "config.json").read_text())
    assert saved["location"] == "uksouth"


def test_a_runyard_workspace_reports_local_labels(ws: Workspace) -> None:
    assert (ws.subscription_id, ws.resource_group, ws.location) == ("local",) * 3
    assert ws.get_details()["location"] == "local"


def test_get_by_name_and_labels(in_tmp: Path) -> None:
    Workspace.create("mlws", subscription_id="sub", resource_group="rg")
    (in_tmp / "deep" / "er").mkdir(parents=True)
    os.chdir(in_tmp / "deep" / "er")
    assert Workspace.get("mlws").name == "mlws"
    assert Workspace("sub", "rg", "mlws").name == "mlws"
    with pytest.raises(WorkspaceNotFoundError, match="not in subscription 'other'"):
        Workspace.get("mlws", subscription_id="other", resource_group="rg")
    with pytest.raises(WorkspaceNotFoundError, match=r"Workspace.create\('nope'"):
        Workspace.get("nope")


def test_write_config_leaves_a_pointer_from_config_follows(ws: Workspace, tmp_path: Path) -> None:
    elsewhere = tmp_path / "notebooks"
    ws.write_config(path=elsewhere)
    ws.write_config(path=elsewhere, file_name="prod")
    assert Workspace.from_config(elsewhere) == ws
    assert Workspace.from_config(elsewhere / ".runyard" / "prod.json") == ws
    old = Path.cwd()
    os.chdir(elsewhere)
    try:
        assert Workspace.from_config(_file_name="prod.json") == ws
    finally:
        os.chdir(old)
    ws.write_config(path=ws.root)  # its own folder: nothing to write
    assert Workspace.from_config(ws.root).config.tracking_uri.startswith("sqlite")
    other = Workspace.create(tmp_path / "other", name="other")
    with pytest.raises(ConflictError, match="config of another workspace"):
        ws.write_config(path=other.root)


# -- compute ------------------------------------------------------------------------------


def test_aml_compute_update_changes_the_slots_and_starts_queued_runs(
    ws: Workspace, tmp_path: Path
) -> None:
    cfg = AmlCompute.provisioning_configuration(max_nodes=1)
    cluster = ComputeTarget.create(ws, "cpu-cluster", cfg)
    src = tmp_path / "src"
    src.mkdir()
    (src / "hold.py").write_text("import time\ntime.sleep(30)\n")
    config = ScriptRunConfig(str(src), "hold.py", compute_target="cpu-cluster")
    first, second = (Experiment(ws, "scale").submit(config) for _ in range(2))
    try:
        assert second.get_status() == "Queued"
        cluster.update(min_nodes=0, max_nodes=2, idle_seconds_before_scaledown=300)
        assert ws.compute_target_config("cpu-cluster").max_concurrent_runs == 2
        assert AmlCompute(Workspace.from_config(ws.root), "cpu-cluster").max_nodes == 2
        assert cluster.get_status().serialize()["scaleSettings"]["maxNodeCount"] == 2
        assert second.get_status() != "Queued"  # the new slot took it at once
        for bad, says in [
            ({"max_nodes": 0}, "max_nodes must be a whole number"),
            ({"max_nodes": True}, "max_nodes must be a whole number"),
            ({"min_nodes": -1}, "min_nodes must be a whole number"),
            ({"min_nodes": 3}, r"min_nodes \(3\) is more than max_nodes \(2\)"),
        ]:
            with pytest.raises(ComputeTargetException, match=says):
                cluster.update(**bad)
        assert ws.compute_target_config("cpu-cluster").max_concurrent_runs == 2  # unchanged
    finally:
        for run in (first, second):
            run.cancel()


def test_lookup_of_a_missing_target_raises_the_sdk_exception(ws: Workspace) -> None:
    with pytest.raises(ComputeTargetException, match="cpu-cluster"):
        ComputeTarget(workspace=ws, name="cpu-cluster")


def test_aml_compute_is_a_pool_of_max_nodes_slots(ws: Workspace) -> None:
    cfg = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=3, min_nodes=1)
    target = ComputeTarget.create(ws, "gpu-cluster", cfg)
    assert type(target) is AmlCompute and target.type == "local"
    assert ws.compute_target_config("gpu-cluster").max_concurrent_runs == 3
    status = target.get_status().serialize()
    assert status["vmSize"] == "STANDARD_NC6" and status["provisioningState"] == "Succeeded"
    assert status["scaleSettings"]["minNodeCount"] == 1
    assert status["nodeStateCounts"]["idleNodeCount"] == 3
    nodes = target.list_nodes()
    assert [n["nodeState"] for n in nodes] == ["idle"] * 3
    assert {"nodeId", "runId", "privateIpAddress"} <= set(nodes[0])
    assert type(AmlCompute(ws, "gpu-cluster")) is AmlCompute
    assert "STANDARD_NC6" in repr(target)
    with pytest.raises(ComputeTargetException, match="min_nodes"):
        AmlCompute.provisioning_configuration(min_nodes=5, max_nodes=2)
    target.delete()
    assert "gpu-cluster" not in ws.compute_targets


def test_compute_instance_keeps_its_class(ws: Workspace) -> None:
    ComputeTarget.create(ws, "ci", ComputeInstance.provisioning_configuration("STANDARD_DS3_V2"))
    assert type(ws.compute_targets["ci"]) is ComputeInstance
    assert ws.compute_targets["ci"].get_status().state == "Running"
    with pytest.raises(ComputeTargetException, match="is a ComputeInstance, not a AmlCompute"):
        AmlCompute(ws, "ci")


def test_aml_compute_on_the_workspaces_ray_cluster(ws: Workspace) -> None:
    ws.use_ray_cluster("http://127.0.0.1:8265", server_url="http://127.0.0.1:8765")
    cfg = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
    target = ComputeTarget.create(ws, "cpu-cluster", cfg)
    config = Workspace.from_config(ws.config_path).compute_target_config("cpu-cluster")
    assert (config.type, config.address, config.max_concurrent_runs) == (
        "ray",
        "http://127.0.0.1:8265",
        2,
    )
    assert config.options["server_url"] == "http://127.0.0.1:8765"
    assert type(target) is AmlCompute and "Ray cluster" in target.describe()


# -- run configuration --------------------------------------------------------------------


def test_untouched_default_environment_is_this_interpreter() -> None:
    rc = RunConfiguration()
    assert rc.environment.name == "default-environment"
    assert ScriptRunConfig(".", "train.py", run_config=rc).environment is None
    rc.environment.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy"])
    assert ScriptRunConfig(".", "train.py", run_config=rc).environment is rc.environment


def test_distributed_configurations_count_processes() -> None:
    assert PyTorchConfiguration(process_count=4).process_count == 4
    assert MpiConfiguration(process_count_per_node=2, node_count=3).process_count == 6
    assert TensorflowConfiguration(worker_count=2, parameter_server_count=0).process_count == 2
    src = ScriptRunConfig(".", "t.py", distributed_job_config=MpiConfiguration())
    assert src.submission_record()["distributed"] == {
        "framework": "Mpi",
        "processCount": 1,
        "processCountPerNode": 1,
        "nodeCount": 1,
    }
    two = PyTorchConfiguration(process_count=2)  # two ranks here (docs/distributed.md)
    assert ScriptRunConfig(".", "t.py", distributed_job_config=two).submission_record()
    with pytest.raises(ValidationError, match="not TensorFlow parameter servers"):
        ScriptRunConfig(
            ".", "t.py", distributed_job_config=TensorflowConfiguration(worker_count=2)
        ).submission_record()
    with pytest.raises(ValidationError, match="distributed_job_config must be"):
        ScriptRunConfig(".", "t.py", distributed_job_config="mpi")  # type: ignore[arg-type]


def test_older_sdk_distributed_settings_are_refused_too() -> None:
    rc = RunConfiguration()
    rc.node_count = 2  # two machines: not yet
    with pytest.raises(ValidationError, match="use node_count=1"):
        ScriptRunConfig(".", "t.py", run_config=rc).submission_record()
    rc = RunConfiguration(communicator="IntelMpi")
    assert ScriptRunConfig(".", "t.py", run_config=rc).submission_record()["distributed"] == {
        "framework": "Mpi",
        "processCount": 1,
        "processCountPerNode": 1,
        "nodeCount": 1,
    }
    assert ScriptRunConfig(".", "t.py").submission_record()["distributed"] is None


def test_notices_are_said_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert notice("first time", key="test-once") is True
    assert notice("first time", key="test-once") is False
    assert capsys.readouterr().err == "runyard: first time\n"
    DockerConfiguration(use_docker=True)
    DockerConfiguration(use_docker=True, shm_size="2g")
    assert capsys.readouterr().err.count("not a Docker container") <= 1
    assert notice("again", key="docker") is False  # the Docker notice was said already


def test_command_form() -> None:
    src = ScriptRunConfig(".", command=["python", "train.py", "--lr", 0.1])
    assert (src.script, src.arguments) == ("train.py", ["--lr", "0.1"])
    with pytest.raises(ValidationError, match="Python script"):
        ScriptRunConfig(".", command="bash run.sh")


# -- CondaDependencies and environments --------------------------------------------------


def test_conda_dependencies_round_trip(tmp_path: Path) -> None:
    cd = CondaDependencies.create(
        pip_packages=["scikit-learn==1.9.1", "azureml-defaults"],
        conda_packages=["numpy=1.26", "pytorch::pytorch"],
        python_version="3.11",
    )
    cd.add_pip_package("joblib")
    cd.add_conda_package("pandas")
    cd.add_channel("conda-forge")
    text = cd.serialize_to_string()
    assert "- python=3.11" in text and "- numpy=1.26" in text and "  - joblib" in text
    path = Path(cd.save_to_file(tmp_path, "env.yml"))
    assert path == tmp_path / "env.yml"
    env = Environment.from_conda_specification("rt", path)
    back = env.python.conda_dependencies
    assert back.python_version == "3.11" and back.channels == ["conda-forge"]
    assert back.conda_packages == ["numpy=1.26", "pytorch::pytorch", "pandas"]
    assert CondaDependencies(path) == cd


def test_conda_packages_with_pypi_equivalents() -> None:
    assert pypi_requirement("numpy=1.26") == "numpy==1.26.*"
    assert pypi_requirement("pytorch::pytorch>=1.6") == "torch>=1.6"
    assert pypi_requirement("scikit-learn==1.9.1") == "scikit-learn==1.9.1"
    assert pypi_requirement("py-xgboost") == "xgboost"
    assert pypi_requirement("cudatoolkit=11.1") is None


def test_ws_environments_know_the_sdk_curated_names(ws: Workspace) -> None:
    envs = ws.environments
    assert envs["AzureML-PyTorch-1.6-CPU"].name == "Runyard-PyTorch-CPU"
    assert envs["AzureML-sklearn-0.24-ubuntu18.04-py37-cpu"].name == "Runyard-sklearn"
    # An SDK curated name that is not listed still resolves by its framework.
    assert envs["AzureML-pytorch-1.13-ubuntu20.04-py38-cpu"].name == "Runyard-PyTorch-CPU"
    with pytest.raises(KeyError, match="there are: AzureML-Minimal"):
        envs["my-missing-env"]
    # TensorFlow names (CPU, GPU, CUDA) map to the CPU TensorFlow build, with a notice.
    tf = envs["AzureML-TensorFlow-2.3-GPU"]
    assert tf.name == "Runyard-TensorFlow-CPU"
    assert "tensorflow-cpu==2.21.0" in tf.to_spec()["pip"]
    assert Environment.get(ws, "AzureML-tensorflow-2.16-cuda12").name == "Runyard-TensorFlow-CPU"
    with pytest.raises(EnvironmentNotFoundError, match="Runyard-TensorFlow-CPU"):
        Environment.get(ws, "AzureML-JAX-0.4-GPU")  # the error names those that exist


def test_register_and_get_by_string_version(ws: Workspace) -> None:
    env = Environment("sk")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"])
    env.register(ws)
    assert Environment.get(ws, "sk", version="1").version == 1
    assert ws.environments["sk"].python.conda_dependencies.pip_packages == ["scikit-learn"]


def test_docker_settings_of_an_environment(capsys: pytest.CaptureFixture[str]) -> None:
    from runyard.core.local_build import submittable_spec
    from runyard.core.runconfig import DEFAULT_CPU_IMAGE

    env = Environment("img")
    env.python.user_managed_dependencies = True
    env.docker.base_image = DEFAULT_CPU_IMAGE
    assert submittable_spec(env)["docker_base_image"] is None  # the SDK's image: dropped
    assert "only supplies Ubuntu and conda" in capsys.readouterr().err
    env.docker.base_image = "myregistry.io/team/custom:1"
    assert submittable_spec(env)["docker_base_image"] == "myregistry.io/team/custom:1"
    env.docker.base_dockerfile = "FROM ubuntu\nRUN apt-get install -y libgl1\n"
    with pytest.raises(ValidationError, match="base_dockerfile = None"):
        submittable_spec(env)


def test_runtime_packages_are_left_to_runyard(capsys: pytest.CaptureFixture[str]) -> None:
    from runyard.core.local_build import submittable_spec

    env = Environment("rt")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["azureml-core==1.48.0", "azureml-dataset-runtime[fuse,pandas]", "joblib"]
    )
    assert submittable_spec(env)["pip"] == ["joblib"]
    assert "satisfied by Runyard's own client" in capsys.readouterr().err


def test_sdk_subpackages_are_attributes_after_importing_core() -> None:
    """A public notebook reads ``azureml.data.__version__`` after ``import azureml.core``
    alone: the subpackages are attributes of the top package, loaded on first use."""
    code = (
        "import runyard.core, runyard, sys\n"
        "assert 'runyard.data' not in sys.modules\n"
        "print(runyard.data.__version__ == runyard.__version__, runyard.data.FileDataset)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("True <class 'runyard.core.file_dataset.FileDataset'>")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        runyard.nope  # noqa: B018
