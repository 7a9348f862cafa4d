"""``azureml.train.hyperdrive.run``: ``HyperDriveRun``, the handle of a sweep."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from runyard.core.run import Run
from runyard.entities import RunStatus
from runyard.errors import RunFailedError, RunyardError
from runyard.sweeps.report import format_table, sorted_trials, sweep_rows, sweep_spec, trial_row
from runyard.sweeps.trials import Trial, load_trials

_POLL_S = 0.5


class HyperDriveRun(Run):
    """A sweep run: its children are the trials. Get one from
    ``experiment.submit(hyperdrive_config)`` or ``HyperDriveRun(experiment, run_id)``."""

    def __init__(
        self, store: Any, info: Any = None, *, workspace: Any = None, **kwargs: Any
    ) -> None:
        from runyard.core.experiment import Experiment

        if isinstance(store, Experiment):  # the SDK's HyperDriveRun(experiment, run_id)
            workspace, store = store.workspace, store.workspace.store
        super().__init__(store, info, workspace=workspace, **kwargs)

    def _trials(self) -> list[Trial]:
        spec = sweep_spec(self.info)
        return load_trials(self._require_store("trials"), self.id, spec.primary_metric)

    @property
    def primary_metric_name(self) -> str:
        return sweep_spec(self._known()).primary_metric

    def get_hyperparameters(self) -> dict[str, str]:
        """Each trial's parameters as the SDK gives them: ``{run_id: json text}``."""
        return {t.run_id: json.dumps(t.params) for t in self._trials()}

    def get_children_sorted_by_primary_metric(
        self, top: int = 0, reverse: bool = False, discard_no_metric: bool = False
    ) -> list[dict[str, Any]]:
        """The trials best first (``reverse``: worst first), each as ``{"run_id",
        "hyperparameters", "best_primary_metric", "status", ...}``; ``top`` > 0 keeps
        that many; ``discard_no_metric`` drops trials that never logged the metric."""
        maximize = sweep_spec(self._known()).maximize
        trials = sorted_trials(self._trials(), maximize, reverse=reverse)
        rows = [trial_row(t, maximize) for t in trials]
        if discard_no_metric:
            rows = [r for r in rows if r["best_primary_metric"] is not None]
        return rows[:top] if top > 0 else rows

    def get_best_run_by_primary_metric(
        self,
        include_failed: bool = True,
        include_canceled: bool = True,
        include_resume_from_runs: bool = True,
    ) -> Run | None:
        """The trial with the best primary metric value, or None when none logged it."""
        maximize = sweep_spec(self._known()).maximize
        for trial in sorted_trials(self._trials(), maximize):
            if trial.best(maximize) is None:
                break
            if trial.status is RunStatus.FAILED and not include_failed:
                continue
            if trial.status is RunStatus.CANCELED and not include_canceled:
                continue
            return Run(self._require_store("runs"), trial.info, workspace=self._workspace)
        return None

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = True,
        *,
        rank: int | str | None = None,
    ) -> dict[str, Any]:
        """Each trial's metrics by run id (the SDK's HyperDriveRun.get_metrics); ``rank``
        as in :meth:`Run.get_metrics` for trials that are distributed runs."""
        store = self._require_store("metrics")
        return {
            t.run_id: Run(store, t.info, workspace=self._workspace).get_metrics(name, rank=rank)
            for t in self._trials()
        }

    def cancel(self) -> None:
        """Cancels the sweep: its controller cancels every unfinished trial, then marks
        the sweep Canceled. With no controller alive, that is done here."""
        from runyard.sweeps.launch import controller_alive
        from runyard.targets.cancel import cancel_run

        store = self._require_store("runs")
        self._info = store.request_cancel(self.id)
        root = self._require_workspace().artifact_root
        if self._info.status.is_terminal() or controller_alive(root, self.id):
            return
        for trial in self._trials():
            if not trial.finished:
                cancel_run(store, trial.run_id)
        try:
            self._info = store.set_status(
                self.id,
                RunStatus.CANCELED,
                error="the sweep was canceled",
                expected=[RunStatus.RUNNING],
            )
        except RunyardError:
            self._info = store.get_run(self.id)

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Waits for the sweep to end; with ``show_output``, prints the trials table
        each time it changes (trials sorted by the primary metric)."""
        store = self._require_store("status to wait for")
        deadline = None if timeout is None else time.monotonic() + timeout
        shown = ""
        while True:
            info = store.get_run(self.id)
            if show_output:
                text = format_table(info, sweep_rows(store, info))
                if text != shown:
                    sys.stdout.write(text + "\n\n")
                    sys.stdout.flush()
                    shown = text
            if info.status.is_terminal():
                break
            if deadline is not None and time.monotonic() > deadline:
                raise RunyardError(
                    f"sweep {self.id} is still {info.status.value} after {timeout} s"
                )
            time.sleep(_POLL_S)
        self._info = info
        result = self.get_details()
        if raise_on_error and info.status in (RunStatus.FAILED, RunStatus.CANCELED):
            raise RunFailedError(
                f"sweep {self.id} ended {info.status.value}: {info.error or 'no error recorded'}",
                result,
            )
        return result


__all__ = ["HyperDriveRun"]
