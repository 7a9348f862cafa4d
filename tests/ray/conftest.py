"""One Ray head on loopback for every test in this folder (started by the first test
that asks, stopped after the last: a head takes ~15 s to start and ~7 s to stop here).
It must listen on loopback only, before and after the tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'runyard[ray]'")

from tests.support.ray_cluster import RayHead, start_ray_head


@pytest.fixture(scope="package")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayHead]:
    cache = tmp_path_factory.mktemp("ray-node-cache")
    head = start_ray_head(num_cpus=2, extra_env={"RUNYARD_CACHE_DIR": str(cache)}, timeout=180)
    exposed = head.exposed()
    if exposed:
        head.stop()
        pytest.fail("the Ray head listens beyond loopback: " + "; ".join(exposed))
    yield head
    exposed = head.exposed()
    head.stop()
    assert not exposed, "the Ray head listened beyond loopback: " + "; ".join(exposed)
