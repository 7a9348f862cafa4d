"""The sweep controller: one supervised process per sweep, the only writer of its
decisions (which trials start, which stop and why, how the sweep ends).

Each poll it reads the sweep (its cancel request), its trials and their primary metric
summaries in one query, applies the policy, and starts trials into the sweep's
``max_concurrent_runs`` as ordinary queued child runs of the sweep's compute target.
Trial ``i`` has the run id ``<sweep id>_<i>``, so a trial is never created twice, and
everything it decides from is in the store: a controller killed at any point is
replaced by one that picks up where it stopped (:mod:`runyard.sweeps.launch`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runyard.entities import ComputeTargetConfig, RunInfo, RunKind, RunStatus
from runyard.errors import ConflictError, RunyardError
from runyard.store.base import Store
from runyard.sweeps import spec as names
from runyard.sweeps.samplers import make_sampler, planned_total
from runyard.sweeps.space import arguments
from runyard.sweeps.spec import SweepSpec
from runyard.sweeps.termination import make_terminator
from runyard.sweeps.trials import Trial, best_trial, load_trials
from runyard.workspace.owner import owner_string
from runyard.workspace.paths import ResolvedWorkspace

log = logging.getLogger(__name__)
HEARTBEAT_S = 5.0
STOP_WAIT_S = 120.0  # how long a stopping sweep waits for its trials' runners to end


class Controller:
    """Drives sweep ``sweep_id`` of the workspace at ``config_path`` until it ends."""

    def __init__(
        self,
        store: Store,
        config_path: Path,
        sweep_id: str,
        *,
        poll_s: float = 0.2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config_path = Path(config_path)
        self.sweep_id = sweep_id
        self.poll_s = poll_s
        self.clock = clock
        sweep = store.get_run(sweep_id)
        if sweep.kind is not RunKind.SWEEP:
            raise ConflictError(f"run {sweep_id} is not a sweep")
        self.sweep = sweep
        self.spec = SweepSpec.from_dict(sweep.definition["sweep"])
        self.trial_definition = dict(sweep.definition["trial"])
        ws = ResolvedWorkspace.load(self.config_path)
        target = ws.target(sweep.compute_target)
        if target is None:
            raise ConflictError(f"the sweep's compute target {sweep.compute_target!r} is gone")
        self.target: ComputeTargetConfig = target
        warm = [t for sid in self.spec.resume_from for t in self._trials(sid) if t.finished]
        self.sampler = make_sampler(self.spec, warm)
        self.terminator = make_terminator(self.spec)
        self.total = planned_total(self.spec)
        self.replays = [self._replay(rid) for rid in self.spec.resume_child_runs]
        self._beat_at = 0.0
        self._unstuck_at = 0.0

    def _trials(self, sweep_id: str | None = None) -> list[Trial]:
        return load_trials(self.store, sweep_id or self.sweep_id, self.spec.primary_metric)

    def _replay(self, run_id: str) -> tuple[str, dict[str, Any]]:
        params = json.loads(self.store.get_run(run_id).properties.get(names.PROP_PARAMS, "{}"))
        return run_id, params

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> RunInfo:
        """Runs the sweep to its end and returns the sweep as it ended."""
        trials = self._trials()
        for trial in trials:
            self.terminator.adopt(trial)
        if any(t.info.status is RunStatus.QUEUED for t in trials):
            # A controller killed between creating trials and dispatching them left them
            # Queued with no runner; they count as active, so nothing else would start them.
            self._dispatch()
        while True:
            sweep = self.store.get_run(self.sweep_id)
            if sweep.status.is_terminal():
                return sweep
            self._heartbeat()
            trials = self._trials()
            self._unstick(trials)
            ended = self._check_end(sweep, trials)
            if ended is not None:
                return ended
            for trial in trials:
                reason = self.terminator.observe(trial)
                if trial.finished:
                    self._note_end(trial)
                elif reason is not None:
                    self._stop_trial(trial, reason)
            active = [t for t in trials if not t.finished]
            started = self._start_trials(len(trials), len(active), trials)
            if not started and not active and len(trials) >= self.total:
                return self._finish(self._trials())
            if not started:
                time.sleep(self.poll_s)

    def _dispatch(self) -> None:
        """Starts the target's queued runs in its free slots (reaping dead runs first)."""
        from runyard.targets import get_dispatcher

        get_dispatcher(self.target).dispatch(self.store, self.config_path, self.target)

    def _unstick(self, trials: list[Trial]) -> None:
        """A trial claimed (Preparing) but never given a runner — the process that
        claimed it died before starting one, as a killed controller can — would be
        waited for for ever: dispatching reaps it once it stays so for the heartbeat
        timeout (runner.reaper), and the sweep goes on."""
        if not any(t.info.status is RunStatus.PREPARING and t.info.owner is None for t in trials):
            return
        now = time.monotonic()
        if now - self._unstuck_at >= HEARTBEAT_S:
            self._unstuck_at = now
            self._dispatch()

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._beat_at >= HEARTBEAT_S:
            self.store.heartbeat(self.sweep_id, owner_string())
            self._beat_at = now

    def _check_end(self, sweep: RunInfo, trials: list[Trial]) -> RunInfo | None:
        if sweep.cancel_requested_at is not None:
            return self._stop(trials, RunStatus.CANCELED, "the sweep was canceled")
        limit = self.spec.max_duration_minutes
        started = sweep.started_at or sweep.created_at
        if limit is not None and self.clock() - started >= limit * 60:
            return self._stop(
                trials, RunStatus.COMPLETED, f"max_duration_minutes ({limit:g}) reached"
            )
        failures = _consecutive_failures(trials)
        cap = self.spec.max_consecutive_failures
        if len(failures) >= cap:
            last = failures[-1].info.error or "no error recorded"
            return self._stop(
                trials,
                RunStatus.FAILED,
                f"{len(failures)} trials in a row failed (max_consecutive_failures={cap}); "
                f"the last, {failures[-1].run_id}: {last}",
            )
        return None

    # -- trials ------------------------------------------------------------------------

    def _start_trials(self, count: int, active: int, history: Sequence[Trial]) -> int:
        started = 0
        while active + started < self.spec.max_concurrent_runs and count + started < self.total:
            index = count + started
            resumed_from = None
            if index < len(self.replays):
                resumed_from, params = self.replays[index]
            else:
                proposed = self.sampler.propose(index, history)
                if proposed is None:
                    self.total = index  # the space is exhausted
                    break
                params = proposed
            self._create_trial(index, params, resumed_from)
            started += 1
        if started:
            self._dispatch()
        return started

    def _create_trial(self, index: int, params: dict[str, Any], resumed_from: str | None) -> None:
        definition = dict(self.trial_definition)
        definition["arguments"] = [*definition.get("arguments", []), *arguments(params)]
        properties = {names.PROP_TRIAL: str(index), names.PROP_PARAMS: json.dumps(params)}
        if resumed_from is not None:
            properties[names.PROP_RESUMED_FROM] = resumed_from
        try:
            self.store.create_run(
                self.sweep.experiment_id,
                kind=RunKind.SUBMITTED,
                status=RunStatus.QUEUED,
                compute_target=self.target.name,
                parent_run_id=self.sweep_id,
                display_name=f"{self.sweep.display_name or 'sweep'} trial {index}",
                properties=properties,
                definition=definition,
                run_id=f"{self.sweep_id}_{index}",
            )
        except ConflictError:
            log.warning("trial %d of %s exists already", index, self.sweep_id)

    def _stop_trial(self, trial: Trial, reason: str) -> None:
        from runyard.targets.cancel import cancel_run

        log.info("stopping %s: %s", trial.run_id, reason)
        self.store.set_tags(
            trial.run_id,
            {
                names.TAG_END_REASON: f"early-terminated: {reason}",
                names.TAG_STOPPED_AT: str(trial.count),
            },
        )
        cancel_run(self.store, trial.run_id)

    def _note_end(self, trial: Trial) -> None:
        """Why a finished trial ended, written once (a stopped one has it already)."""
        tags = dict(trial.info.tags)
        if names.TAG_END_REASON in tags:
            return
        metric = self.spec.primary_metric
        if trial.status is RunStatus.COMPLETED:
            reason = "completed"
        else:
            reason = f"{trial.status.value.lower()}: {trial.info.error or 'no error recorded'}"
        new = {names.TAG_END_REASON: reason}
        if trial.summary is None:
            new[names.TAG_NO_METRIC] = f"the trial never logged the primary metric {metric!r}"
        self.store.set_tags(trial.run_id, new)

    # -- the end -----------------------------------------------------------------------

    def _stop(self, trials: list[Trial], status: RunStatus, because: str) -> RunInfo:
        """Ends the sweep early: cancels its unfinished trials and waits for them."""
        from runyard.targets.cancel import cancel_run

        for trial in trials:
            if not trial.finished:
                self.store.set_tags(trial.run_id, {names.TAG_END_REASON: f"canceled: {because}"})
                try:
                    cancel_run(self.store, trial.run_id)
                except RunyardError as exc:
                    log.warning("could not cancel %s: %s", trial.run_id, exc)
        deadline = time.monotonic() + STOP_WAIT_S
        while time.monotonic() < deadline:
            trials = self._trials()
            if all(t.finished for t in trials):
                break
            self._heartbeat()
            time.sleep(self.poll_s)
        for trial in trials:
            if trial.finished:
                self._note_end(trial)
        return self._end(trials, status, because)

    def _finish(self, trials: list[Trial]) -> RunInfo:
        for trial in trials:
            self._note_end(trial)
        if trials and all(t.status is RunStatus.FAILED for t in trials):
            return self._end(trials, RunStatus.FAILED, f"all {len(trials)} trials failed")
        because = f"all {len(trials)} trials finished"
        if len(trials) < self.spec.max_total_runs:
            because += f" (the search space has {len(trials)} points)"
        return self._end(trials, RunStatus.COMPLETED, because)

    def _end(self, trials: list[Trial], status: RunStatus, because: str) -> RunInfo:
        tags = {names.TAG_ENDED_BECAUSE: because}
        best = best_trial(trials, self.spec.maximize)
        if best is not None:
            tags[names.TAG_BEST_RUN] = best.run_id
        elif trials:
            tags[names.TAG_NO_METRIC] = (
                f"no trial logged the primary metric {self.spec.primary_metric!r}"
            )
        self.store.set_tags(self.sweep_id, tags)
        error = None if status is RunStatus.COMPLETED else because
        try:
            return self.store.set_status(
                self.sweep_id, status, error=error, expected=[RunStatus.RUNNING]
            )
        except ConflictError:
            return self.store.get_run(self.sweep_id)


def _consecutive_failures(trials: list[Trial]) -> list[Trial]:
    """The trials that failed in a row most recently (by end time)."""
    ended = sorted((t for t in trials if t.finished), key=lambda t: t.info.ended_at or 0.0)
    run: list[Trial] = []
    for trial in ended:
        if trial.status is RunStatus.FAILED:
            run.append(trial)
        elif trial.status is RunStatus.COMPLETED:
            run = []
    return run
