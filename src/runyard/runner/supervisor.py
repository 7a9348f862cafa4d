"""Supervises one submitted run, from a claimed (Preparing) run to its final status.

The order is chosen for start-up time: the definition comes from the launcher's claim
file, the snapshot is materialised and the script started *before* the store is opened
(SQLAlchemy costs a few hundred milliseconds to import). The store work then happens
in a background :class:`~runyard.runner.monitor.Monitor` (heartbeat, Starting and
Running, journal ingest, cancel requests), while this thread waits for the script, the
duration limit and signals, and stops the script when asked. After the script: the
run's outputs and logs are collected, the journal drained and the final status set.

The runner is the only writer of a submitted run's status; every change is a
compare-and-set, so a run finished by someone else (the reaper) is never reopened.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from runyard.config import CANCEL_GRACE_S
from runyard.entities import ACTIVE_STATUSES, RunStatus
from runyard.errors import ConflictError, RunyardError
from runyard.runner import workdir
from runyard.runner.context import RunPaths, WorkspaceContext, read_claim
from runyard.runner.monitor import Monitor, RunGone
from runyard.runner.owner import owner_string
from runyard.runner.process import LogForwarder, ScriptProcess, write_stdout
from runyard.store.base import Store

if TYPE_CHECKING:
    from runyard.runner.outcome import Outcome

# ComputeTargetConfig.options key: seconds between SIGTERM and SIGKILL.
GRACE_OPTION = "cancel_grace_seconds"


class _SetupFailed(Exception):
    """The run cannot start (no script, no snapshot, no environment)."""


class Signals:
    """SIGTERM (or SIGINT) to the runner means: cancel the run. The handler only
    records it; a wakeup pipe lets the supervising loop notice at once (the monitor
    thread uses the same pipe)."""

    def __init__(self) -> None:
        self.received = False
        self.wake_fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received = True

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: a wakeup is pending anyway
            os.write(self._write_fd, b"\0")


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: that one also counts
    the parent's memory image that a forked child holds until its exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _say(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[runyard runner {stamp}] {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Drives one run. ``run()`` returns the runner's exit status."""

    def __init__(self, run_id: str, ws: WorkspaceContext, signals: Signals | None = None) -> None:
        self.run_id = run_id
        self.ws = ws
        self.paths: RunPaths = ws.paths(run_id)
        self.owner = owner_string()
        self.store: Store | None = None
        self.child: ScriptProcess | None = None
        self.monitor: Monitor | None = None
        self.definition: dict[str, Any] = {}
        self.target_name = "local"
        self.stop_reason: str | None = None
        self.canceled = False
        self._signals = signals
        self._forwarder: LogForwarder | None = None

    @property
    def signalled(self) -> bool:
        return self._signals is not None and self._signals.received

    # -- the lifecycle ----------------------------------------------------------------

    def run(self) -> int:
        try:
            self._start()
            code = self._supervise()
            self._finish(self._outcome(code))
        except RunGone as gone:
            _say(f"stopped without writing the run's status: {gone}")
            self._stop_monitor()
            self._stop_child(grace=0.0)
        except _SetupFailed as exc:
            _say(f"run {self.run_id} cannot start: {exc}")
            self._fail(str(exc))
        except BaseException as exc:  # the runner itself broke: still record why
            _say(f"runner crashed:\n{traceback.format_exc()}")
            self._stop_monitor()
            self._stop_child(grace=1.0)
            self._fail(f"runner crashed: {type(exc).__name__}: {exc}")
            return 1
        finally:
            if self._forwarder is not None:
                self._forwarder.stop()
        self._next_and_clean()
        return 0

    def _start(self) -> None:
        claim = read_claim(self.paths)
        if claim is None:  # started by hand, or by a launcher without a claim file
            info = self._open_store().get_run(self.run_id)
            if info.status is not RunStatus.PREPARING:
                raise RunGone(
                    f"it is {info.status.value}; a runner only starts a claimed "
                    "(Preparing) run: dispatch the target instead"
                )
            claim = dict(info.definition), info.compute_target
        self.definition, self.target_name = claim
        try:
            launch = workdir.prepare(self.run_id, self.ws, self.definition)
        except RunyardError as exc:
            raise _SetupFailed(str(exc)) from None
        if self.signalled:
            self._set(RunStatus.CANCELED, error="canceled before the script started")
            raise RunGone("it was canceled before the script started")
        arguments = [str(a) for a in self.definition.get("arguments") or []]
        self.child = ScriptProcess(
            [str(launch.python), launch.script, *arguments],
            cwd=self.paths.work_dir,
            env=launch.env,
            log_path=self.paths.driver_log,
        )
        _say(f"started {launch.script} as pid {self.child.pid} with {launch.python}")
        self._forwarder = LogForwarder(self.paths.driver_log, [write_stdout]).start()

        def startup(store: Store) -> None:
            workdir.record_environment(store, self.run_id, self.definition, launch.interpreter)
            store.set_status(self.run_id, RunStatus.STARTING, expected=[RunStatus.PREPARING])
            store.set_status(self.run_id, RunStatus.RUNNING, expected=[RunStatus.STARTING])

        self.monitor = Monitor(
            self.run_id,
            self.paths.journal,
            self.owner,
            connect=self._open_store,
            startup=startup,
            wake=self._signals.wake if self._signals is not None else lambda: None,
            say=_say,
        ).start()

    def _supervise(self) -> int:
        assert self.child is not None and self.monitor is not None
        child, monitor = self.child, self.monitor
        limit = self.definition.get("max_run_duration_seconds")
        deadline = child.started + float(limit) if limit else None
        kill_at: float | None = None
        while (code := child.returncode) is None:
            if monitor.failure is not None:
                raise monitor.failure
            if monitor.gone is not None:
                raise RunGone(monitor.gone)
            now = time.monotonic()
            if self.stop_reason is None:
                if self.signalled:
                    self._request_stop("canceled: the runner received SIGTERM", canceled=True)
                elif monitor.cancel_requested:
                    self._request_stop("canceled on request", canceled=True)
                elif deadline is not None and now >= deadline:
                    self._request_stop(f"exceeded max_run_duration_seconds={limit}", False)
            if self.stop_reason is not None and kill_at is None:
                child.signal_group(signal.SIGTERM)
                kill_at = now + self._grace()
            elif kill_at is not None and now >= kill_at:
                child.signal_group(signal.SIGKILL)
                kill_at = float("inf")
            self._wait(min(deadline or now + 1.0, kill_at or now + 1.0, now + 1.0) - now)
        return code

    def _outcome(self, code: int) -> Outcome:
        from runyard.runner.outcome import decide  # not needed before the script ends

        assert self.child is not None
        took = time.monotonic() - self.child.started
        _say(f"script exited with code {code} after {took:.3f} s")
        # Whatever the script left behind in its group goes with it.
        self.child.signal_group(signal.SIGKILL)
        self.child.close()
        if self._forwarder is not None:
            self._forwarder.stop()
        return decide(
            code,
            stop_reason=self.stop_reason,
            canceled=self.canceled,
            driver_log=self.paths.driver_log,
        )

    def _finish(self, outcome: Outcome) -> None:
        monitor = self._stop_monitor()
        assert monitor is not None
        if monitor.failure is not None:
            raise monitor.failure
        if monitor.gone is not None:
            raise RunGone(monitor.gone)
        store = self._open_store()
        self._set(RunStatus.FINALIZING, expected=[RunStatus.RUNNING])
        for folder in ("outputs", "logs"):
            try:
                workdir.collect(store, self.run_id, self.paths.work_dir / folder, folder)
            except (OSError, RunyardError) as exc:
                _say(f"collecting ./{folder} failed: {exc}")
        monitor.ingest(final=True)
        self._set(
            outcome.status,
            exit_code=outcome.exit_code,
            error=outcome.error,
            expected=[RunStatus.FINALIZING],
        )
        _say(
            f"run {self.run_id} {outcome.status.value} (exit code {outcome.exit_code}); "
            f"runner peak RSS {_peak_rss_mb():.1f} MB"
        )

    # -- pieces -----------------------------------------------------------------------

    def _open_store(self) -> Store:
        if self.store is None:
            from runyard.store.workspace_files import open_workspace_store

            _config, self.store = open_workspace_store(self.ws.config_path)
        return self.store

    def _set(
        self,
        status: RunStatus,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        expected: list[RunStatus] | None = None,
    ) -> None:
        try:
            self._open_store().set_status(
                self.run_id, status, exit_code=exit_code, error=error, expected=expected
            )
        except ConflictError as exc:
            raise RunGone(str(exc)) from None

    def _request_stop(self, reason: str, canceled: bool) -> None:
        _say(f"stopping the script: {reason}")
        self.stop_reason, self.canceled = reason, canceled

    def _grace(self) -> float:
        target = self.ws.target(self.target_name)
        value = target.options.get(GRACE_OPTION) if target is not None else None
        return float(value) if isinstance(value, (int, float)) else CANCEL_GRACE_S

    def _wait(self, timeout: float) -> None:
        """Sleeps until ``timeout``, the script's exit, a signal or news from the
        monitor, whichever is first."""
        assert self.child is not None
        wake = self._signals.wake_fd if self._signals is not None else None
        fds = [fd for fd in (wake, self.child.pidfd) if fd is not None]
        if self.child.pidfd is None or wake is None:
            timeout = min(timeout, 0.05)
        ready, _, _ = select.select(fds, [], [], max(0.0, timeout))
        if wake is not None and wake in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake, 512)

    def _stop_monitor(self) -> Monitor | None:
        if self.monitor is not None:
            self.monitor.stop()
        return self.monitor

    def _stop_child(self, grace: float) -> None:
        if self.child is not None and self.child.returncode is None:
            self.child.stop(grace)

    def _fail(self, reason: str) -> None:
        """Marks the run Failed if it is still active; never raises."""
        try:
            if self.monitor is not None:
                self.monitor.ingest(final=True)
            self._open_store().set_status(
                self.run_id, RunStatus.FAILED, error=reason, expected=list(ACTIVE_STATUSES)
            )
        except Exception as exc:
            _say(f"could not mark run {self.run_id} Failed: {exc}")

    def _next_and_clean(self) -> None:
        """Frees the slot for the next queued run of the target, then cleans up."""
        target = self.ws.target(self.target_name)
        try:
            if target is not None and target.type == "local" and self.store is not None:
                from runyard.runner.launch import claim_and_launch

                launched = claim_and_launch(self.store, self.ws.config_path, target)
                if launched:
                    _say(f"launched the next queued run(s): {', '.join(launched)}")
        except Exception as exc:
            _say(f"could not launch the next queued run: {exc}")
        shutil.rmtree(self.paths.work_dir, ignore_errors=True)
        if self.store is not None:
            self.store.close()


USAGE = "usage: python -m runyard.runner RUN_ID --workspace-config PATH"


def parse_args(argv: list[str]) -> tuple[str, Path]:
    """``RUN_ID --workspace-config PATH``. (Not argparse: the runner's start-up time
    is the run's start-up time, and argparse is a slow import for two arguments.)"""
    run_id: str | None = None
    config: str | None = None
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help"):
            print(f"{USAGE}\n\nSupervises one submitted run of a workspace.")
            raise SystemExit(0)
        if arg == "--workspace-config":
            config = next(args, None)
        elif arg.startswith("--workspace-config="):
            config = arg.partition("=")[2]
        elif run_id is None and not arg.startswith("-"):
            run_id = arg
        else:
            print(f"{USAGE}\nunexpected argument {arg!r}", file=sys.stderr)
            raise SystemExit(2)
    if not run_id or not config:
        print(f"{USAGE}\nboth RUN_ID and --workspace-config are required", file=sys.stderr)
        raise SystemExit(2)
    return run_id, Path(config)


def main(argv: list[str]) -> int:
    run_id, config_path = parse_args(argv)
    # Signals first: a cancel that comes while the runner starts must not kill it.
    signals = Signals()
    try:
        ws = WorkspaceContext.load(config_path)
    except RunyardError as exc:
        _say(f"cannot read the workspace: {exc}")
        return 2
    return Supervisor(run_id, ws, signals).run()
