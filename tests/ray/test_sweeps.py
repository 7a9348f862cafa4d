"""Sweeps on the Ray target (issue 16): the package's two-node Ray cluster on loopback
(tests/ray/conftest.py) and a real studio with a token. The controller runs here; each
trial is a Ray job reporting home through the studio: on the head, or on the worker node
for a target that asks for the worker's resource."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'runyard[ray]'")

from runyard.core import ComputeTarget, Experiment, RayCompute, ScriptRunConfig, Workspace
from runyard.entities import RunStatus
from runyard.store.base import Store
from runyard.sweeps import spec as names
from runyard.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    PrimaryMetricGoal,
    choice,
)
from tests.support.ray_cluster import RayHead
from tests.support.ray_studio import ray_workspace

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


@pytest.fixture(scope="module")
def studio(
    tmp_path_factory: pytest.TempPathFactory, ray_head: RayHead
) -> Iterator[tuple[Workspace, Store]]:
    folder = tmp_path_factory.mktemp("ray-sweep-ws")
    with ray_workspace(
        folder, ray_head, name="ray-sweep", target="ray", token=TOKEN, slots=2
    ) as ws:
        yield ws


def test_grid_sweep_of_four_trials_two_at_a_time_on_ray(
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


def test_a_sweep_whose_target_asks_for_the_worker_node_runs_there(
    studio: tuple[Workspace, Store], ray_head: RayHead, tmp_path: Path
) -> None:
    from ray.job_submission import JobSubmissionClient

    from runyard.runner.ray_jobs import submission_id
    from tests.ray.conftest import WORKER_RESOURCE

    ws, store = studio
    server_url = ws.config.compute_targets["ray"].options["server_url"]
    ComputeTarget.create(
        ws,
        "ray-worker",
        RayCompute.provisioning_configuration(
            address=ray_head.address,
            max_concurrent_runs=2,
            server_url=server_url,
            token=TOKEN,
            entrypoint_resources={WORKER_RESOURCE: 1},
        ),
    )
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN))
    hd = HyperDriveConfig(
        run_config=ScriptRunConfig(
            source_directory=str(tmp_path), script="train.py", compute_target="ray-worker"
        ),
        hyperparameter_sampling=GridParameterSampling({"--v": choice(0.5, 0.7)}),
        primary_metric_name="acc",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=2,
        max_concurrent_runs=2,
    )
    run = Experiment(ws, "ray-two-nodes").submit(hd)
    run.wait_for_completion(timeout=300)
    assert store.get_run(run.id).status is RunStatus.COMPLETED
    rows = run.get_children_sorted_by_primary_metric()
    assert [r["hyperparameters"]["--v"] for r in rows] == [0.7, 0.5]
    nodes = {
        n["raylet"]["nodeId"]: n["raylet"]["isHeadNode"] for n in ray_head_nodes(ray_head.address)
    }
    assert len(nodes) == 2
    (worker,) = (node for node, is_head in nodes.items() if not is_head)
    jobs = JobSubmissionClient(ray_head.address)
    for r in rows:
        assert store.get_run(r["run_id"]).status is RunStatus.COMPLETED
        info = jobs.get_job_info(submission_id(r["run_id"]))
        assert info.driver_node_id == worker, (r["run_id"], info.driver_node_id, nodes)


def ray_head_nodes(address: str) -> list[dict[str, Any]]:
    import httpx

    summary = httpx.get(f"{address}/nodes?view=summary", timeout=10).json()["data"]["summary"]
    return [n for n in summary if n.get("raylet", {}).get("state") == "ALIVE"]
