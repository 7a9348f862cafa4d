"""Every process that logs to a run is stored, exactly once (issue 13 item 1).

A submitted script's spawned and forked workers, and the forked pool of an interactive
run, each write a journal of their own (``journal.<pid>.bin``); all are ingested into
the one run, each with its own offset. Before this, the workers wrote into the main
journal's mapping at the parent's position (fork) or over it (spawn) and most of their
points were lost while the run ended Completed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from runyard.core import Experiment, ScriptRunConfig
from runyard.entities import RunStatus

from .harness import TARGET, Project

PER_WORKER = 20_000

WORKERS_SCRIPT = """\
import multiprocessing as mp
import sys
from runyard.core import Run

PER_WORKER = int(sys.argv[2])


def work(name):
    run = Run.get_context()
    for i in range(PER_WORKER):
        run.log(name, i)


if __name__ == "__main__":
    method = sys.argv[1]
    run = Run.get_context()
    run.log("main", 1)
    ctx = mp.get_context(method)
    procs = [ctx.Process(target=work, args=(f"w{i}",)) for i in range(4)]
    for p in procs:
        p.start()
    work("parent")
    for p in procs:
        p.join()
        assert p.exitcode == 0, p.exitcode
"""

INTERACTIVE_SCRIPT = """\
import multiprocessing as mp
import sys
from runyard.core import Experiment, Workspace

ws = Workspace.from_config(sys.argv[1])
run = Experiment(ws, "interactive").start_logging()


def work(i):
    for j in range(1000):
        run.log("c", i * 1000 + j)
    return i


if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as pool:
        assert pool.map(work, range(10)) == list(range(10))
    run.log("parent", 1)
    run.complete()
    print(run.id)
"""


@pytest.fixture
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    proj = Project.create(tmp_path / "ws", slots=2)
    (proj.root / "src" / "workers.py").write_text(WORKERS_SCRIPT)
    yield proj
    proj.close()


def _exact(project: Project, run_id: str, key: str, n: int) -> None:
    series = project.store.get_metric_series(run_id, key)
    values = np.sort(np.asarray(series.values, dtype=np.int64))
    assert len(values) == n, f"{key}: {len(values)} points stored of {n}"
    assert np.array_equal(values, np.arange(n)), f"{key}: points lost or stored twice"


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_every_worker_process_of_a_submitted_run_is_stored_once(
    project: Project, method: str
) -> None:
    config = ScriptRunConfig(
        source_directory=str(project.root / "src"),
        script="workers.py",
        arguments=[method, PER_WORKER],
        compute_target=TARGET,
    )
    run = Experiment(project.ws, "workers").submit(config)
    project.runs.append(run.id)
    info = project.wait_terminal([run.id], timeout=180)[run.id]
    assert info.status is RunStatus.COMPLETED, project.logs(run.id)
    for key in ("w0", "w1", "w2", "w3", "parent"):
        _exact(project, run.id, key, PER_WORKER)
    assert list(project.store.get_metric_series(run.id, "main").values) == [1]
    journals = list(project.artifacts.run_dir(run.id).rglob("journal.*.bin"))
    assert len(journals) >= 4, journals  # one per worker process


def test_a_forked_pool_of_an_interactive_run_is_stored_once(project: Project) -> None:
    script = project.root / "interactive.py"
    script.write_text(textwrap.dedent(INTERACTIVE_SCRIPT))
    done = subprocess.run(
        [sys.executable, str(script), str(project.root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    info = project.store.get_run(run_id)
    assert info.status is RunStatus.COMPLETED
    _exact(project, run_id, "c", 10_000)
    assert list(project.store.get_metric_series(run_id, "parent").values) == [1]


@pytest.mark.soak
def test_soak_worker_processes_of_many_runs_are_stored_once(tmp_path: Path) -> None:
    """8 submitted runs (4 spawn, 4 fork), each with 4 workers and the parent logging
    50,000 points apiece, 2 at a time: every point of every process stored once."""
    from .harness import record

    runs, per = 8, 50_000
    project = Project.create(tmp_path / "ws", slots=2)
    try:
        (project.root / "src" / "workers.py").write_text(WORKERS_SCRIPT)
        ids = []
        for i in range(runs):
            config = ScriptRunConfig(
                source_directory=str(project.root / "src"),
                script="workers.py",
                arguments=["spawn" if i % 2 else "fork", per],
                compute_target=TARGET,
            )
            ids.append(Experiment(project.ws, "workers").submit(config).id)
        project.runs.extend(ids)
        ended = project.wait_terminal(ids, timeout=1800)
        statuses = [info.status.value for info in ended.values()]
        stored = 0
        for run_id in ids:
            assert ended[run_id].status is RunStatus.COMPLETED, project.logs(run_id)
            for key in ("w0", "w1", "w2", "w3", "parent"):
                _exact(project, run_id, key, per)
                stored += per
        record(
            "processes",
            runs=runs,
            processes_per_run=5,
            points_logged=runs * 5 * per,
            points_stored=stored,
            statuses={s: statuses.count(s) for s in set(statuses)},
        )
    finally:
        project.close()
