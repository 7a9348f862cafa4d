"""A rank of a distributed run SIGKILLed mid-run (issue 13 for issue 19's ranks).

What must hold: the run ends Failed naming the killed rank, the other ranks are stopped
(not left running), and no point is lost: every rank's store series holds at least as
many points as that rank had counted before the kill, each exactly once, in order.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runyard.core import Experiment, ScriptRunConfig
from runyard.core.runconfig import PyTorchConfiguration
from runyard.entities import RunStatus

from .harness import (
    TARGET,
    Project,
    is_count_up,
    pid_gone,
    process_if,
    read_count,
    record,
    sigkill,
    stored_values,
    wait_for,
)

# Each rank logs x = 0.0, 1.0, ... and, after each thousand, writes its count to
# <progress>.<rank> (and its pid to <progress>.<rank>.pid first): a count read from the
# file was logged before it was written, so the store must hold at least that many.
RANK_SCRIPT = """\
import os, signal, sys, time
from runyard.core import Run

if sys.argv[2] == "deaf":  # a rank that ignores SIGTERM is SIGKILLed after the grace
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
rank, progress = os.environ["RANK"], sys.argv[1] + "." + os.environ["RANK"]
run = Run.get_context()
with open(progress + ".pid.tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(progress + ".pid.tmp", progress + ".pid")
done = 0
while True:
    for i in range(done, done + 1000):
        run.log("x", float(i))
    done += 1000
    with open(progress + ".tmp", "w") as f:
        f.write(str(done))
    os.replace(progress + ".tmp", progress)
    time.sleep(0.02)
"""


@pytest.fixture
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    proj = Project.create(tmp_path / "ws", grace=1.0)
    (proj.root / "src" / "ranks.py").write_text(RANK_SCRIPT)
    yield proj
    proj.close()


@pytest.mark.parametrize("others", ["plain", "deaf"])
def test_a_sigkilled_rank_fails_the_run_stops_the_others_and_loses_no_point(
    project: Project, others: str
) -> None:
    progress = project.progress("ranks")
    config = ScriptRunConfig(
        source_directory=str(project.root / "src"),
        script="ranks.py",
        arguments=[str(progress), others],
        compute_target=TARGET,
        distributed_job_config=PyTorchConfiguration(process_count=3),
    )
    run = Experiment(project.ws, "rank-faults").submit(config)
    project.runs.append(run.id)
    counts = {r: Path(f"{progress}.{r}") for r in range(3)}
    wait_for(lambda: all(read_count(p) >= 3000 for p in counts.values()), 120, "3 ranks logging")
    victim = process_if(int(Path(f"{counts[1]}.pid").read_text()), "ranks.py")
    assert victim is not None
    survivors = [int(Path(f"{counts[r]}.pid").read_text()) for r in (0, 2)]
    killed_at = time.monotonic()
    assert sigkill(victim)
    before = {r: read_count(p) for r, p in counts.items()}  # counted before the kill
    wait_for(lambda: all(pid_gone(pid) for pid in survivors), 30, "the other ranks stopped")
    stopped_in = time.monotonic() - killed_at
    info = project.wait_terminal([run.id], timeout=60)[run.id]
    assert info.status is RunStatus.FAILED, project.logs(run.id)
    assert info.error is not None and info.error.startswith(
        "rank 1 of 3 failed first (killed by SIGKILL"
    ), info.error
    for rank in range(3):
        key = "x" if rank == 0 else f"rank{rank}/x"
        values = stored_values(project.store, run.id, key)
        assert len(values) >= before[rank], f"rank {rank}: {len(values)} of {before[rank]}"
        assert is_count_up(values), f"rank {rank}: points lost or stored twice"
    record(f"rank_sigkill_{others}", ranks=3, others_stopped_s=round(stopped_in, 2))
