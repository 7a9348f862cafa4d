"""A sweep on the Ray target (issue 16): a real Ray head on loopback and a real studio
with a token. One node: a second `ray start --address=127.0.0.1:...` node does not join
here (Ray rewrites the loopback address to the machine's own IP, where the head's GCS
does not listen), so the two-node variant is not in this suite.
The controller runs here; each trial is a Ray job reporting home through the studio."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

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
from tests.support.ray_cluster import RayHead
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


@pytest.fixture(scope="module")
def studio(
    tmp_path_factory: pytest.TempPathFactory, ray_head: RayHead
) -> Iterator[tuple[Workspace, Store]]:
    ws = Workspace.create(tmp_path_factory.mktemp("ray-sweep-ws"), name="ray-sweep")
    server_store = open_store(ws.tracking_uri, artifact_root=ws.artifact_root)
    server = start_server(create_app(server_store, token=TOKEN))
    ComputeTarget.create(
        ws,
        "ray",
        RayCompute.provisioning_configuration(
            address=ray_head.address,
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
