"""The seed tutorial's part 3, with only ``azureml`` -> ``runyard``: upload the data to
the workspace's default datastore, then train on it as a mounted dataset."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runyard.core import Experiment, Run, Workspace
from runyard.entities import ComputeTargetConfig

PROJECT = Path(__file__).resolve().parent / "assets_projects" / "tutorial_part3"


def _python(root: Path, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{script}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(PROJECT, root)
    data = root / "data" / "cifar-10-batches-py"
    data.mkdir(parents=True)
    for i in range(1, 6):
        (data / f"data_batch_{i}").write_bytes(bytes([i]) * 3000)
    (data / "test_batch").write_bytes(b"t" * 1234)
    (data / "batches.meta").write_bytes(b"meta")
    ws = Workspace.create(root)
    ws.add_compute_target(ComputeTargetConfig(name="cpu-cluster", type="local"))
    ws.close()
    return root


def test_part3_upload_then_train_on_the_mounted_dataset(project: Path, tmp_path: Path) -> None:
    env = {**os.environ, "RUNYARD_CACHE_DIR": str(tmp_path / "cache")}
    _python(project, "05-upload-data.py", env)
    ws = Workspace.from_config(project)
    folder = ws.artifact_root / "datastores" / "workspaceblobstore" / "datasets" / "cifar10"
    assert sorted(p.name for p in (folder / "cifar-10-batches-py").iterdir()) == [
        "batches.meta",
        *[f"data_batch_{i}" for i in range(1, 6)],
        "test_batch",
    ]
    # Uploading again with overwrite=True rewrites the files, and changes nothing else.
    _python(project, "05-upload-data.py", env)

    submitted = _python(project, "06-run-pytorch-data.py", env)
    run_id = submitted.stdout.strip().rsplit("/", 1)[-1]
    run = Run.get(ws, run_id)
    details = run.wait_for_completion(timeout=240)
    assert details["status"] == "Completed", run.get_driver_log()
    metrics = run.get_metrics()
    assert metrics["files"] == 7
    assert metrics["bytes"] == 5 * 3000 + 1234 + 4
    assert metrics["learning_rate"] == 0.003 and metrics["momentum"] == 0.92
    # A mount of the local datastore is its own folder: nothing was copied.
    assert metrics["data_path"] == str(folder)
    assert metrics["input_path"] == str(folder)
    assert run.get_details()["inputDatasets"] == [
        {
            "dataset": {
                "id": None,
                "name": None,
                "version": None,
                "kind": "file",
                "content_hash": None,
            },
            "consumptionDetails": {"inputName": "input", "mechanism": "mount"},
        }
    ]
    links = ws.store.get_run_datasets(run.id)
    assert [(link.direction, link.name, link.source["paths"]) for link in links] == [
        ("input", "input", ["datasets/cifar10"])
    ]
    assert next(iter(Experiment(ws, "day1-experiment-data").get_runs())).id == run.id
    ws.close()
