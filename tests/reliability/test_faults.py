"""Faults: processes SIGKILLed at random moments, PostgreSQL going away mid-run, a disk
that fills up during ingest, and journals damaged at random offsets.

What must hold after every fault: no point lost (the store holds every whole record of
the run's journal, at least as many as the script had counted, each exactly once) and
no run left in a non-terminal status; each run ends with a true status and its reason.

Kill moments are random; ``RUNYARD_FAULT_SEED`` replays a failing sequence (each test
prints the seed it used). The default variants kill 3 times each, the soak ones 20.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from runyard.core import Experiment, ScriptRunConfig
from runyard.entities import RunKind, RunQuery, RunStatus
from runyard.errors import StoreError
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.base import Store
from runyard.store.sql import SqlStore
from runyard.tracking.ingest import DAMAGE_TAG, JournalIngester
from runyard.tracking.journal import (
    HEADER_SIZE,
    KIND_NUMBER,
    KIND_RECORD,
    KIND_STRING,
    JournalWriter,
)
from runyard.tracking.journal_reader import DecodeState, Record, iter_records
from tests.reliability.harness import (
    Project,
    StudioProcess,
    free_port,
    is_count_up,
    journal_points,
    pid_gone,
    process_if,
    read_count,
    record,
    sigkill,
    stored_values,
    wait_for,
)
from tests.support import postgres

DEFAULT_KILLS = 3
SOAK_KILLS = 20
# Long enough that no run ends on its own before it is killed (~4 s at the least).
ENDLESS = 2_000_000
PACE = 0.002


def seed() -> int:
    value = int(os.environ.get("RUNYARD_FAULT_SEED") or secrets.randbits(32))
    print(f"RUNYARD_FAULT_SEED={value}")
    return value


def no_process_mentions(text: str) -> bool:
    """True when no process has ``text`` in its command line (a run's script, found by
    its progress file's path, even if its pid was never written)."""
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(proc.info["cmdline"] or ())
            if text in cmdline and proc.status() != psutil.STATUS_ZOMBIE:
                return False
    return True


@dataclass
class Tally:
    """Points of the runs a fault hit: counted by their scripts, whole records in their
    journals, stored; and what is wrong with any of them. Recorded first, then checked,
    so that the docs' figures are what was measured."""

    counted: int = 0
    in_journals: int = 0
    stored: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, project: Project, run_id: str, counted: int) -> int:
        values = stored_values(project.store, run_id)
        in_journal = journal_points(project.artifacts.journal_path(run_id))
        self.counted += counted
        self.in_journals += in_journal
        self.stored += len(values)
        self.lost += max(0, in_journal - len(values), counted - len(values))
        if not is_count_up(values):
            self.problems.append(f"run {run_id}: stored points have gaps or repeats")
        if len(values) != in_journal or len(values) < counted:
            self.problems.append(
                f"run {run_id}: {counted} counted, {in_journal} in the journal, "
                f"{len(values)} stored"
            )
        return len(values)

    def figures(self) -> dict[str, int]:
        return {
            "points_counted": self.counted,
            "points_in_journals": self.in_journals,
            "points_stored": self.stored,
            "points_lost": self.lost,
        }

    def check(self) -> None:
        assert not self.problems, self.problems


def not_terminal(statuses: list[RunStatus]) -> int:
    return sum(1 for s in statuses if not s.is_terminal())


# -- SIGKILL of the training script ------------------------------------------------------


def kill_scripts(root: Path, kills: int) -> None:
    rng = random.Random(seed())
    project = Project.create(root, slots=kills)
    try:
        progress = {}
        for i in range(kills):
            path = project.progress(f"run{i}")
            progress[project.submit_logger(ENDLESS, path, pace=PACE).id] = path
        delay = {run_id: rng.uniform(0.0, 1.5) for run_id in progress}
        seen: dict[str, tuple[float, psutil.Process]] = {}
        killed: set[str] = set()

        def kill_due() -> bool:
            now = time.monotonic()
            for run_id, path in progress.items():
                if run_id in killed:
                    continue
                if run_id not in seen:
                    pid_file = path.with_name(path.name + ".pid")
                    proc = (
                        process_if(read_count(pid_file), "train.py") if pid_file.exists() else None
                    )
                    if proc is not None:
                        seen[run_id] = (now, proc)
                    continue
                started, proc = seen[run_id]
                if now >= started + delay[run_id]:
                    assert sigkill(proc), f"the script of {run_id} was gone before its kill"
                    killed.add(run_id)
            return len(killed) == len(progress)

        wait_for(kill_due, 120, "every script to start and be killed", interval=0.005)
        for run_id, (_, proc) in seen.items():
            wait_for(functools.partial(pid_gone, proc.pid), 30, f"the script of {run_id} to die")
        counted = {run_id: read_count(path) for run_id, path in progress.items()}
        finals = project.wait_terminal(progress, timeout=120)
        tally = Tally()
        for run_id in progress:
            tally.add(project, run_id, counted[run_id])
        record(
            "fault:sigkill-script",
            kills=kills,
            **tally.figures(),
            statuses=dict(collections.Counter(f.status.value for f in finals.values())),
            runs_not_terminal=not_terminal([f.status for f in finals.values()]),
        )
        tally.check()
        for run_id, info in finals.items():
            assert info.status is RunStatus.FAILED, (run_id, info.status, info.error)
            assert info.exit_code == 128 + signal.SIGKILL
            assert info.error is not None and "killed by SIGKILL" in info.error
    finally:
        project.close()


def test_sigkill_the_script(tmp_path: Path) -> None:
    kill_scripts(tmp_path / "ws", DEFAULT_KILLS)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_sigkill_the_script(tmp_path: Path) -> None:
    kill_scripts(tmp_path / "ws", SOAK_KILLS)


# -- SIGKILL of the runner ---------------------------------------------------------------


def kill_runners(root: Path, kills: int) -> None:
    rng = random.Random(seed())
    project = Project.create(root, slots=kills)
    try:
        progress = {}
        for i in range(kills):
            path = project.progress(f"run{i}")
            progress[project.submit_logger(ENDLESS, path, pace=PACE).id] = path
        # From the moment the runner is known: before, during or after the start of
        # the script (Preparing, Starting, Running).
        delay = {run_id: rng.uniform(0.0, 2.0) for run_id in progress}
        seen: dict[str, tuple[float, psutil.Process]] = {}
        phase: dict[str, str] = {}

        def kill_due() -> bool:
            now = time.monotonic()
            for run_id in progress:
                if run_id in phase:
                    continue
                if run_id not in seen:
                    owner = project.store.get_run(run_id).owner
                    proc = process_if(int(owner.split("@")[0]), run_id) if owner else None
                    if proc is not None:
                        seen[run_id] = (now, proc)
                    continue
                started, proc = seen[run_id]
                if now >= started + delay[run_id]:
                    status = project.store.get_run(run_id).status.value
                    assert sigkill(proc), f"the runner of {run_id} was gone before its kill"
                    phase[run_id] = status
            return len(phase) == len(progress)

        wait_for(kill_due, 120, "every runner to start and be killed", interval=0.005)
        for run_id, path in progress.items():
            # The script dies with its runner (PR_SET_PDEATHSIG), pid file or not.
            script_gone = functools.partial(no_process_mentions, str(path))
            wait_for(script_gone, 30, f"{run_id}'s script to die")
            wait_for(
                functools.partial(pid_gone, seen[run_id][1].pid), 30, f"{run_id}'s runner to die"
            )
        counted = {run_id: read_count(path) for run_id, path in progress.items()}
        ws = project.reopen()  # what the user's next command does: reap the dead runs
        try:
            finals = {run_id: ws.store.get_run(run_id) for run_id in progress}
        finally:
            ws.close()
        tally = Tally()
        for run_id in progress:
            tally.add(project, run_id, counted[run_id])
        record(
            "fault:sigkill-runner",
            kills=kills,
            killed_in=dict(collections.Counter(phase.values())),
            **tally.figures(),
            statuses=dict(collections.Counter(f.status.value for f in finals.values())),
            runs_not_terminal=not_terminal([f.status for f in finals.values()]),
        )
        tally.check()
        for run_id, info in finals.items():
            runner_pid = seen[run_id][1].pid
            assert info.status is RunStatus.FAILED, (run_id, phase[run_id], info.status)
            assert info.error == f"runner process {runner_pid} died", (run_id, info.error)
    finally:
        project.close()


def test_sigkill_the_runner(tmp_path: Path) -> None:
    kill_runners(tmp_path / "ws", DEFAULT_KILLS)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_sigkill_the_runner(tmp_path: Path) -> None:
    kill_runners(tmp_path / "ws", SOAK_KILLS)


# -- SIGKILL of the interactive process --------------------------------------------------

INTERACTIVE = textwrap.dedent(
    """
    import os, sys
    from runyard.core import Experiment, Workspace

    ws = Workspace.from_config(sys.argv[1])
    run = Experiment(ws, sys.argv[3]).start_logging()
    progress = sys.argv[2]
    i = 0
    while True:
        run.log("x", float(i))
        i += 1
        if i % 1000 == 0:
            with open(progress + ".tmp", "w") as f:
                f.write(str(i))
            os.replace(progress + ".tmp", progress)
    """
)


def kill_interactive(root: Path, kills: int) -> None:
    rng = random.Random(seed())
    project = Project.create(root)
    script = root / "interactive.py"
    script.write_text(INTERACTIVE)
    try:
        procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        for i in range(kills):
            path = project.progress(f"interactive{i}")
            experiment = f"interactive-{i}"
            argv = [sys.executable, str(script), str(root), str(path), experiment]
            procs[experiment] = (subprocess.Popen(argv, stdin=subprocess.DEVNULL), path)
            # Any moment of its life: importing, opening the store, creating the run,
            # logging and ingesting.
            time.sleep(rng.uniform(0.0, 0.3))
        for proc, _ in procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(rng.uniform(0.5, 3.0))  # the random moment (it never ends)
            proc.kill()  # SIGKILL to our own child, by its pid
            proc.wait(30)
        ws = project.reopen()  # reaps the runs of the dead processes
        try:
            finals = {}
            for experiment, (proc, path) in procs.items():
                exp = ws.store.get_experiment_by_name(experiment)
                if exp is None:
                    continue  # killed before it had created its experiment
                page = ws.store.search_runs(RunQuery(experiment_id=exp.experiment_id))
                for info in page.runs:
                    finals[info.run_id] = (info, proc.pid, read_count(path))
        finally:
            ws.close()
        tally = Tally()
        for run_id, (_, _, counted) in finals.items():
            tally.add(project, run_id, counted)
        record(
            "fault:sigkill-interactive",
            kills=kills,
            runs=len(finals),
            **tally.figures(),
            statuses=dict(collections.Counter(i.status.value for i, _, _ in finals.values())),
            runs_not_terminal=not_terminal([i.status for i, _, _ in finals.values()]),
        )
        tally.check()
        for run_id, (info, pid, _) in finals.items():
            assert info.status is RunStatus.FAILED, (run_id, info.status)
            assert info.error == f"process {pid} died", (run_id, info.error)
    finally:
        project.close()


def test_sigkill_the_interactive_process(tmp_path: Path) -> None:
    kill_interactive(tmp_path / "ws", DEFAULT_KILLS)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_sigkill_the_interactive_process(tmp_path: Path) -> None:
    kill_interactive(tmp_path / "ws", SOAK_KILLS)


# -- SIGKILL of the studio ---------------------------------------------------------------


def kill_studio(root: Path, kills: int) -> None:
    """The studio dies while a submitted run logs (it must not notice) and while a
    remote-style client ingests a journal through the studio's REST API (HttpStore):
    the studio comes back on the same port and every point arrives exactly once."""
    from runyard.remote import HttpStore

    rng = random.Random(seed())
    project = Project.create(root)
    port, token = free_port(), secrets.token_urlsafe(16)
    studio = StudioProcess(root, port, token, root / "studio.log")
    submitted_progress = project.progress("submitted")
    submitted = project.submit_logger(60_000 * kills, submitted_progress, pace=0.03)
    remote_store: HttpStore | None = None
    stop_logging = threading.Event()
    failures: list[BaseException] = []
    logged = [0]
    try:
        studio.wait_ready()
        remote_store = HttpStore(studio.url, token=token, retry_for=60)
        exp = remote_store.get_or_create_experiment("through-the-studio")
        remote = remote_store.create_run(
            exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
        )
        journal = root / "remote-journal.bin"
        writer = JournalWriter(journal)
        ingester = JournalIngester(remote_store, remote.run_id, journal)

        def log_points() -> None:
            while not stop_logging.is_set():
                for _ in range(200):
                    writer.log("x", float(logged[0]))
                    logged[0] += 1
                time.sleep(0.005)

        def ingest() -> None:
            beat = 0.0
            try:
                while not stop_logging.is_set():
                    ingester.ingest_once()
                    if time.monotonic() - beat > 2.0:  # as a live writer does: not reaped
                        remote_store.heartbeat(remote.run_id)
                        beat = time.monotonic()
                    time.sleep(0.02)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=log_points), threading.Thread(target=ingest)]
        for t in threads:
            t.start()
        downtimes = []
        for _ in range(kills):
            time.sleep(rng.uniform(0.1, 1.5))  # the random moment, mid-request or not
            studio.kill()
            went = time.monotonic()
            studio.stop()
            studio = StudioProcess(root, port, token, root / "studio.log")
            studio.wait_ready()
            downtimes.append(time.monotonic() - went)
        stop_logging.set()
        for t in threads:
            t.join(120)
        assert not failures, failures
        ingester.drain()
        writer.close()
        remote_store.set_status(remote.run_id, RunStatus.COMPLETED)
        finals = project.wait_terminal([submitted.id, remote.run_id], timeout=300)
        remote_values = stored_values(project.store, remote.run_id)
        tally = Tally()
        submitted_count = tally.add(project, submitted.id, read_count(submitted_progress))
        record(
            "fault:sigkill-studio",
            kills=kills,
            downtime_max_s=round(max(downtimes), 2),
            points_logged_through_studio=logged[0],
            points_stored_through_studio=len(remote_values),
            points_of_submitted_run=submitted_count,
            points_lost=tally.lost + max(0, logged[0] - len(remote_values)),
            statuses=dict(collections.Counter(f.status.value for f in finals.values())),
            runs_not_terminal=not_terminal([f.status for f in finals.values()]),
        )
        tally.check()
        assert len(remote_values) == logged[0] and is_count_up(remote_values)
        assert finals[submitted.id].status is RunStatus.COMPLETED, finals[submitted.id].error
        assert submitted_count == 60_000 * kills
        assert finals[remote.run_id].status is RunStatus.COMPLETED
        assert_sqlite_intact(project.store)
    finally:
        stop_logging.set()
        if remote_store is not None:
            remote_store.close()
        studio.stop()
        project.close()


def assert_sqlite_intact(store: Store) -> None:
    assert isinstance(store, SqlStore)
    engine = sa.create_engine(store.uri)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        engine.dispose()


def test_sigkill_the_studio(tmp_path: Path) -> None:
    kill_studio(tmp_path / "ws", DEFAULT_KILLS)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_sigkill_the_studio(tmp_path: Path) -> None:
    kill_studio(tmp_path / "ws", SOAK_KILLS)


# -- PostgreSQL stopped and started again ------------------------------------------------


def pg_ctl(cluster: postgres.Cluster, *args: str) -> None:
    cmd = [str(cluster.bin_dir / "pg_ctl"), *args]
    if cluster.run_as is not None:
        cmd = ["runuser", "-u", cluster.run_as, "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def restart_options(cluster: postgres.Cluster) -> str:
    """The options start_cluster gave the server, so that it comes back as it was."""
    port = sa.make_url(cluster.url).port
    return (
        f"-c listen_addresses=127.0.0.1 -c port={port} -k {cluster.folder} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=200"
    )


@pytest.fixture
def own_postgres() -> Iterator[postgres.Cluster]:
    """A cluster of this test's own: it is stopped and started mid-test, which a shared
    server (``$RUNYARD_TEST_POSTGRES_URL``) must not be."""
    try:
        cluster = postgres.start_cluster()
    except postgres.PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.postgres
def test_postgres_stopped_and_restarted_mid_run(
    tmp_path: Path, own_postgres: postgres.Cluster
) -> None:
    points = 40_000
    url = postgres.create_database(own_postgres.url)
    project = Project.create(tmp_path / "ws", tracking_uri=url)
    data = own_postgres.folder / "data"
    try:
        progress = project.progress("run")
        run = project.submit_logger(points, progress, pace=0.15)  # ~6 s of logging
        wait_for(
            lambda: project.store.get_journal_offset(run.id) > 0,
            60,
            "the run to be Running with points stored",
        )
        before = read_count(progress)
        pg_ctl(own_postgres, "stop", "-D", str(data), "-m", "fast", "-w")
        # The outage lasts while the script logs another 5,000 points.
        wait_for(lambda: read_count(progress) >= before + 5000, 60, "logging during the outage")
        during = read_count(progress) - before
        pg_ctl(
            own_postgres, "start", "-D", str(data), "-w", "-t", "60",
            "-l", str(own_postgres.folder / "server.log"), "-o", restart_options(own_postgres),
        )  # fmt: skip

        def ended() -> bool:
            with contextlib.suppress(StoreError):
                return project.store.get_run(run.id).status.is_terminal()
            return False

        wait_for(ended, 120, "the run to end", interval=0.1)
        info = project.store.get_run(run.id)
        values = stored_values(project.store, run.id)
        record(
            "fault:postgres-restart",
            points_logged=points,
            points_logged_during_outage=during,
            points_stored=len(values),
            points_lost=max(0, points - len(values)),
            status=info.status.value,
            runs_not_terminal=not_terminal([info.status]),
        )
        assert info.status is RunStatus.COMPLETED, (info.error, project.logs(run.id)[-3000:])
        assert len(values) == points and is_count_up(values), (
            f"{points} logged, {len(values)} stored"
        )
    finally:
        project.close()


# -- the disk fills up during ingest -----------------------------------------------------

FSIZE_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from runyard.store import open_store
    from runyard.tracking.ingest import JournalIngester

    db, artifacts, run_id, journal, limit = sys.argv[1:6]
    store = open_store("sqlite:///" + db, artifact_root=Path(artifacts))
    # A write past the limit fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
    try:
        JournalIngester(store, run_id, journal).drain()
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", flush=True)
        sys.exit(3)
    print("no error", flush=True)
    """
)


def earlier_data(store: Store) -> str:
    """A finished run with points, tags and a file: what must survive."""
    exp = store.get_or_create_experiment("earlier")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    journal = Path(store.artifacts.journal_path(run.run_id))  # type: ignore[attr-defined]
    writer = JournalWriter(journal)
    for i in range(10_000):
        writer.log("x", float(i))
    writer.close()
    JournalIngester(store, run.run_id, journal).drain()
    store.set_tags(run.run_id, {"kept": "yes"})
    store.artifacts.put_bytes(run.run_id, "outputs/model.bin", b"weights" * 100)
    store.set_status(run.run_id, RunStatus.COMPLETED)
    return run.run_id


def check_earlier(store: Store, run_id: str) -> None:
    info = store.get_run(run_id)
    assert info.status is RunStatus.COMPLETED and info.tags.get("kept") == "yes"
    values = stored_values(store, run_id)
    assert len(values) == 10_000 and is_count_up(values)
    assert store.artifacts.read_bytes(run_id, "outputs/model.bin") == b"weights" * 100


def fill_up(root: Path, limit_margin: int) -> tuple[SqlStore, str, str, Path, int, str]:
    db = root / "runyard.db"
    store = SqlStore(f"sqlite:///{db}", LocalArtifactRepository(root / "artifacts"))
    kept = earlier_data(store)
    exp = store.get_or_create_experiment("filling")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    journal = root / "victim.bin"
    writer = JournalWriter(journal)
    for i in range(5_000):
        writer.log("x", float(i))
    JournalIngester(store, run.run_id, journal).drain()  # some of it stored already
    for i in range(5_000, 605_000):
        writer.log("x", float(i))
    writer.close()
    sizes = [p.stat().st_size for p in root.glob("runyard.db*") if p.is_file()]
    limit = max(sizes) + limit_margin
    child = root / "ingest_limited.py"
    child.write_text(FSIZE_CHILD)
    argv = [
        sys.executable, str(child), str(db), str(root / "artifacts"),
        run.run_id, str(journal), str(limit),
    ]  # fmt: skip
    store.close()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 3, f"ingest under a {limit}-byte file size limit: {output}"
    reopened = SqlStore(f"sqlite:///{db}", LocalArtifactRepository(root / "artifacts"))
    return reopened, kept, run.run_id, journal, limit, output


def test_file_size_limit_during_ingest_keeps_the_store(tmp_path: Path) -> None:
    store, kept, victim, journal, limit, output = fill_up(tmp_path, 256 << 10)
    try:
        assert "Traceback" not in output
        assert output.startswith("StoreError: the store could not append metrics"), output
        assert_sqlite_intact(store)  # it opens, and SQLite finds nothing wrong
        check_earlier(store, kept)
        # What went in before the limit is whole: points and offset agree.
        values = stored_values(store, victim)
        offset = store.get_journal_offset(victim)
        head = DecodeState()
        upto = journal.read_bytes()[:offset]
        assert len(values) == sum(1 for r in iter_records(upto, 0, head) if r.name == "x")
        assert is_count_up(values) and len(values) >= 5_000
        # Once there is room again, ingest resumes where it stopped: all, once.
        JournalIngester(store, victim, journal).drain()
        values = stored_values(store, victim)
        record(
            "fault:file-size-limit",
            limit_bytes=limit,
            error=output[:200],
            points_before=10_000 + 5_000,
            points_after_room=len(values),
            points_lost=605_000 - len(values),
        )
        assert len(values) == 605_000 and is_count_up(values)
    finally:
        store.close()


def test_file_size_limit_error_names_the_fix(tmp_path: Path) -> None:
    store, _kept, _victim, _journal, _limit, output = fill_up(tmp_path, 256 << 10)
    store.close()
    assert "retry" in output or "ulimit" in output or "space" in output, output


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs of this test's own (needs root); unmounted by its path."""
    mount = tmp_path / "tiny-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a tiny filesystem needs root to mount; the file size limit test covers it")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False, capture_output=True)


def test_disk_full_during_a_runs_ingest(tmp_path: Path, tiny_disk: Path) -> None:
    """The database lives on a tiny disk that fills up while a submitted run's points
    are ingested (the journal is on another disk). The run still ends, with the
    reason; the store opens; what was stored before is intact; and once there is room
    again nothing the journal holds is lost."""
    root = tmp_path / "ws"
    project = Project.create(root, tracking_uri=f"sqlite:///{tiny_disk / 'runyard.db'}")
    try:
        kept = earlier_data(project.store)
        # Leave about 1 MiB: room for bookkeeping, not for 200,000 points.
        free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
        (tiny_disk / "filler").write_bytes(b"\0" * max(0, free - (1 << 20)))
        progress = project.progress("run")
        run = project.submit_logger(200_000, progress)
        finals = project.wait_terminal([run.id], timeout=180)
        info = finals[run.id]
        logs = project.logs(run.id)
        reason = " ".join(filter(None, [info.error, *info.tags.values(), logs]))
        assert "database or disk is full; free some disk space and retry" in reason, reason[-3000:]
        check_earlier(project.store, kept)
        assert_sqlite_intact(project.store)
        (tiny_disk / "filler").unlink()
        stored_before = len(stored_values(project.store, run.id))
        JournalIngester(project.store, run.id, project.artifacts.journal_path(run.id)).drain()
        values = stored_values(project.store, run.id)
        record(
            "fault:disk-full",
            status=info.status.value,
            error=(info.error or "")[:200],
            points_logged=read_count(progress),
            points_stored_while_full=stored_before,
            points_stored_after_room=len(values),
            points_lost=read_count(progress) - len(values),
            runs_not_terminal=not_terminal([info.status]),
        )
        assert is_count_up(values) and len(values) == read_count(progress) == 200_000
    finally:
        project.close()


def test_room_again_mid_run_loses_nothing(tmp_path: Path, tiny_disk: Path) -> None:
    """The disk is full for a while during a run, then there is room again: the run
    goes on and, in the end, every point is stored once."""
    project = Project.create(tmp_path / "ws", tracking_uri=f"sqlite:///{tiny_disk / 'runyard.db'}")
    try:
        free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
        (tiny_disk / "filler").write_bytes(b"\0" * max(0, free - (1 << 20)))
        progress = project.progress("run")
        run = project.submit_logger(200_000, progress, pace=0.04)  # ~8 s of logging
        wait_for(
            lambda: "ingesting the journal failed" in project.logs(run.id),
            60,
            "the runner to hit the full disk",
            interval=0.05,
        )
        (tiny_disk / "filler").unlink()  # room again, while the script still logs
        info = project.wait_terminal([run.id], timeout=120)[run.id]
        values = stored_values(project.store, run.id)
        record(
            "fault:disk-full-then-room",
            status=info.status.value,
            points_logged=read_count(progress),
            points_stored=len(values),
            points_lost=read_count(progress) - len(values),
            runs_not_terminal=not_terminal([info.status]),
        )
        assert info.status is RunStatus.COMPLETED
        assert len(values) == 200_000 and is_count_up(values), f"{len(values)} stored"
    finally:
        project.close()


# -- journals damaged at random offsets --------------------------------------------------


def damaged_journals(count: int, folder: Path) -> Iterator[tuple[str, Path, bytes, int]]:
    """(description, path, undamaged bytes, damage offset) of ``count`` journals, each a
    mix of float, int, str and structured records, then truncated, bit-flipped,
    overwritten with garbage or zeroed at a random offset."""
    rng = random.Random(seed())
    for n in range(count):
        path = folder / f"journal{n}.bin"
        writer = JournalWriter(path)
        for i in range(rng.randint(1, 400)):
            writer.log("x", float(i))
            if i % 7 == 0:
                writer.log("y", i)
            if i % 50 == 0:
                writer.log("s", f"note {i} ü")
                writer.log_record("row", "row", {"i": i})
        end = writer.size
        writer.close()
        original = path.read_bytes()
        data = bytearray(original)
        at = rng.randint(0, end + 64)
        mode = rng.choice(["truncate", "flip", "garbage", "zeros"])
        span = rng.randint(1, 64)
        if mode == "truncate":
            at = min(at, end)
            data = data[:at]
        elif mode == "flip":
            data[at] ^= 1 << rng.randint(0, 7)
        elif mode == "garbage":
            data[at : at + span] = bytes(rng.getrandbits(8) for _ in range(span))
        else:
            data[at : at + span] = bytes(span)
        path.write_bytes(bytes(data))
        yield f"{mode} at {at} of {end}", path, original, at


def by_metric(records: Iterator[Record]) -> dict[str, list[object]]:
    out: dict[str, list[object]] = collections.defaultdict(list)
    for rec in records:
        if rec.kind in (KIND_NUMBER, KIND_STRING):
            out[rec.name].append(float(rec.value) if rec.kind == KIND_NUMBER else rec.value)
        elif rec.kind == KIND_RECORD:
            out[rec.name].append(rec.value["payload"])
    return out


def whole_before(original: bytes, damage_at: int) -> Iterator[Record]:
    """The records of ``original`` that end before byte ``damage_at``."""
    state = DecodeState()
    for rec in iter_records(original, 0, state):
        if state.offset > damage_at:
            return
        yield rec


def stored_by_metric(store: Store, run_id: str) -> dict[str, list[object]]:
    out: dict[str, list[object]] = collections.defaultdict(list)
    for key in store.get_metric_summaries(run_id):
        values = store.get_metric_series(run_id, key).values
        out[key] = [v if isinstance(v, str) else float(v) for v in values]
    for rec in store.get_metric_records(run_id):
        out[rec.key].append(rec.payload)
    return out


def record_ends(journal: bytes) -> list[int]:
    """Where each record of a whole journal ends, name definitions included (the decoder
    yields only the records that carry values: a cut after a definition is clean too)."""
    ends, pos = [], 0
    while pos + HEADER_SIZE <= len(journal):
        length = int.from_bytes(journal[pos : pos + 4], "little")
        if length == 0:  # the end marker: zeros from here
            break
        pos += HEADER_SIZE + length
        ends.append(pos)
    return ends


def check_damaged_journals(tmp_path: Path, count: int) -> None:
    store = SqlStore(
        f"sqlite:///{tmp_path / 'runyard.db'}", LocalArtifactRepository(tmp_path / "artifacts")
    )
    exp = store.get_or_create_experiment("damaged")
    modes: collections.Counter[str] = collections.Counter()
    reported = kept = lost = 0
    problems: list[str] = []
    try:
        for what, path, original, at in damaged_journals(count, tmp_path):
            run = store.create_run(
                exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
            )
            ingester = JournalIngester(store, run.run_id, path)
            ingester.drain()
            want = by_metric(whole_before(original, at))
            got = stored_by_metric(store, run.run_id)
            for key, values in want.items():
                missing = len(values) - sum(1 for a, b in zip(got[key], values) if a == b)
                if missing:
                    problems.append(f"{what}: {key} lost {missing} whole records")
                lost += missing
                kept += len(values) - missing
            damaged = path.read_bytes()
            ends = record_ends(original)
            if len(damaged) < len(original):  # truncated: torn unless cut between records
                torn = len(damaged) not in (*ends, 0)
            else:  # overwritten: damaged if any byte changed (zeros over zeros change nothing)
                torn = damaged != original
            if ingester.damage is not None:
                reported += 1
                tags = store.get_run(run.run_id).tags
                assert tags.get(DAMAGE_TAG) == ingester.damage[:4000]
                assert "every whole record before it was ingested" in ingester.damage
            else:
                assert not torn, f"{what}: the damage went unreported"
            modes[what.split()[0]] += 1
        record(
            "fault:damaged-journals",
            journals=count,
            modes=dict(modes),
            whole_records_before_damage_kept=kept,
            points_lost=lost,
            damage_reported=reported,
        )
        assert not problems, problems
    finally:
        store.close()


def test_damaged_journals_keep_every_whole_record_before_the_damage(tmp_path: Path) -> None:
    check_damaged_journals(tmp_path, 20)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_damaged_journals(tmp_path: Path) -> None:
    check_damaged_journals(tmp_path, 300)


def test_damaged_journal_of_a_dead_run_is_reaped_and_reported(tmp_path: Path) -> None:
    """A run whose process died mid-record (a torn last record): opening the workspace
    ingests every whole record, marks the run Failed and tags the damage."""
    project = Project.create(tmp_path / "ws")
    try:
        exp = Experiment(project.ws, "torn")
        # Its owner is a process of this host that is not running.
        owner = f"999999999@{socket.gethostname()}"
        info = project.store.create_run(
            exp.id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING, owner=owner
        )
        journal = project.artifacts.journal_path(info.run_id)
        writer = JournalWriter(journal)
        for i in range(1000):
            writer.log("x", float(i))
        end = writer.size
        writer.close()
        data = bytearray(journal.read_bytes())
        data[end - 10 : end] = bytes(10)  # the last record's body, half copied
        journal.write_bytes(bytes(data))
        ws = project.reopen()
        try:
            done = ws.store.get_run(info.run_id)
        finally:
            ws.close()
        values = stored_values(project.store, info.run_id)
        assert done.status is RunStatus.FAILED and done.error == "process 999999999 died"
        assert len(values) == 999 and is_count_up(values)
        assert "journal" in done.tags[DAMAGE_TAG] and "damaged" in done.tags[DAMAGE_TAG]
    finally:
        project.close()


# -- no run stuck behind an interactive one ----------------------------------------------

def test_an_open_interactive_run_does_not_hold_up_a_submission(tmp_path: Path) -> None:
    """A notebook's open start_logging() run is on 'local' too, but only submitted runs
    hold the pool's slots (a bug this suite found: the submission stayed Queued)."""
    project = Project.create(tmp_path / "ws")
    notebook = Experiment(project.ws, "notebook").start_logging()
    try:
        notebook.log("x", 1.0)
        config = ScriptRunConfig(
            source_directory=str(project.root / "src"),
            script="train.py",
            arguments=[10, str(project.progress("run")), 0.0],
        )  # the default compute target: "local", one slot
        run = Experiment(project.ws, "notebook").submit(config)
        project.runs.append(run.id)
        wait_for(lambda: run.get_status() == "Completed", 20, "the submitted run to complete")
    finally:
        notebook.complete()
        project.close()
