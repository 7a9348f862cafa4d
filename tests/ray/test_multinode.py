"""A distributed run over the two nodes of the loopback Ray cluster (issue 19): 2 nodes
x 2 ranks of gloo DDP, rank group 0 on the runner's node and group 1 started by an agent
on the other; every rank's metrics and log in the one run, system metrics per node, and
a rank failing on the other node stopping every rank with its traceback as the error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'runyard[ray]'")
pytest.importorskip("torch")

from runyard.core import Experiment, Run, ScriptRunConfig, Workspace
from runyard.core.runconfig import PyTorchConfiguration
from runyard.entities import RunStatus
from runyard.store.artifacts import DRIVER_LOG
from tests.support.ray_cluster import RayHead
from tests.support.ray_studio import ray_workspace

pytestmark = pytest.mark.ray

TOKEN = "multinode-token"

DDP = """\
import os, socket, sys, time
import torch
import torch.distributed as dist
from runyard.core import Run

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
node = int(os.environ["GROUP_RANK"])
assert os.environ["LOCAL_WORLD_SIZE"] == "2" and int(os.environ["LOCAL_RANK"]) == rank % 2
run = Run.get_context()
total = torch.tensor([float(rank + 1)])
dist.all_reduce(total)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(10):
    opt.zero_grad()
    model(torch.ones(8, 4) * (rank + 1)).pow(2).mean().backward()
    opt.step()
    run.log("step", rank * 1000 + step)
run.log("sum", total.item())
run.log("node", node)
run.log("runner_pid_here", os.getppid())
print(f"rank {rank} of {world} on node {node} all_reduce={total.item():g}", flush=True)
if sys.argv[1:] == ["fail"]:
    if rank == 3:
        run.log("failing_at", time.time())
        run.flush()
        raise RuntimeError("rank three broke on purpose")
    time.sleep(600)  # the others wait: only the runner can stop them
if sys.argv[1:] == ["hang"]:
    time.sleep(600)
dist.barrier()
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, ray_head: RayHead) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("multinode-ws")
    with ray_workspace(
        folder, ray_head, name="multinode", target="ray-cluster", token=TOKEN, slots=1
    ) as (workspace, _):
        yield workspace


def _submit(ws: Workspace, tmp_path: Path, *args: str) -> Run:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "train_ddp.py").write_text(DDP)
    distr = PyTorchConfiguration(communication_backend="Gloo", process_count=4, node_count=2)
    config = ScriptRunConfig(
        source_directory=str(src), script="train_ddp.py", arguments=list(args),
        compute_target="ray-cluster", distributed_job_config=distr,
    )  # fmt: skip
    return Experiment(ws, "multinode").submit(config)


def test_two_nodes_of_two_ranks_make_one_run(
    ws: Workspace, tmp_path: Path, ray_head: RayHead
) -> None:
    run = _submit(ws, tmp_path)
    run.wait_for_completion(timeout=600, raise_on_error=False)
    details = run.get_details()
    assert run.get_status() == "Completed", (details.get("error"), run.get_driver_log())
    everyone = run.get_metrics(rank="all")
    assert sorted(everyone) == [0, 1, 2, 3]
    for rank, metrics in everyone.items():
        assert metrics["sum"] == 10.0  # 1 + 2 + 3 + 4: every rank took part
        assert metrics["node"] == rank // 2
        assert metrics["step"] == [rank * 1000 + s for s in range(10)]
    # Group 1 had a runner of its own: its ranks' parent is not the run's runner's.
    assert everyone[2]["runner_pid_here"] == everyone[3]["runner_pid_here"]
    assert everyone[0]["runner_pid_here"] != everyone[2]["runner_pid_here"]
    names = run.get_file_names()
    for rank in range(4):
        name = f"user_logs/std_log_process_{rank}.txt"
        assert name in names
        path = run.download_file(name, str(tmp_path / f"rank{rank}.txt"))
        assert f"rank {rank} of 4 on node {rank // 2} all_reduce=10" in path.read_text()
    driver = run.get_driver_log()
    assert "[rank 3] rank 3 of 4 on node 1" in driver and DRIVER_LOG in names
    system = [k for k in ws.store.get_metric_summaries(run.id) if k.startswith("system/")]
    for node in (0, 1):
        assert f"system/node{node}/cpu_percent" in system, system
    # The run's placement group is given back once its agents are done.
    assert _placement_states(ray_head, run.id) == ["REMOVED"]


def _placement_states(ray_head: RayHead, run_id: str) -> list[str]:
    from ray.util.state import list_placement_groups

    found = list_placement_groups(
        address=ray_head.address, filters=[("name", "=", f"runyard-{run_id}")], detail=True
    )
    return [str(pg.state) for pg in found]


def test_a_rank_failing_on_the_other_node_stops_every_rank(ws: Workspace, tmp_path: Path) -> None:
    run = _submit(ws, tmp_path, "fail")
    run.wait_for_completion(timeout=500, raise_on_error=False)  # the others sleep 600 s
    info = ws.store.get_run(run.id)
    assert info.status is RunStatus.FAILED, run.get_driver_log()
    assert info.error is not None
    assert info.error.startswith("rank 3 of 4 failed first"), info.error
    assert "RuntimeError: rank three broke on purpose" in info.error
    failing_at = run.get_metrics(rank=3)["failing_at"]
    assert info.ended_at is not None
    took = info.ended_at - failing_at
    assert took < 60, took  # every rank within 30 s; room for a slow box


@pytest.mark.soak  # a minute more of four torch ranks; the stop path is the failure test's
def test_cancel_stops_the_ranks_on_every_node(ws: Workspace, tmp_path: Path) -> None:
    run = _submit(ws, tmp_path, "hang")
    deadline = time.monotonic() + 500
    while "node" not in run.get_metrics(rank=3):  # the other node's ranks run
        assert time.monotonic() < deadline, run.get_driver_log()
        assert not ws.store.get_run(run.id).status.is_terminal(), run.get_driver_log()
        time.sleep(0.2)
    asked = time.monotonic()
    run.cancel()
    run.wait_for_completion(timeout=120, raise_on_error=False)
    assert ws.store.get_run(run.id).status is RunStatus.CANCELED
    assert time.monotonic() - asked < 60  # the 3 s grace; the ranks sleep 600 s
