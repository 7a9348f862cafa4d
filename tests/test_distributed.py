"""Distributed runs on one machine (issue 19): ranks started with torchrun's
environment, one log and one journal each, every rank's metrics in the one run, and one
failing rank stopping the others with its traceback as the run's error.

The script runs in the submitting interpreter (no environment to build), which has torch.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psutil
import pytest

from runyard.core import Experiment, Run, ScriptRunConfig, Workspace
from runyard.core.runconfig import (
    DistributedConfiguration,
    MpiConfiguration,
    PyTorchConfiguration,
    TensorflowConfiguration,
)
from runyard.entities import ComputeTargetConfig, RunStatus
from runyard.errors import ValidationError
from runyard.store.artifacts import DRIVER_LOG, LocalArtifactRepository

pytest.importorskip("torch")

DDP_SCRIPT = """\
import os, sys, time
import torch
import torch.distributed as dist
from runyard.core import Run

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
assert os.environ["LOCAL_WORLD_SIZE"] == str(world) and "TORCHELASTIC_RUN_ID" not in os.environ
run = Run.get_context()
total = torch.tensor([float(rank + 1)])
dist.all_reduce(total)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(20):
    opt.zero_grad()
    loss = model(torch.ones(8, 4) * (rank + 1)).pow(2).mean()
    loss.backward()
    opt.step()
    run.log("step", rank * 1000 + step)
run.log("sum", total.item())
run.log_list("ranks_seen", [rank, world])
print(f"rank {rank} of {world} all_reduce={total.item():g}", flush=True)
if sys.argv[1:] == ["fail"] and rank == 1:
    raise RuntimeError("rank one broke on purpose")
if sys.argv[1:] == ["hang"]:
    print(f"pid={os.getpid()}", flush=True)
    time.sleep(600)
dist.barrier()
dist.destroy_process_group()
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Workspace, Path]:
    ws = Workspace.create(tmp_path / "ws", name="dist")
    ws.add_compute_target(
        ComputeTargetConfig("pool", "local", 2, options={"cancel_grace_seconds": 2.0})
    )
    src = tmp_path / "src"
    src.mkdir()
    (src / "ddp.py").write_text(DDP_SCRIPT)
    return ws, src


def _submit(project: tuple[Workspace, Path], *args: str) -> Run:
    ws, src = project
    config = ScriptRunConfig(
        source_directory=str(src),
        script="ddp.py",
        arguments=list(args),
        compute_target="pool",
        distributed_job_config=PyTorchConfiguration(
            communication_backend="Gloo", process_count=2, node_count=1
        ),
    )
    return Experiment(ws, "ddp").submit(config)


def test_two_ranks_run_ddp_with_every_ranks_logs_and_metrics(
    project: tuple[Workspace, Path],
) -> None:
    ws = project[0]
    run = _submit(project)
    run.wait_for_completion(timeout=120)
    info = ws.store.get_run(run.id)
    files = ws.store.artifacts
    driver = files.read_bytes(info.run_id, DRIVER_LOG).decode()
    assert info.status is RunStatus.COMPLETED, (info.error, driver)
    for rank in (0, 1):
        own = files.read_bytes(info.run_id, f"user_logs/std_log_process_{rank}.txt").decode()
        assert f"rank {rank} of 2 all_reduce=3" in own
        assert f"[rank {rank}] rank {rank} of 2 all_reduce=3" in driver
    # Rank 0 under plain names; rank 1 under rank1/ and through rank=1.
    metrics = run.get_metrics()
    assert metrics["sum"] == 3.0 and metrics["step"] == list(range(20))
    assert not any(k.startswith("rank1/") for k in metrics)
    one = run.get_metrics(rank=1)
    assert one["sum"] == 3.0 and one["step"] == list(range(1000, 1020))
    assert one["ranks_seen"] == [1, 2]
    assert run.get_metrics("step", rank=1) == {"step": list(range(1000, 1020))}
    every = run.get_metrics(rank="all")
    assert sorted(every) == [0, 1] and every[1]["sum"] == 3.0
    assert ws.store.get_metric_series(info.run_id, "rank1/sum").values == [3.0]


def test_a_rank_that_raises_stops_the_others_and_is_the_error(
    project: tuple[Workspace, Path],
) -> None:
    ws = project[0]
    started = time.monotonic()
    run = _submit(project, "fail")
    run.wait_for_completion(timeout=120, raise_on_error=False)
    took = time.monotonic() - started
    info = ws.store.get_run(run.id)
    assert info.status is RunStatus.FAILED
    assert info.error is not None
    first, _, rest = info.error.partition("\n")
    # The raising rank exits 1, or, when a gloo thread is still up as the interpreter
    # ends, torch's C++ runtime aborts it ("terminate called without an active
    # exception"): either way the run names it, how it ended, and its traceback.
    ended = ("(exited with code 1)", "(killed by SIGABRT)")
    assert any(first.startswith(f"rank 1 of 2 failed first {how}") for how in ended), info.error
    assert rest.startswith("Traceback") and "RuntimeError: rank one broke on purpose" in rest
    # Rank 0 waited in a barrier for a rank that had gone: it was stopped, not left.
    assert took < 90, took


def test_cancel_stops_every_rank(project: tuple[Workspace, Path]) -> None:
    ws = project[0]
    run = _submit(project, "hang")
    files = ws.store.artifacts
    assert isinstance(files, LocalArtifactRepository)
    logs = [files.local_path(run.id, f"user_logs/std_log_process_{r}.txt") for r in (0, 1)]
    deadline = time.monotonic() + 120
    while not all(p.is_file() and "pid=" in p.read_text() for p in logs):
        assert time.monotonic() < deadline, "the ranks never started"
        time.sleep(0.05)
    pids = [int(p.read_text().split("pid=")[1].split()[0]) for p in logs]
    run.cancel()
    run.wait_for_completion(timeout=60, raise_on_error=False)
    assert ws.store.get_run(run.id).status is RunStatus.CANCELED
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.parametrize(
    ("distr", "words"),
    [
        (PyTorchConfiguration(process_count=4, node_count=2), "one machine is one node"),
        (PyTorchConfiguration(process_count=3, node_count=2), "split evenly"),
        (PyTorchConfiguration(process_count=1, node_count=2), "at least one process"),
        (TensorflowConfiguration(worker_count=2), "not TensorFlow parameter servers"),
    ],
)
def test_what_cannot_run_here_is_refused_at_submit(
    project: tuple[Workspace, Path], distr: DistributedConfiguration, words: str
) -> None:
    ws, src = project
    config = ScriptRunConfig(
        str(src), "ddp.py", compute_target="pool", distributed_job_config=distr
    )
    with pytest.raises(ValidationError, match=words):
        Experiment(ws, "ddp").submit(config)


MPI_SCRIPT = """\
import os, sys
from runyard.core import Run

rank = int(os.environ["RANK"])
run = Run.get_context()
for i in range(50):
    run.log("i", rank * 100 + i)
print(f"mpi rank {rank} of {os.environ['WORLD_SIZE']} ompi={os.environ['OMPI_COMM_WORLD_RANK']}")
if sys.argv[1:] == ["fail"] and rank == 1:
    raise ValueError("mpi rank one broke")
"""


@pytest.mark.skipif(
    shutil.which("mpirun") is None, reason="no mpirun here (apt-get install openmpi-bin)"
)
def test_mpi_ranks_through_mpirun(project: tuple[Workspace, Path]) -> None:
    ws, src = project
    (src / "mpi.py").write_text(MPI_SCRIPT)

    def submit(*args: str) -> Run:
        distr = MpiConfiguration(process_count_per_node=2)
        config = ScriptRunConfig(str(src), "mpi.py", arguments=list(args), compute_target="pool",
                                 distributed_job_config=distr)  # fmt: skip
        run = Experiment(ws, "mpi").submit(config)
        run.wait_for_completion(timeout=120, raise_on_error=False)
        return run

    run = submit()
    info = ws.store.get_run(run.id)
    driver = ws.store.artifacts.read_bytes(run.id, DRIVER_LOG).decode()
    assert info.status is RunStatus.COMPLETED, (info.error, driver)
    assert "[rank 1] mpi rank 1 of 2 ompi=1" in driver
    assert run.get_metrics()["i"] == list(range(50))
    assert run.get_metrics(rank=1)["i"] == list(range(100, 150))
    failed = ws.store.get_run(submit("fail").id)
    assert failed.status is RunStatus.FAILED and failed.error is not None
    assert failed.error.startswith("rank 1 of 2 failed first"), failed.error
    assert "ValueError: mpi rank one broke" in failed.error


def test_mpi_without_mpirun_is_refused_naming_the_fix(
    project: tuple[Workspace, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, src = project
    monkeypatch.setenv("PATH", str(src))  # a PATH without mpirun
    config = ScriptRunConfig(
        str(src), "ddp.py", compute_target="pool",
        distributed_job_config=MpiConfiguration(process_count_per_node=2),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="mpirun is not on the PATH: install an MPI"):
        Experiment(ws, "ddp").submit(config)


def test_rank_logs_that_appear_later_are_shipped_from_a_node(
    project: tuple[Workspace, Path], tmp_path: Path
) -> None:
    """A runner on a Ray node sends each rank's log to the run's files as it appears."""
    from runyard.runner.log_shipper import LogShipper
    from runyard.runner.paths import RunPaths
    from runyard.runner.remote import rank_logs

    ws = project[0]
    run = Experiment(ws, "ship").start_logging()
    paths = RunPaths(run.id, tmp_path / "node", staging=True)
    shipper = LogShipper(ws.store, run.id, [], print, lambda: rank_logs(paths))
    assert shipper.ship() and rank_logs(paths) == []
    folder = paths.driver_log.parent.parent / "user_logs"
    folder.mkdir(parents=True)
    for rank in (0, 1):
        (folder / f"std_log_process_{rank}.txt").write_text(f"line of rank {rank}\n")
    assert shipper.ship()
    with open(folder / "std_log_process_1.txt", "a") as f:
        f.write("second line\n")
    assert shipper.finish(time.monotonic() + 10)
    files = ws.store.artifacts
    assert files.read_bytes(run.id, "user_logs/std_log_process_0.txt") == b"line of rank 0\n"
    assert files.read_bytes(run.id, "user_logs/std_log_process_1.txt") == (
        b"line of rank 1\nsecond line\n"
    )
    run.complete()


def test_a_ranks_metric_names_leave_room_for_its_prefix(tmp_path: Path) -> None:
    """Rank 1's names are stored as rank1/<name>: one that would not fit is refused when
    logged (naming the limit), not at ingest, where its points would be stuck."""
    from runyard.config import MAX_NAME_LENGTH
    from runyard.tracking.journal import JournalWriter

    rank1 = JournalWriter(tmp_path / "journal.rank1.bin")
    rank1.log("x" * (MAX_NAME_LENGTH - len("rank1/")), 1.0)
    with pytest.raises(ValidationError, match="the limit here is 249"):
        rank1.log("y" * (MAX_NAME_LENGTH - 1), 1.0)
    rank1.log("loss", 2.0)  # later names still work
    rank1.close()
    rank0 = JournalWriter(tmp_path / "journal.bin")
    rank0.log("y" * MAX_NAME_LENGTH, 1.0)  # rank 0 and one-process runs: the full limit
    rank0.close()
