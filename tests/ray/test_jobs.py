"""The Ray compute target end to end: a real Ray head on loopback, a real studio with a
token, a real workspace; runs go through Ray's job submission API and report home
through HttpStore."""

from __future__ import annotations

import re
import socket
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'runyard[ray]'")

from runyard.config import ENV_STUDIO_URL, ENV_TOKEN
from runyard.core import ComputeTarget, Experiment, RayCompute, Run, ScriptRunConfig, Workspace
from runyard.entities import RunStatus
from runyard.errors import ComputeError
from runyard.runner import ray_jobs
from runyard.server import create_app
from runyard.store import open_store
from runyard.store.base import Store
from tests.support.ray_cluster import RayHead
from tests.support.restart import start_server_on_port
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.ray

TOKEN = "ray-studio-token"


@dataclass
class Studio:
    """The workspace, and its studio that can be stopped and started again."""

    ws: Workspace
    server_store: Store
    app: Any
    server: RunningServer

    def restart_after(self, seconds: float) -> None:
        self.server.stop()
        time.sleep(seconds)  # the outage itself: the runner must ride it out
        self.server = start_server_on_port(self.app, self.server.port)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, ray_head: RayHead) -> Iterator[Studio]:
    ws = Workspace.create(tmp_path_factory.mktemp("ray-ws"), name="ray-ws")
    server_store = open_store(ws.tracking_uri, artifact_root=ws.artifact_root)
    app = create_app(server_store, token=TOKEN)
    state = Studio(ws, server_store, app, start_server(app))
    ComputeTarget.create(
        ws,
        "ray",
        RayCompute.provisioning_configuration(
            address=ray_head.address,
            max_concurrent_runs=2,
            server_url=state.server.url,
            token=TOKEN,
            cancel_grace_seconds=3,
        ),
    )
    yield state
    state.server.stop()
    server_store.close()
    ws.close()


def _submit(studio: Studio, tmp_path: Path, script: str, target: str = "ray", **kw: Any) -> Run:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "train.py").write_text(textwrap.dedent(script))
    experiment = Experiment(studio.ws, kw.pop("experiment", "ray-exp"))
    config = ScriptRunConfig(source_directory=str(source), script="train.py", compute_target=target)
    return experiment.submit(config)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


TUTORIAL = """
    import os
    from runyard.core import Run

    run = Run.get_context()
    for i in range(300):
        run.log("loss", 1.0 / (i + 1))
        if i % 50 == 0:
            print(f"step {i} loss {1.0 / (i + 1):.4f}", flush=True)
    run.log("accuracy", 0.93)
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/model.txt", "w") as f:
        f.write("weights")
    print("finished training", flush=True)
"""


def test_tutorial_script_completes_with_metrics_and_log(
    studio: Studio, ray_head: RayHead, tmp_path: Path
) -> None:
    run = _submit(studio, tmp_path, TUTORIAL)
    details = run.wait_for_completion(timeout=120, raise_on_error=False)
    assert run.get_status() == "Completed", details
    store = studio.ws.store
    series = store.get_metric_series(run.id, "loss")
    assert series.total_count == 300 and series.values[0] == 1.0
    assert store.get_metric_summaries(run.id)["accuracy"].last == 0.93
    log = run.get_driver_log()
    assert "step 250 loss" in log and log.count("finished training") == 1
    assert "outputs/model.txt" in run.get_file_names()
    info = store.get_run(run.id)
    assert info.owner is not None and info.exit_code == 0
    # Ray saw a job of its own for the run, and it succeeded.
    job_id = ray_jobs.submission_id(run.id)
    _wait_for(lambda: ray_jobs.state(ray_head.address, job_id).status == "SUCCEEDED", "the Ray job")


def test_failing_script_is_failed_with_its_error(studio: Studio, tmp_path: Path) -> None:
    run = _submit(studio, tmp_path, "print('about to fail', flush=True)\nraise ValueError('bad')\n")
    run.wait_for_completion(timeout=120, raise_on_error=False)
    info = studio.ws.store.get_run(run.id)
    assert info.status is RunStatus.FAILED and info.exit_code == 1
    assert info.error is not None and "ValueError: bad" in info.error
    assert "about to fail" in run.get_driver_log()


def test_cancel_stops_the_script(studio: Studio, tmp_path: Path) -> None:
    script = "import time\nprint('ready', flush=True)\nwhile True:\n    time.sleep(0.1)\n"
    run = _submit(studio, tmp_path, script)
    _wait_for(lambda: "ready" in run.get_driver_log(), "the script to start")
    started = time.monotonic()
    run.cancel()
    run.wait_for_completion(timeout=60, raise_on_error=False)
    info = studio.ws.store.get_run(run.id)
    assert info.status is RunStatus.CANCELED, info.error
    assert time.monotonic() - started < 30


def test_studio_outage_loses_nothing(studio: Studio, tmp_path: Path) -> None:
    """The studio goes away for 10 s while the run logs and prints, then comes back on
    the same port: every point and every line arrives, once."""
    n = 3000
    script = f"""
        import time
        from runyard.core import Run

        run = Run.get_context()
        for i in range({n}):
            run.log("x", i)
            if i % 100 == 0:
                print(f"line {{i}}", flush=True)
            time.sleep(0.005)
    """
    run = _submit(studio, tmp_path, script)
    store = studio.ws.store
    _wait_for(lambda: store.get_metric_series(run.id, "x").total_count > 0, "the first points")
    studio.restart_after(10)
    run.wait_for_completion(timeout=180, raise_on_error=False)
    info = store.get_run(run.id)
    assert info.status is RunStatus.COMPLETED, info.error
    series = store.get_metric_series(run.id, "x")
    assert series.total_count == n and list(series.values) == list(range(n))
    log = run.get_driver_log()
    assert [log.count(f"line {i}\n") for i in range(0, n, 100)] == [1] * (n // 100)


def test_queued_runs_start_when_a_slot_frees(
    studio: Studio, ray_head: RayHead, tmp_path: Path
) -> None:
    ComputeTarget.create(
        studio.ws,
        "ray-one",
        RayCompute.provisioning_configuration(
            address=ray_head.address,
            max_concurrent_runs=1,
            server_url=studio.server.url,
            token=TOKEN,
        ),
    )
    runs = [_submit(studio, tmp_path, f"print('run {i}')\n", target="ray-one") for i in range(3)]
    assert [r.get_status() for r in runs[1:]] == ["Queued", "Queued"]
    for run in runs:
        run.wait_for_completion(timeout=120, raise_on_error=False)
    assert [r.get_status() for r in runs] == ["Completed"] * 3


def test_a_job_that_cannot_start_fails_its_run_with_rays_message(
    studio: Studio, ray_head: RayHead, tmp_path: Path
) -> None:
    ComputeTarget.create(
        studio.ws,
        "ray-bad-python",
        RayCompute.provisioning_configuration(
            address=ray_head.address,
            server_url=studio.server.url,
            token=TOKEN,
            python="/nonexistent/bin/python3",
        ),
    )
    run = _submit(studio, tmp_path, "print('never')\n", target="ray-bad-python")
    run.wait_for_completion(timeout=60, raise_on_error=False)
    info = studio.ws.store.get_run(run.id)
    assert info.status is RunStatus.FAILED
    assert info.error is not None and "ended FAILED" in info.error
    assert "/nonexistent/bin/python3" in info.error  # the end of the job's log says why


def test_a_run_queued_behind_a_dead_job_starts(
    studio: Studio, ray_head: RayHead, tmp_path: Path
) -> None:
    """One slot; the first run's job dies before its runner starts (no runner, so none
    starts the queued run): the watcher that ends it starts the next one."""
    ComputeTarget.create(
        studio.ws,
        "ray-bad-one",
        RayCompute.provisioning_configuration(
            address=ray_head.address,
            max_concurrent_runs=1,
            server_url=studio.server.url,
            token=TOKEN,
            python="/nonexistent/bin/python3",
        ),
    )
    first, second = (_submit(studio, tmp_path, "print('x')\n", target="ray-bad-one") for _ in "ab")
    assert second.get_status() == "Queued"
    for run in (first, second):
        run.wait_for_completion(timeout=90, raise_on_error=False)
    for run in (first, second):
        info = studio.ws.store.get_run(run.id)
        assert info.status is RunStatus.FAILED and "ended FAILED" in (info.error or "")


def test_wrong_cluster_address_is_an_error_at_submit(studio: Studio, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ComputeTarget.create(
        studio.ws,
        "ray-nowhere",
        RayCompute.provisioning_configuration(
            address=f"http://127.0.0.1:{port}", server_url=studio.server.url, token=TOKEN
        ),
    )
    started = time.monotonic()
    where = re.escape(f"cannot reach the Ray cluster at http://127.0.0.1:{port}")
    with pytest.raises(ComputeError, match=where):
        _submit(studio, tmp_path, "print('x')\n", target="ray-nowhere", experiment="nowhere")
    assert time.monotonic() - started < 10
    assert list(Experiment(studio.ws, "nowhere").get_runs()) == []  # no run left behind


def test_missing_studio_token_is_an_error_at_submit(
    studio: Studio, ray_head: RayHead, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    monkeypatch.delenv(ENV_STUDIO_URL, raising=False)
    ComputeTarget.create(
        studio.ws, "ray-no-token", RayCompute.provisioning_configuration(address=ray_head.address)
    )
    with pytest.raises(ComputeError, match="runyard studio --token"):
        _submit(studio, tmp_path, "print('x')\n", target="ray-no-token", experiment="no-token")
    monkeypatch.setenv(ENV_TOKEN, "wrong-token")
    monkeypatch.setenv(ENV_STUDIO_URL, studio.server.url)
    with pytest.raises(ComputeError, match="refused the token"):
        _submit(studio, tmp_path, "print('x')\n", target="ray-no-token", experiment="no-token")
    assert list(Experiment(studio.ws, "no-token").get_runs()) == []


def test_without_ray_installed_the_error_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray.job_submission", None)  # import fails as if absent
    with pytest.raises(ComputeError, match=re.escape("pip install 'runyard[ray]'")):
        ray_jobs.job_client_class()


def test_placement_options_are_checked() -> None:
    from runyard.entities import ComputeTargetConfig
    from runyard.runner.ray_jobs import placement

    def target(**options: Any) -> ComputeTargetConfig:
        return ComputeTargetConfig(name="r", type="ray", address="http://x:8265", options=options)

    assert placement(target()) == {}
    asked = placement(target(entrypoint_num_cpus=0.5, entrypoint_resources={"trainer": 1}))
    assert asked == {"entrypoint_num_cpus": 0.5, "entrypoint_resources": {"trainer": 1}}
    for bad, says in (
        ({"entrypoint_num_cpus": "two"}, "must be a number >= 0"),
        ({"entrypoint_num_gpus": -1}, "must be a number >= 0"),
        ({"entrypoint_resources": {"trainer": "one"}}, "must map resource names to amounts"),
    ):
        with pytest.raises(ComputeError, match=says):
            placement(target(**bad))
