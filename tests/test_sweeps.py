"""Sweeps end to end on local compute: real controller processes, real runners, tiny
trial scripts run by the submitting interpreter (no environment builds)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard.core import Experiment, ScriptRunConfig, Workspace
from runyard.core.compute_target import LocalCompute
from runyard.entities import RunStatus
from runyard.sweeps import spec as names
from runyard.sweeps.launch import controller_alive
from runyard.train.hyperdrive import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    uniform,
)
from runyard.workspace.owner import local_pid

TRAIN = """
import argparse, sys, time
from runyard.core import Run
p = argparse.ArgumentParser()
p.add_argument("--mode", default="ok")
p.add_argument("--v", type=float, default=1.0)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--sleep", type=float, default=0.0)
a = p.parse_args()
run = Run.get_context()
if a.mode == "fail":
    raise RuntimeError("trial failed on purpose")
for i in range(a.epochs):
    if a.mode == "ok":
        run.log("acc", a.v * (i + 1) / a.epochs)
    time.sleep(a.sleep)
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "ws", name="ws")
    LocalCompute.create(ws, "cpu4", LocalCompute.provisioning_configuration(max_concurrent_runs=4))
    return ws


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(TRAIN)
    return folder


def _config(src: Path, sampling: object, *args: str, **kwargs: object) -> HyperDriveConfig:
    run_config = ScriptRunConfig(
        source_directory=src, script="train.py", arguments=list(args), compute_target="cpu4"
    )
    kwargs.setdefault("primary_metric_name", "acc")
    kwargs.setdefault("primary_metric_goal", PrimaryMetricGoal.MAXIMIZE)
    return HyperDriveConfig(run_config=run_config, hyperparameter_sampling=sampling, **kwargs)  # type: ignore[arg-type]


def _poll(check: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _statuses(run: HyperDriveRun) -> dict[str, str]:
    return {r["run_id"]: r["status"] for r in run.get_children_sorted_by_primary_metric()}


def test_grid_runs_every_point_once_and_failures_fail_alone(
    ws: Workspace, src: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sampling = GridParameterSampling(
        {"--mode": choice("ok", "nometric", "fail"), "--v": choice(1, 2)}
    )
    hd = _config(src, sampling, max_total_runs=20, max_concurrent_runs=3)
    run = Experiment(ws, "grid").submit(hd)
    assert isinstance(run, HyperDriveRun)
    run.wait_for_completion(show_output=True, timeout=180)
    out = capsys.readouterr().out
    assert "never logged" in out and "ended because: all 6 trials finished" in out
    info = run.info
    assert info.status is RunStatus.COMPLETED
    rows = run.get_children_sorted_by_primary_metric()
    assert len(rows) == 6 and sorted(r["trial"] for r in rows) == list(range(6))
    params = sorted((r["hyperparameters"]["--mode"], r["hyperparameters"]["--v"]) for r in rows)
    assert params == sorted((m, v) for m in ("ok", "nometric", "fail") for v in (1, 2))
    by_mode = {(r["hyperparameters"]["--mode"], r["hyperparameters"]["--v"]): r for r in rows}
    assert by_mode[("fail", 1)]["status"] == "Failed"
    assert "trial failed on purpose" in by_mode[("fail", 1)]["end_reason"]
    assert by_mode[("nometric", 2)]["status"] == "Completed"
    assert by_mode[("nometric", 2)]["no_primary_metric"] is True
    assert rows[0]["hyperparameters"] == {"--mode": "ok", "--v": 2}
    assert rows[0]["best_primary_metric"] == 2.0
    best = run.get_best_run_by_primary_metric()
    assert best is not None and best.id == rows[0]["run_id"] == info.tags[names.TAG_BEST_RUN]
    hyper = run.get_hyperparameters()
    assert set(hyper) == {r["run_id"] for r in rows}
    assert (
        run.get_children_sorted_by_primary_metric(top=2, discard_no_metric=True)[1][
            "best_primary_metric"
        ]
        == 1.0
    )
    assert not controller_alive(ws.artifact_root, run.id)


def test_bandit_stops_the_losing_trial(ws: Workspace, src: Path) -> None:
    sampling = GridParameterSampling({"--v": choice(1.0, 0.05)})
    policy = BanditPolicy(evaluation_interval=1, slack_factor=0.5, delay_evaluation=3)
    hd = _config(
        src,
        sampling,
        "--epochs",
        "60",
        "--sleep",
        "0.1",
        policy=policy,
        max_total_runs=2,
        max_concurrent_runs=2,
    )
    run = Experiment(ws, "bandit").submit(hd)
    run.wait_for_completion(timeout=180)
    rows = {r["hyperparameters"]["--v"]: r for r in run.get_children_sorted_by_primary_metric()}
    assert rows[1.0]["status"] == "Completed" and rows[1.0]["end_reason"] == "completed"
    loser = rows[0.05]
    assert loser["status"] == "Canceled", loser
    assert "early-terminated: BanditPolicy at interval" in loser["end_reason"]
    assert loser["intervals"] < 60


def test_random_sweep_runs_exactly_max_total_runs_four_at_a_time(ws: Workspace, src: Path) -> None:
    _eight_trials_four_at_a_time(ws, src)


@pytest.mark.postgres
def test_random_sweep_on_postgresql(tmp_path: Path, src: Path, postgres_db_url: str) -> None:
    ws = Workspace.create(tmp_path / "pg", name="pg", tracking_uri=postgres_db_url)
    LocalCompute.create(ws, "cpu4", LocalCompute.provisioning_configuration(max_concurrent_runs=4))
    _eight_trials_four_at_a_time(ws, src)


def _eight_trials_four_at_a_time(ws: Workspace, src: Path) -> None:
    sampling = RandomParameterSampling({"--v": uniform(0.1, 1.0)}, properties={"rngseed": 1})
    hd = _config(src, sampling, "--sleep", "0.05", max_total_runs=8, max_concurrent_runs=4)
    run = Experiment(ws, "random").submit(hd)
    most = 0
    while not run.info.status.is_terminal():
        active = [
            s for s in _statuses(run).values() if s not in ("Completed", "Failed", "Canceled")
        ]
        most = max(most, len(active))
        assert len(active) <= 4
        time.sleep(0.1)
    rows = run.get_children_sorted_by_primary_metric()
    assert len(rows) == 8 and all(r["status"] == "Completed" for r in rows)
    assert len({r["hyperparameters"]["--v"] for r in rows}) == 8
    assert most >= 2
    logs = "".join(
        p.read_text(errors="replace") for p in (ws.artifact_root / "runs").rglob("*.log")
    )
    assert "database is locked" not in logs


def test_killed_controller_resumes_on_workspace_open(ws: Workspace, src: Path) -> None:
    sampling = RandomParameterSampling({"--v": uniform(0.1, 1.0)}, properties={"rngseed": 2})
    hd = _config(
        src, sampling, "--epochs", "5", "--sleep", "0.2", max_total_runs=6, max_concurrent_runs=2
    )
    run = Experiment(ws, "resume").submit(hd)
    _poll(lambda: len(_statuses(run)) >= 2 and run.info.owner is not None)
    pid = local_pid(run.info.owner)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _poll(lambda: not controller_alive(ws.artifact_root, run.id))
    seen = len(_statuses(run))
    time.sleep(1.0)
    assert len(_statuses(run)) == seen  # nobody starts trials while it is dead
    assert run.info.status is RunStatus.RUNNING  # not reaped as a dead run
    reopened = Workspace.from_config(ws.config_path)
    assert reopened.store is not None  # opening the store resumes the controller
    resumed = HyperDriveRun(reopened.store, run.id, workspace=reopened)
    resumed.wait_for_completion(timeout=180)
    rows = resumed.get_children_sorted_by_primary_metric()
    assert sorted(r["trial"] for r in rows) == list(range(6))
    # Killed between claiming a trial and starting its runner, the controller leaves that
    # trial to the reaper: it fails ("no heartbeat"), and the sweep goes on without it.
    lost = [r for r in rows if r["status"] != "Completed"]
    assert len(lost) <= 1 and all(r["status"] == "Failed" for r in lost), rows
    # The resumed sampler proposed what the dead one would have: the same seeded draws.
    from runyard.sweeps.samplers import RandomSampler

    expected = RandomSampler({"--v": uniform(0.1, 1.0)}, 2)
    by_trial = {r["trial"]: r["hyperparameters"] for r in rows}
    assert all(by_trial[i] == expected.propose(i, []) for i in range(6))


def test_a_resumed_controller_starts_the_trials_its_predecessor_only_created(
    ws: Workspace, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A controller killed after creating trials and before dispatching them leaves them
    Queued with no runner (the race behind a flaky resume test: the kill came right after
    the second trial was stored). That state is made here on purpose: the sweep is
    submitted with no controller started, and the trials are created as a controller
    creates them; the controller then resumed must start them."""
    import runyard.sweeps.submit as submit_mod
    from runyard.sweeps.controller import Controller
    from runyard.sweeps.launch import resume

    started: list[str] = []
    monkeypatch.setattr(submit_mod, "start_controller", lambda _config, sid: started.append(sid))
    sampling = GridParameterSampling({"--v": choice(0.25, 0.75)})
    run = Experiment(ws, "stranded").submit(_config(src, sampling, max_concurrent_runs=2))
    assert started == [run.id]
    assert ws.store is not None
    controller = Controller(ws.store, ws.config_path, run.id)
    controller._create_trial(0, {"--v": 0.25}, None)
    controller._create_trial(1, {"--v": 0.75}, None)
    assert set(_statuses(run).values()) == {"Queued"}
    assert resume(ws.store, ws.config_path, run.id)
    run.wait_for_completion(timeout=60)  # seconds in practice; for ever before the fix
    assert set(_statuses(run).values()) == {"Completed"}


def test_a_trial_claimed_but_never_started_does_not_hold_the_sweep(
    ws: Workspace, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other window of a killed controller: a trial claimed (Preparing) whose runner
    was never started. The resumed controller dispatches while it waits, so the reaper
    fails that trial after the heartbeat timeout, and the sweep ends."""
    import runyard.sweeps.submit as submit_mod
    from runyard.sweeps.controller import Controller
    from runyard.sweeps.launch import resume

    monkeypatch.setattr(submit_mod, "start_controller", lambda _config, _sid: None)
    monkeypatch.setenv("RUNYARD_HEARTBEAT_TIMEOUT_S", "5")  # the resumed controller's
    sampling = GridParameterSampling({"--v": choice(0.25, 0.75)})
    run = Experiment(ws, "claimed").submit(_config(src, sampling, max_concurrent_runs=2))
    assert ws.store is not None
    controller = Controller(ws.store, ws.config_path, run.id)
    controller._create_trial(0, {"--v": 0.25}, None)
    controller._create_trial(1, {"--v": 0.75}, None)
    stranded = ws.store.claim_next_queued("cpu4", 4)  # as the killed controller's dispatch
    assert stranded is not None and stranded.owner is None
    assert resume(ws.store, ws.config_path, run.id)
    run.wait_for_completion(timeout=90)  # for ever before the fix
    statuses = _statuses(run)
    assert statuses.pop(stranded.run_id) == "Failed"
    assert set(statuses.values()) == {"Completed"}
    assert "no heartbeat" in (ws.store.get_run(stranded.run_id).error or "")


def test_cancel_cancels_every_trial(ws: Workspace, src: Path) -> None:
    sampling = RandomParameterSampling({"--v": uniform(0.1, 1.0)})
    hd = _config(
        src, sampling, "--epochs", "300", "--sleep", "0.1", max_total_runs=6, max_concurrent_runs=2
    )
    run = Experiment(ws, "cancel").submit(hd)
    _poll(lambda: list(_statuses(run).values()).count("Running") == 2)
    run.cancel()
    with pytest.raises(Exception, match="Canceled"):
        run.wait_for_completion(timeout=120)
    statuses = _statuses(run)
    assert len(statuses) == 2 and set(statuses.values()) == {"Canceled"}
    assert run.info.tags[names.TAG_ENDED_BECAUSE] == "the sweep was canceled"


def test_consecutive_failures_stop_the_sweep(ws: Workspace, src: Path) -> None:
    sampling = RandomParameterSampling({"--v": uniform(0.1, 1.0)})
    hd = _config(
        src,
        sampling,
        "--mode",
        "fail",
        max_total_runs=10,
        max_concurrent_runs=1,
        max_consecutive_failures=2,
    )
    run = Experiment(ws, "failing").submit(hd)
    details = run.wait_for_completion(timeout=120, raise_on_error=False)
    assert details["status"] == "Failed"
    info = run.info
    assert "2 trials in a row failed (max_consecutive_failures=2)" in (info.error or "")
    assert "trial failed on purpose" in (info.error or "")
    assert len(_statuses(run)) == 2


def test_max_duration_ends_the_sweep(ws: Workspace, src: Path) -> None:
    sampling = RandomParameterSampling({"--v": uniform(0.1, 1.0)})
    hd = _config(
        src,
        sampling,
        "--epochs",
        "600",
        "--sleep",
        "0.1",
        max_total_runs=4,
        max_concurrent_runs=2,
        max_duration_minutes=0.05,
    )
    run = Experiment(ws, "duration").submit(hd)
    run.wait_for_completion(timeout=120)
    info = run.info
    assert info.status is RunStatus.COMPLETED
    assert info.tags[names.TAG_ENDED_BECAUSE] == "max_duration_minutes (0.05) reached"
    rows = run.get_children_sorted_by_primary_metric()
    assert rows and all(r["status"] == "Canceled" for r in rows)
    assert all("max_duration_minutes" in r["end_reason"] for r in rows)


def test_bayesian_sampling_with_early_termination(ws: Workspace, src: Path) -> None:
    from runyard.train.hyperdrive import BayesianParameterSampling, OptunaPrunerPolicy

    sampling = BayesianParameterSampling(
        {"--v": uniform(0.1, 1.0)}, seed=5, sampler_options={"n_startup_trials": 2}
    )
    policy = OptunaPrunerPolicy("median", n_startup_trials=1)
    hd = _config(
        src, sampling, "--epochs", "4", policy=policy, max_total_runs=4, max_concurrent_runs=2
    )
    run = Experiment(ws, "bayes").submit(hd)
    run.wait_for_completion(timeout=180)
    rows = run.get_children_sorted_by_primary_metric()
    assert sorted(r["trial"] for r in rows) == [0, 1, 2, 3]
    assert all(0.1 <= r["hyperparameters"]["--v"] <= 1.0 for r in rows)
    assert all(r["status"] in ("Completed", "Canceled") for r in rows)
    assert all(r["end_reason"] for r in rows)
    assert run.info.status is RunStatus.COMPLETED
