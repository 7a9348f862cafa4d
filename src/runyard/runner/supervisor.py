"""Supervises one submitted run, from a claimed (Preparing) run to its final status.

The supervisor is handed its parts (:class:`~runyard.runner.parts.RunnerParts`: run
source, paths, store, log sink, launcher), so a local run and a run on a Ray node differ
only in what they are handed. The order is chosen for start-up time: the claim comes
first, the snapshot is materialised and the script started *before* the store is
opened when it can be (SQLAlchemy costs a few hundred milliseconds to import). The
store work then happens in a background :class:`~runyard.runner.monitor.Monitor`
(heartbeat, Starting and Running, journal ingest, cancel requests), while this thread
waits for the script, the duration limit and signals, and stops the script when asked.
After the script: the run's outputs and logs are collected, the journal drained and the
final status set; then the target's next queued runs are started in the freed slot.

The runner is the only writer of a submitted run's status; every change is a
compare-and-set, so a run finished by someone else (the reaper) is never reopened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import select
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from runyard.assets.outputs import finish_outputs
from runyard.entities import ACTIVE_STATUSES, ComputeTargetConfig, RunStatus
from runyard.environments import stopping
from runyard.errors import ConflictError, RunyardError
from runyard.runner import sampling, workdir
from runyard.runner.distributed import RankGroup, RankPlan, plan_of
from runyard.runner.monitor import Monitor
from runyard.runner.parts import RunGone, RunnerParts, SetupFailed, StudioUnreachable
from runyard.runner.process import LogForwarder, ScriptProcess, peak_rss_mb, write_stdout
from runyard.runner.signals import CANCEL_REQUESTED, Signals
from runyard.store.runner_protocol import RunnerStore
from runyard.workspace.owner import owner_string
from runyard.workspace.targets import cancel_grace_s

if TYPE_CHECKING:
    from runyard.runner.outcome import Outcome

# The runner's exit status when the store never answered (nothing could be recorded).
EXIT_UNREACHABLE = 3


def say(message: str) -> None:
    """A line in the runner's own log (its stderr)."""
    stamp = time.strftime("%H:%M:%S")
    print(f"[runyard runner {stamp}] {message}", file=sys.stderr, flush=True)


class _CanceledEarly(Exception):
    """Canceled while preparing: the status is written, nothing else is left to do."""


def _needs_build(definition: Mapping[str, Any]) -> bool:
    environment = definition.get("environment")
    return isinstance(environment, Mapping) and environment.get("spec") is not None


class Supervisor:
    """Drives one run. ``run()`` returns the runner's exit status."""

    def __init__(self, parts: RunnerParts, signals: Signals | None = None) -> None:
        self.parts = parts
        self.run_id = parts.run_id
        self.paths = parts.paths
        self.owner = owner_string()
        self.child: ScriptProcess | RankGroup | None = None
        self.monitor: Monitor | None = None
        self.definition: dict[str, Any] = {}
        self.target: ComputeTargetConfig | None = None
        self.epoch: int | None = None  # fencing: the run's epoch when claimed
        self.stop_reason: str | None = None
        self.canceled = False
        self._store: RunnerStore | None = None
        self._signals = signals
        self._forwarder: LogForwarder | None = None
        self._logs_home = True
        self._sampler = sampling.RunSampler()  # system metrics, once the script runs

    # -- the lifecycle ----------------------------------------------------------------

    def run(self) -> int:
        status = 0
        try:
            self._start()
            code = self._supervise()
            self._finish(self._outcome(code))
        except StudioUnreachable as gone:
            say(f"stopped: {gone}")
            self._stop_monitor()
            status = EXIT_UNREACHABLE  # the job fails, with the reason in its log
        except _CanceledEarly as early:
            say(f"run {self.run_id} Canceled: {early}")
            self._stop_monitor()
        except RunGone as gone:
            say(f"stopped without writing the run's status: {gone}")
            self._stop_monitor()
            self._stop_child(grace=0.0)
        except SetupFailed as exc:
            say(f"run {self.run_id} cannot start: {exc}")
            self._fail(str(exc))
        except BaseException as exc:  # the runner itself broke: still record why
            say(f"runner crashed:\n{traceback.format_exc()}")
            self._stop_monitor()
            self._stop_child(grace=1.0)
            self._fail(f"runner crashed: {type(exc).__name__}: {exc}")
            status = 1
        finally:
            if self._forwarder is not None:
                self._forwarder.stop()
        self._next_and_clean()
        return status

    def _dataset_manifest(self, dataset_id: str) -> Mapping[str, Any]:
        return self.store().get_dataset_by_id(dataset_id).manifest

    def _start(self) -> None:
        claim = self.parts.source.claim(self.store)
        self.definition = claim.definition
        self.epoch = claim.epoch
        self.target = self.parts.targets(claim.compute_target)
        self.parts.logs.start()
        if _needs_build(self.definition):
            # A build can take minutes: beat and watch for a cancel meanwhile.
            self._start_monitor()
        try:
            with self._stoppable():
                launch = workdir.prepare(self.paths, self.parts.script, self.definition)
        except RunyardError as exc:
            if self._cancel_reason() is None:
                raise SetupFailed(str(exc)) from None
            launch = None  # the build failed because it was stopped
        if self._cancel_reason() is not None or launch is None:
            self._canceled_early()
        try:
            argv, env = workdir.command(
                launch, self.definition, self.paths.work_dir, self._dataset_manifest, self.run_id
            )
        except RunyardError as exc:
            raise SetupFailed(str(exc)) from None
        if (plan := plan_of(self.definition)) is not None:  # ranks, one log each
            plan, remote = self._other_nodes(plan)
            self.child = RankGroup(
                argv, cwd=self.paths.work_dir, env=env, plan=plan, journal=self.paths.journal,
                logs_dir=self.paths.driver_log.parent.parent, driver_log=self.paths.driver_log,
                remote=remote,
            )  # fmt: skip
        else:
            self.child = ScriptProcess(
                argv, cwd=self.paths.work_dir, env=env, log_path=self.paths.driver_log
            )
        say(f"started {launch.script} as pid {self.child.pid} with {launch.python}")
        self._sampler = sampling.start_sampler(self.child, self.paths, env, say)
        self._forwarder = LogForwarder(self.paths.driver_log, [write_stdout]).start()

        def startup(store: RunnerStore) -> None:
            workdir.record_environment(store, self.run_id, self.definition, launch.interpreter)
            epoch, preparing, starting = self.epoch, [RunStatus.PREPARING], [RunStatus.STARTING]
            store.set_status(self.run_id, RunStatus.STARTING, expected=preparing, epoch=epoch)
            store.set_status(self.run_id, RunStatus.RUNNING, expected=starting, epoch=epoch)

        self._start_monitor().script_started(startup)

    def _canceled_early(self) -> NoReturn:
        self._end(RunStatus.CANCELED, error="canceled before the script started")
        raise _CanceledEarly(f"{self._cancel_reason()}, before the script started")

    def _other_nodes(self, plan: RankPlan) -> tuple[RankPlan, dict[int, Any]]:
        """Rank groups 1.. of a run over several Ray nodes, started there."""
        if plan.node_count == 1:
            return plan, {}
        from runyard.runner.ray_nodes import start_other_nodes

        started = start_other_nodes(
            plan, self.run_id, self.parts.script, self.definition, self.epoch,
            self.paths.driver_log.parent.parent, canceled=self._cancel_reason, say=say,
        )  # fmt: skip
        if started is None:
            self._canceled_early()
        return started

    def _supervise(self) -> int:
        assert self.child is not None and self.monitor is not None
        child, monitor = self.child, self.monitor
        limit = self.definition.get("max_run_duration_seconds")
        deadline = child.started + float(limit) if limit else None
        while (code := child.returncode) is None:
            if monitor.failure is not None:
                raise monitor.failure
            if monitor.gone is not None:
                raise RunGone(monitor.gone)
            now = time.monotonic()
            if self.stop_reason is None:
                if (reason := self._cancel_reason()) is not None:
                    self._request_stop(reason, canceled=True)
                elif deadline is not None and now >= deadline:
                    self._request_stop(f"exceeded max_run_duration_seconds={limit}", False)
            if self.stop_reason is not None:
                child.terminate(cancel_grace_s(self.target))
            kill_in = child.enforce_grace()
            wait = 1.0 if deadline is None else deadline - now
            self._wait(min(wait, kill_in if kill_in is not None else 1.0, 1.0))
        return code

    def _outcome(self, code: int) -> Outcome:
        from runyard.runner.outcome import decide  # not needed before the script ends

        assert self.child is not None
        took = time.monotonic() - self.child.started
        self._sampler.stop()  # its journal is complete before the final ingest
        say(f"script exited with code {code} after {took:.3f} s")
        # Whatever the script left behind in its group goes with it.
        self.child.signal_group(signal.SIGKILL)
        self.child.close()
        if self._forwarder is not None:
            self._forwarder.stop()
        if isinstance(self.child, RankGroup):
            return self.child.outcome(stop_reason=self.stop_reason, canceled=self.canceled)
        return decide(
            code,
            stop_reason=self.stop_reason,
            canceled=self.canceled,
            driver_log=self.paths.driver_log,
            environment=(self.definition.get("environment") or {}).get("name") or None,
        )

    def _finish(self, outcome: Outcome) -> None:
        monitor = self._stop_monitor()
        assert monitor is not None
        if monitor.failure is not None:
            raise monitor.failure
        if monitor.gone is not None:
            raise RunGone(monitor.gone)
        store = self.store()
        self._set(RunStatus.FINALIZING, expected=[RunStatus.RUNNING])
        from runyard.runner.outcome import with_request

        monitor.ingest(final=True)  # first: the script may have called run.fail()
        outcome = with_request(outcome, monitor.status_request)
        for folder in ("outputs", "logs"):
            try:
                workdir.collect(store, self.run_id, self.paths.work_dir / folder, folder)
            except (OSError, RunyardError) as exc:
                say(f"collecting ./{folder} failed: {exc}")
        if outcome.status is RunStatus.COMPLETED and self.definition.get("inputs"):
            try:  # dataset outputs: uploaded and registered (runyard.assets.outputs)
                done = finish_outputs(store, self.run_id, self.definition, self.paths.work_dir)
                for line in done:
                    say(line)
            except (OSError, RunyardError) as exc:
                error = f"saving the run's dataset outputs failed: {exc}"
                outcome = dataclasses.replace(outcome, status=RunStatus.FAILED, error=error)
        monitor.ingest(final=True)
        parent_end = None if outcome.status is RunStatus.COMPLETED else "its parent run ended"
        if ended := monitor.end_children(outcome.status, parent_end):
            say(f"ended the child runs the script left open: {', '.join(ended)}")
        self._end(
            outcome.status,
            exit_code=outcome.exit_code,
            error=outcome.error,
            expected=[RunStatus.FINALIZING],
        )
        say(
            f"run {self.run_id} {outcome.status.value} (exit code {outcome.exit_code}); "
            f"runner peak RSS {peak_rss_mb():.1f} MB"
        )

    # -- pieces -----------------------------------------------------------------------

    def store(self) -> RunnerStore:
        """The run's store, opened on first use."""
        if self._store is None:
            self._store = self.parts.open_store()
        return self._store

    def _start_monitor(self) -> Monitor:
        if self.monitor is None:
            signals = self._signals
            self.monitor = Monitor(
                self.run_id,
                self.paths.journal,
                self.owner,
                connect=self.store,
                on_cancel=self._on_cancel_request,
                wake=signals.wake if signals is not None else lambda: None,
                say=say,
                epoch=self.epoch,
            ).start()
        return self.monitor

    def _on_cancel_request(self) -> None:
        """Called by the monitor when it sees the run's cancel request."""
        if self._signals is not None:
            self._signals.cancel(CANCEL_REQUESTED)
        else:
            stopping.current().stop(CANCEL_REQUESTED)

    def _cancel_reason(self) -> str | None:
        if self._signals is not None and self._signals.reason is not None:
            return self._signals.reason
        if self.monitor is not None and self.monitor.cancel_requested:
            return CANCEL_REQUESTED
        return None

    @contextlib.contextmanager
    def _stoppable(self) -> Iterator[None]:
        """While the run is prepared, a cancel kills the build tools (see signals.py)."""
        with stopping.stoppable() as build:
            if self._signals is None:
                yield
            else:
                with self._signals.stopping(build.stop):
                    yield

    def _set(
        self,
        status: RunStatus,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        expected: list[RunStatus] | None = None,
    ) -> None:
        try:
            self.store().set_status(
                self.run_id, status, exit_code=exit_code, error=error, expected=expected,
                epoch=self.epoch,
            )  # fmt: skip
        except ConflictError as exc:
            raise RunGone(str(exc)) from None

    def _end(
        self,
        status: RunStatus,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        expected: list[RunStatus] | None = None,
    ) -> None:
        """The final status, after the logs: whoever sees it must see the whole log."""
        self._logs_home = self.parts.logs.finish()
        if not self._logs_home:
            say(f"logs not all sent; they stay under {self.paths.run_dir}")
        expected = expected or [RunStatus.PREPARING]
        self._set(status, exit_code=exit_code, error=error, expected=expected)

    def _request_stop(self, reason: str, canceled: bool) -> None:
        say(f"stopping the script: {reason}")
        self.stop_reason, self.canceled = reason, canceled

    def _wait(self, timeout: float) -> None:
        """Sleeps until ``timeout``, the script's exit, a signal or news from the
        monitor, whichever is first."""
        assert self.child is not None
        wake = self._signals.wake_fd if self._signals is not None else None
        fds = [fd for fd in (wake, self.child.pidfd) if fd is not None]
        if self.child.pidfd is None or wake is None:
            timeout = min(timeout, 0.05)
        ready, _, _ = select.select(fds, [], [], max(0.0, timeout))
        if self._signals is not None and wake in ready:
            self._signals.drain()

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
                self.monitor.ingest(final=True)  # reports its own failure; the end goes on
            self._logs_home = self.parts.logs.finish()
            active = list(ACTIVE_STATUSES)
            self.store().set_status(
                self.run_id, RunStatus.FAILED, error=reason, expected=active, epoch=self.epoch
            )
        except Exception as exc:
            say(f"could not mark run {self.run_id} Failed: {exc}")

    def _next_and_clean(self) -> None:
        """Fills the slot this run freed with the target's next queued run, then cleans
        up (a staging folder too, once everything in it is home)."""
        if self._store is not None and self.target is not None:
            starter = self.parts.launcher.starter(self.target)
            try:
                if starter is not None:
                    from runyard.runner.slots import fill_slots

                    launched = fill_slots(self._store, self.target, starter)
                    if launched:
                        say(f"launched the next queued run(s): {', '.join(launched)}")
            except Exception as exc:
                say(f"could not launch the next queued run ({exc}); the next submit will")
        shutil.rmtree(self.paths.work_dir, ignore_errors=True)
        if self.paths.staging and self._logs_home and self._journal_home():
            shutil.rmtree(self.paths.run_dir, ignore_errors=True)
        if self._store is not None:
            self._store.close()

    def _journal_home(self) -> bool:
        """Whether the store has all of the journal (ingesting what it still lacks)."""
        if self.monitor is None or not self.paths.journal.exists():
            return True
        home = self.monitor.ingest(final=True)
        if not home:
            say(f"metrics not all sent; the journal stays at {self.paths.journal}")
        return home
