"""The SDK-v1 set-up and hello-world scripts, unchanged, on a workspace that names a Ray
cluster: ``AmlCompute`` becomes a Ray target, and the run goes through a real Ray head
on loopback and reports to a real studio."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'runyard[ray]'")

from runyard.core.compute import AmlCompute, ComputeTarget
from runyard.server import create_app
from runyard.store import open_store
from tests.sdk_v1.harness import make_project
from tests.support.ray_cluster import RayHead
from tests.support.server import start_server

pytestmark = pytest.mark.ray

TOKEN = "sdk-v1-ray-token"


def test_aml_compute_on_the_workspaces_ray_cluster(tmp_path: Path, ray_head: RayHead) -> None:
    project = make_project(tmp_path, "hello", cluster=False)
    ws = project.workspace()
    store = open_store(ws.tracking_uri, artifact_root=ws.artifact_root)
    server = start_server(create_app(store, token=TOKEN))
    try:
        ws.use_ray_cluster(ray_head.address, server_url=server.url, token=TOKEN)
        created = project.run("create_compute.py")
        assert f"on the Ray cluster at {ray_head.address}" in created.stdout
        target = ComputeTarget(workspace=project.workspace(), name="cpu-cluster")
        assert type(target) is AmlCompute and target.type == "ray" and target.max_nodes == 4

        proc = project.run("run-hello.py")
        assert "Hello world!" in proc.stdout
        run = project.run_from_url(proc.stdout)
        assert run.get_status() == "Completed"
        assert run.get_details()["target"] == "cpu-cluster"
    finally:
        server.stop()
        store.close()
