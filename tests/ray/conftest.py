"""One two-node Ray cluster on loopback for every test in this folder (started by the
first test that asks, stopped after the last: a head takes ~15 s to start and ~7 s to
stop here): the head, and a worker node joined with `ray start --address=127.0.0.1:PORT`
that alone has the custom resource ``runyard_worker`` (2), so a target asking for it
(``entrypoint_resources``) runs its jobs there. Every process must listen on loopback
only, before and after the tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'runyard[ray]'")

from tests.support.ray_cluster import RayHead, add_ray_worker, start_ray_head

WORKER_RESOURCE = "runyard_worker"
# A datastore whose keys the nodes hold in their environment, as a cluster's admin
# would give them (test_node_cache.py); moto takes any keys.
NODE_DATASTORE = "nodes3"
NODE_KEYS = {
    "RUNYARD_DATASTORE_NODES3_KEY": "testing",
    "RUNYARD_DATASTORE_NODES3_SECRET": "testing",
}


@pytest.fixture(scope="package")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayHead]:
    cache = tmp_path_factory.mktemp("ray-node-cache")
    head = start_ray_head(
        num_cpus=2, extra_env={"RUNYARD_CACHE_DIR": str(cache), **NODE_KEYS}, timeout=180
    )
    try:
        add_ray_worker(head, num_cpus=2, resources=json.dumps({WORKER_RESOURCE: 2}))
    except BaseException:
        head.stop()
        raise
    exposed = head.exposed()
    if exposed:
        head.stop()
        pytest.fail("the Ray cluster listens beyond loopback: " + "; ".join(exposed))
    yield head
    exposed = head.exposed()
    head.stop()
    assert not exposed, "the Ray cluster listened beyond loopback: " + "; ".join(exposed)
