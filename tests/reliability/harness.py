"""What the reliability tests share: real workspaces with a local compute pool, the
logging script that load and fault tests submit, polling with deadlines, careful
killing (by pid, checked against the command line), a studio process, a latency probe,
and the figures each test records for docs/reliability.md.

Figures: when ``$RUNYARD_RELIABILITY_RESULTS`` names a file, each test appends one JSON
line to it (``record``); ``tests/reliability/report.py`` turns them into the tables of
docs/reliability.md. Without it nothing is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import psutil
import pytest

from runyard.core import Experiment, Run, ScriptRunConfig, Workspace
from runyard.entities import ComputeTargetConfig, RunInfo
from runyard.store.artifacts import DRIVER_LOG, LocalArtifactRepository
from runyard.store.base import Store
from runyard.tracking.journal import KIND_NUMBER
from runyard.tracking.journal_reader import DecodeState, iter_records

T = TypeVar("T")
RESULTS_ENV = "RUNYARD_RELIABILITY_RESULTS"
TARGET = "pool"
METRIC = "x"

# The training script of every load and fault test. It logs METRIC = 0.0, 1.0, ... and,
# after each thousand points, writes how many it has logged: a count read from that
# file was logged before the file was written, so the store must hold at least that
# many points whatever happens afterwards.
LOGGER_SCRIPT = """\
import os, sys, time
from runyard.core import Run

points, progress, pace = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
run = Run.get_context()
with open(progress + ".pid.tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(progress + ".pid.tmp", progress + ".pid")
done = 0
while done < points:
    end = min(points, done + 1000)
    for i in range(done, end):
        run.log("x", float(i))
    done = end
    with open(progress + ".tmp", "w") as f:
        f.write(str(done))
    os.replace(progress + ".tmp", progress)
    if pace:
        time.sleep(pace)
print("logged", done, flush=True)
"""


def record(test: str, **figures: Any) -> None:
    """Appends one result line for the docs' tables (only when asked for)."""
    target = os.environ.get(RESULTS_ENV)
    if not target:
        return
    line = {"test": test, "when": time.strftime("%Y-%m-%d %H:%M:%S"), **figures}
    with open(target, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, default=str) + "\n")


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.02) -> T:
    """Polls ``check`` until it returns something truthy; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def read_count(path: Path) -> int:
    """A progress file's count (0 while it does not exist yet)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return 0
    return int(text) if text.strip() else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- processes ---------------------------------------------------------------------------


def process_if(pid: int, must_contain: str) -> psutil.Process | None:
    """The process ``pid`` if its command line contains ``must_contain``, else None: a
    pid read from a file or the store may belong to a finished process by now."""
    try:
        proc = psutil.Process(pid)
        if must_contain in " ".join(proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE:
            return proc
    except psutil.Error:
        pass
    return None


def sigkill(proc: psutil.Process) -> bool:
    """SIGKILLs ``proc``; psutil refuses if its pid was reused meanwhile."""
    try:
        proc.send_signal(signal.SIGKILL)
        return True
    except psutil.Error:
        return False


def pid_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# -- workspaces --------------------------------------------------------------------------


@dataclass
class Project:
    """A workspace in ``root`` with a local compute target ``pool`` and the logging
    script in ``root/src``."""

    root: Path
    ws: Workspace
    runs: list[str] = field(default_factory=list)

    @classmethod
    def create(
        cls, root: Path, *, tracking_uri: str | None = None, slots: int = 1, grace: float = 1.0
    ) -> Project:
        ws = Workspace.create(root, name="reliability", tracking_uri=tracking_uri)
        ws.add_compute_target(
            ComputeTargetConfig(
                name=TARGET,
                type="local",
                max_concurrent_runs=slots,
                options={"cancel_grace_seconds": grace},
            )
        )
        src = root / "src"
        src.mkdir(parents=True, exist_ok=True)
        (src / "train.py").write_text(LOGGER_SCRIPT)
        return cls(root, ws)

    @property
    def store(self) -> Store:
        return self.ws.store

    @property
    def artifacts(self) -> LocalArtifactRepository:
        repo = self.store.artifacts
        assert isinstance(repo, LocalArtifactRepository)
        return repo

    def progress(self, name: str) -> Path:
        folder = self.root / "progress"
        folder.mkdir(exist_ok=True)
        return folder / name

    def submit_logger(
        self, points: int, progress: Path, *, pace: float = 0.0, experiment: str = "load"
    ) -> Run:
        config = ScriptRunConfig(
            source_directory=str(self.root / "src"),
            script="train.py",
            arguments=[points, str(progress), pace],
            compute_target=TARGET,
        )
        run = Experiment(self.ws, experiment).submit(config)
        self.runs.append(run.id)
        return run

    def wait_terminal(self, run_ids: Iterable[str], timeout: float) -> dict[str, RunInfo]:
        pending = list(run_ids)
        done: dict[str, RunInfo] = {}

        def all_done() -> bool:
            for run_id in list(pending):
                info = self.store.get_run(run_id)
                if info.status.is_terminal():
                    done[run_id] = info
                    pending.remove(run_id)
            return not pending

        wait_for(all_done, timeout, f"{len(pending)} run(s) to end", interval=0.1)
        return done

    def reopen(self) -> Workspace:
        """The workspace opened afresh, as a user's next command would: opening its
        store finishes runs whose process died."""
        ws = Workspace.from_config(self.root)
        ws.store  # noqa: B018 - opening is what reaps
        return ws

    def logs(self, run_id: str) -> str:
        """The run's driver log and runner log together."""
        text = ""
        driver = self.artifacts.local_path(run_id, DRIVER_LOG)
        runner = self.artifacts.run_dir(run_id) / "runner.log"
        for path in (driver, runner):
            with contextlib.suppress(FileNotFoundError):
                text += path.read_text(errors="replace")
        return text

    def kill_leftovers(self) -> None:
        """Kills runners of this project still going (their scripts follow them)."""
        for run_id in self.runs:
            with contextlib.suppress(Exception):
                info = self.store.get_run(run_id)
                if not info.status.is_terminal() and info.owner:
                    pid = int(info.owner.split("@")[0])
                    proc = process_if(pid, run_id)
                    if proc is not None:
                        sigkill(proc)

    def close(self) -> None:
        self.kill_leftovers()
        self.ws.close()


# -- points ------------------------------------------------------------------------------


def stored_values(store: Store, run_id: str, key: str = METRIC) -> np.ndarray:
    """Every stored value of ``key`` in logging order (empty when there are none)."""
    if key not in store.get_metric_summaries(run_id):
        return np.zeros(0)
    series = store.get_metric_series(run_id, key)
    return np.asarray(series.values, dtype=np.float64)


def is_count_up(values: np.ndarray) -> bool:
    """0.0, 1.0, 2.0, ... with nothing missing and nothing twice."""
    return bool(np.array_equal(values, np.arange(len(values), dtype=np.float64)))


def journal_points(path: Path, key: str = METRIC) -> int:
    """How many whole ``key`` records the journal at ``path`` holds."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    state = DecodeState()
    return sum(1 for r in iter_records(data, 0, state) if r.kind == KIND_NUMBER and r.name == key)


# -- the studio --------------------------------------------------------------------------


class StudioProcess:
    """``runyard studio`` for a workspace, as a real process on 127.0.0.1."""

    def __init__(self, workspace_root: Path, port: int, token: str, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.token = token
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runyard.cli",
                "-w",
                str(workspace_root),
                "studio",
                "--port",
                str(port),
                "--token",
                token,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        def answers() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"the studio exited with code {self.proc.returncode}")
            try:
                return httpx.get(self.url + "/api/experiments", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, timeout, "the studio to answer", interval=0.05)

    def kill(self) -> None:
        """SIGKILL, as the out-of-memory killer would."""
        self.proc.kill()
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)
        self._log.close()


@dataclass
class Latency:
    """Studio response times seen by a client polling it like the web UI does."""

    samples: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    slowest: dict[str, float] = field(default_factory=dict)  # per kind of request

    def add(self, path: str, took: float) -> None:
        self.samples.append(took)
        kind = re.sub(r"/[0-9a-f]{32}|/load_[0-9]+_[0-9a-f]{8}", "/{id}", path.split("?")[0])
        self.slowest[kind] = max(self.slowest.get(kind, 0.0), took)

    @property
    def max(self) -> float:
        return max(self.samples, default=0.0)

    @property
    def p99(self) -> float:
        if len(self.samples) < 2:
            return self.max
        return statistics.quantiles(self.samples, n=100, method="inclusive")[98]

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else 0.0


class LatencyProbe:
    """A thread that keeps asking the studio what a user's browser asks (experiments,
    a runs table sorted by a metric, a run's page, a down-sampled series) and times
    each answer. Anything but a 200 within 5 s is a failure."""

    def __init__(self, base_url: str, paths: Callable[[], Sequence[str]]) -> None:
        self.base_url = base_url
        self.paths = paths
        self.result = Latency()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="latency-probe", daemon=True)

    def __enter__(self) -> LatencyProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _loop(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while not self._stop.is_set():
                for path in self.paths():
                    started = time.perf_counter()
                    try:
                        status = client.get(path).status_code
                    except httpx.HTTPError as exc:
                        self.result.failures.append(f"{path}: {type(exc).__name__}")
                        continue
                    took = time.perf_counter() - started
                    self.result.add(path, took)
                    if status != 200:
                        self.result.failures.append(f"{path}: HTTP {status}")
                self._stop.wait(0.05)
