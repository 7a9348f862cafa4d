"""A sweep on the Ray target of a 2-node cluster (issue 16): a real head and a second
node joined with ``ray start --address``, both on loopback, a real studio with a token.
The controller runs here; each trial is a Ray job reporting home through the studio."""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'runyard[ray]'")

from runyard.core import ComputeTarget, Experiment, RayCompute, ScriptRunConfig, Workspace
from runyard.entities import RunStatus
from runyard.server import create_app
from runyard.store import open_store
from runyard.store.base import Store
from runyard.sweeps import spec as names
from runyard.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    PrimaryMetricGoal,
    choice,
)
from tests.support.ray_cluster import (
    _WORKER_PORTS,
    RayHead,
    RayStartError,
    _free_port,
    _free_range,
    ray_executable,
    start_ray_head,
)
from tests.support.server import start_server

pytestmark = pytest.mark.ray

TOKEN = "ray-sweep-token"
TRAIN = """
    import argparse
    from runyard.core import Run

    p = argparse.ArgumentParser()
    p.add_argument("--v", type=float)
    a = p.parse_args()
    run = Run.get_context()
    for i in range(3):
        run.log("acc", a.v * (i + 1) / 3)
"""


_WORKER_PORT_NAMES = (
    "node-manager-port",
    "object-manager-port",
    "metrics-export-port",
    "dashboard-agent-listen-port",
    "dashboard-agent-grpc-port",
    "runtime-env-agent-port",
)


def _alive_nodes(head: RayHead) -> int:
    try:
        answer = httpx.get(f"{head.address}/nodes?view=summary", timeout=2)
    except httpx.HTTPError:
        return 0
    if answer.status_code != 200:
        return 0
    summary = answer.json().get("data", {}).get("summary", [])
    return sum(1 for n in summary if n.get("raylet", {}).get("state") == "ALIVE")


def join_worker(head: RayHead, *, num_cpus: int = 2, timeout: float = 180.0) -> None:
    """A second node on loopback (``ray start --address``) with the head's environment,
    marker included, so ``head.stop()`` stops it too (by pid); waits until it is alive."""
    workers = _free_range(_WORKER_PORTS)
    argv = [
        ray_executable(), "start", "--block", f"--address=127.0.0.1:{head.ports['port']}",
        "--node-ip-address=127.0.0.1",
        *(f"--{name}={_free_port()}" for name in _WORKER_PORT_NAMES),
        f"--min-worker-port={workers}", f"--max-worker-port={workers + _WORKER_PORTS - 1}",
        f"--num-cpus={num_cpus}", "--object-store-memory=200000000",
        "--disable-usage-stats", "--include-log-monitor=false",
    ]  # fmt: skip
    log_path = head.temp_dir / "ray-worker.log"
    # The head's "0" (keep to loopback) also means "one node only" to `ray start --address`.
    env = {**head.env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout
    while _alive_nodes(head) < 2:
        if process.poll() is not None:
            raise RayStartError(
                f"`ray start --address` exited with {process.returncode}:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        if time.monotonic() > deadline:
            raise RayStartError(f"the Ray worker node did not join within {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayHead]:
    cache = tmp_path_factory.mktemp("ray-node-cache")
    head = start_ray_head(num_cpus=2, extra_env={"RUNYARD_CACHE_DIR": str(cache)}, timeout=180)
    try:
        join_worker(head, num_cpus=2)
        exposed = head.exposed()
        assert not exposed, "the Ray cluster listens beyond loopback: " + "; ".join(exposed)
        yield head
    finally:
        head.stop()


@pytest.fixture(scope="module")
def studio(
    tmp_path_factory: pytest.TempPathFactory, cluster: RayHead
) -> Iterator[tuple[Workspace, Store]]:
    ws = Workspace.create(tmp_path_factory.mktemp("ray-sweep-ws"), name="ray-sweep")
    server_store = open_store(ws.tracking_uri, artifact_root=ws.artifact_root)
    server = start_server(create_app(server_store, token=TOKEN))
    ComputeTarget.create(
        ws,
        "ray",
        RayCompute.provisioning_configuration(
            address=cluster.address,
            max_concurrent_runs=2,
            server_url=server.url,
            token=TOKEN,
            cancel_grace_seconds=3,
        ),
    )
    yield ws, server_store
    server.stop()
    server_store.close()
    ws.close()


def test_grid_sweep_of_four_trials_two_at_a_time_on_two_nodes(
    studio: tuple[Workspace, Store], tmp_path: Path
) -> None:
    ws, store = studio
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN))
    config = ScriptRunConfig(
        source_directory=str(tmp_path), script="train.py", compute_target="ray"
    )
    hd = HyperDriveConfig(
        run_config=config,
        hyperparameter_sampling=GridParameterSampling({"--v": choice(0.1, 0.2, 0.3, 0.4)}),
        primary_metric_name="acc",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=4,
        max_concurrent_runs=2,
    )
    run = Experiment(ws, "ray-sweep").submit(hd)
    assert isinstance(run, HyperDriveRun)
    run.wait_for_completion(timeout=300)
    info = store.get_run(run.id)
    assert info.status is RunStatus.COMPLETED, info.tags
    assert info.tags[names.TAG_ENDED_BECAUSE] == "all 4 trials finished"
    rows = run.get_children_sorted_by_primary_metric()
    assert [r["status"] for r in rows] == ["Completed"] * 4, rows
    assert [r["hyperparameters"]["--v"] for r in rows] == [0.4, 0.3, 0.2, 0.1]
    for r in rows:
        trial = store.get_run(r["run_id"])
        assert trial.compute_target == "ray"
        assert r["best_primary_metric"] == pytest.approx(r["hyperparameters"]["--v"])
        series = store.get_metric_series(r["run_id"], "acc")
        assert list(series.values) == pytest.approx(
            [r["hyperparameters"]["--v"] * k / 3 for k in (1, 2, 3)]
        )
    # Never more than 2 at once: no trial started before the one two places earlier ended.
    trials = sorted((store.get_run(r["run_id"]) for r in rows), key=lambda t: t.started_at or 0)
    for earlier, later in zip(trials, trials[2:], strict=False):
        assert earlier.ended_at is not None and later.started_at is not None
        assert later.started_at >= earlier.ended_at - 0.5, (earlier, later)
