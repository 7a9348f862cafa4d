"""The tutorial end to end: the real control script submits the real training script
to a `cpu-cluster` target in the curated PyTorch environment; the run trains on a tiny
archive in CIFAR-10's exact format, and the studio serves its loss."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from runyard.core import ComputeTarget, LocalCompute, Run, Workspace
from runyard.store.artifacts import DRIVER_LOG
from tests.support.server import running_server
from tests.test_example_cifar10 import _tiny_batches, _write_batches

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cifar10-tutorial"
LOSS_LINE = re.compile(r"^epoch=1, batch=\s+\d+: loss \d+\.\d\d$", re.MULTILINE)

pytestmark = pytest.mark.slow


@pytest.fixture
def tutorial(tmp_path: Path) -> tuple[Path, Workspace]:
    folder = tmp_path / "tutorial"
    shutil.copytree(EXAMPLE / "src", folder / "src")
    shutil.copy(EXAMPLE / "run-pytorch.py", folder)
    ws = Workspace.create(folder, name="tutorial")
    ComputeTarget.create(
        ws, "cpu-cluster", LocalCompute.provisioning_configuration(max_concurrent_runs=2)
    )
    pytest.importorskip("numpy")
    _write_batches(folder / "data" / "cifar-10-batches-py", _tiny_batches())
    return folder, ws


def test_control_script_runs_the_tutorial(tutorial: tuple[Path, Workspace]) -> None:
    folder, ws = tutorial
    proc = subprocess.run(
        [sys.executable, "run-pytorch.py", "--wait", "--limit", "40", "--epochs", "1",
         "--log-every", "5", "--seed", "0"],
        cwd=folder, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    url = re.search(r"http://\S+/runs/(\S+)", proc.stdout)
    assert url, proc.stdout
    run = Run.get(ws, url.group(1))
    assert run.get_status() == "Completed"
    # The control script streamed the training output.
    assert len(LOSS_LINE.findall(proc.stdout)) == 2

    metrics = run.get_metrics()
    assert len(metrics["loss"]) == 2  # 40 images, batch size 4, every 5 batches
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["lr"] == pytest.approx(0.001)
    log = ws.store.artifacts.read_bytes(run.id, DRIVER_LOG).decode()
    assert len(LOSS_LINE.findall(log)) == 2 and "Finished Training" in log
    details = run.get_details()
    env = details["runDefinition"]["environment"]
    assert env["name"] == "Runyard-PyTorch-CPU"
    assert "system_logs/environment_build.log" in run.get_file_names()

    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(folder / "src"))
    try:
        from model import Net  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(folder / "src"))
    weights = run.download_file("outputs/model.pt", folder / "model.pt")
    net = Net()
    net.load_state_dict(torch.load(weights, weights_only=True))

    from runyard.server import create_app

    with running_server(create_app(ws.store, token="t")) as server:
        series = httpx.get(f"{server.url}/api/runs/{run.id}/metrics/loss").json()
    assert series["values"] == pytest.approx(metrics["loss"])


def test_corrupt_archive_is_a_clear_error(tutorial: tuple[Path, Workspace]) -> None:
    folder, _ = tutorial
    shutil.rmtree(folder / "data")
    (folder / "data").mkdir()
    (folder / "data" / "cifar-10-python.tar.gz").write_bytes(b"not a tarball")
    proc = subprocess.run(
        [sys.executable, str(folder / "src" / "train.py"), "--data-path", str(folder / "data")],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "corrupt" in proc.stderr.lower() and "cifar-10-python.tar.gz" in proc.stderr
    assert "Traceback" not in proc.stderr
