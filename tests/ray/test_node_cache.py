"""Dataset inputs on a Ray node (issue 15): an S3 dataset (moto's server on loopback) read
by two runs on the Ray target comes through the node's own content cache: the second run
gets the very files the first fetched (the same inodes), and the node's credentials come
from its environment (``RUNYARD_DATASTORE_<NAME>_KEY``), never from the run."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'runyard[ray]'")
pytest.importorskip("s3fs")
pytest.importorskip("moto")

from runyard.core import Dataset, Datastore, Experiment, ScriptRunConfig
from tests.ray.conftest import NODE_DATASTORE
from tests.support.ray_cluster import RayHead
from tests.support.ray_studio import ray_workspace
from tests.support.s3 import moto_server

pytestmark = pytest.mark.ray

READ = """
    import os, sys
    from runyard.core import Run
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs)
    run = Run.get_context()
    run.log("files", len(files))
    run.log("bytes", sum(os.path.getsize(f) for f in files))
    run.log_list("inodes", [os.stat(f).st_ino for f in files])
"""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


def test_a_dataset_read_twice_on_a_node_is_fetched_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_head: RayHead, endpoint: str
) -> None:
    import fsspec

    monkeypatch.setenv("RUNYARD_CACHE_DIR", str(tmp_path / "here-cache"))
    monkeypatch.setenv("RUNYARD_SECRETS_FILE", str(tmp_path / "secrets.json"))
    fs = fsspec.filesystem("s3", key="testing", secret="testing", endpoint_url=endpoint)
    fs.mkdir("nodecache")
    data = tmp_path / "data"
    for i in range(6):
        (data / f"part{i % 2}").mkdir(parents=True, exist_ok=True)
        (data / f"part{i % 2}" / f"{i}.bin").write_bytes(bytes([i]) * (1000 + i))
    with ray_workspace(
        tmp_path / "ws", ray_head, name="nodecache", target="ray", token="nc-token", slots=1
    ) as (ws, _):
        store = Datastore.register_s3(
            ws, NODE_DATASTORE, "nodecache", endpoint_url=endpoint, region="us-east-1",
            access_key_id="testing", secret_access_key="testing",
        )  # fmt: skip
        store.upload(str(data), target_path="set", show_progress=False)
        ds = Dataset.File.from_files(path=(store, "set")).register(ws, "nodeset")
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "read.py").write_text(textwrap.dedent(READ))
        runs = []
        for _ in range(2):
            config = ScriptRunConfig(
                source_directory=str(tmp_path / "src"), script="read.py", compute_target="ray",
                arguments=[ds.as_named_input("data").as_download()],
            )  # fmt: skip
            run = Experiment(ws, "nodecache").submit(config)
            run.wait_for_completion(timeout=300, raise_on_error=False)
            assert run.get_status() == "Completed", run.get_details().get("error")
            runs.append(run.get_metrics())
    first, second = runs
    assert first["files"] == second["files"] == 6
    assert first["bytes"] == sum(1000 + i for i in range(6))
    assert first["inodes"] == second["inodes"]  # the node's cached copies, not a refetch
    node_cache = Path(ray_head.env["RUNYARD_CACHE_DIR"]) / "datasets" / "blobs"
    assert len(list(node_cache.glob("*/*"))) >= 6
    # The keys were the node's: the run's definition and logs never carried them.
    assert "testing" not in run.get_driver_log()
