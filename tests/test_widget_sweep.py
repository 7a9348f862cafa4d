"""The notebook widget's sweep view (issue 18 item 7): ``RunDetails(hd_run)`` for a
sweep's parent run carries the trials table, every trial's primary-metric chart and the
parallel coordinates, follows the sweep while its trials change, and keeps them in the
static HTML snapshot (in a real JupyterLab: test_widget_sweep_jupyterlab.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("anywidget")

from runyard.core.run import Run
from runyard.entities import RunKind, RunStatus
from runyard.store.base import Store
from runyard.sweeps import spec as names
from runyard.widgets import RunDetails
from tests.support.sweep_data import add_trial, fill, log_curve, make_sweep
from tests.test_widget import store, wait_for

__all__ = ["store"]  # the fixture, shared with test_widget.py


def test_sweep_state_snapshot_and_live_follow(store: Store) -> None:
    sweep = make_sweep(store, "widget-sweep")
    trials = fill(store, sweep)
    widget = RunDetails(Run(store, sweep.run_id), interval=0.1)
    try:
        state = widget.state["sweep"]
        assert state["metric"] == "val_acc" and state["total"] == 6 and state["planned"] == 6
        order = [r["run_id"] for r in state["rows"]]
        assert order == [trials[i].run_id for i in (0, 2, 1, 4, 3, 5)]  # best val_acc first
        outcomes = [r["outcome"] for r in state["rows"]]
        assert outcomes == ["completed"] * 3 + ["failed", "stopped by policy", "no metric"]
        assert state["rows"][0]["parameters"] == {"--batch": 32, "--lr": 0.05}
        assert state["curves_svg"].count('class="stop-mark"') == 1
        assert state["parallel_svg"].count("data-run=") == 5

        html = widget._repr_mimebundle_()[0]["text/html"]
        assert 'class="ry-trials"' in html and "never logged" in html
        assert "early-terminated: BanditPolicy at interval 4" in html
        assert "<svg" in html and 'class="stop-mark"' in html

        # A trial that starts logging shows up without a refresh call.
        late = add_trial(store, sweep, 6, {"--lr": 0.04, "--batch": 32})
        log_curve(store, late.run_id, [0.97, 0.99])
        wait_for(lambda: widget.state["sweep"]["total"] == 7, timeout=10)
        assert widget.state["sweep"]["rows"][0]["run_id"] == late.run_id
        store.set_status(late.run_id, RunStatus.COMPLETED)
        store.set_tags(sweep.run_id, {names.TAG_ENDED_BECAUSE: "all trials finished"})
        store.set_status(sweep.run_id, RunStatus.COMPLETED)
        wait_for(lambda: widget.state["run"]["terminal"], timeout=10)
        assert widget.state["sweep"]["ended_because"] == "all trials finished"
    finally:
        widget.close()


def test_run_strings_are_escaped_in_the_snapshot(store: Store) -> None:
    sweep = make_sweep(store, "widget-sweep-xss")
    trial = add_trial(store, sweep, 0, {"--lr": "<img src=x onerror=alert(1)>", "--batch": 16})
    log_curve(store, trial.run_id, [0.1, 0.2])
    store.set_tags(trial.run_id, {names.TAG_END_REASON: "<script>alert(2)</script>"})
    widget = RunDetails(Run(store, sweep.run_id))
    try:
        html = widget._repr_mimebundle_()[0]["text/html"]
        assert "<script>" not in html and "<img" not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    finally:
        widget.close()


def test_a_plain_run_has_no_sweep_view(store: Store) -> None:
    exp = store.get_or_create_experiment("widget-plain")
    info = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    widget = RunDetails(Run(store, info.run_id))
    try:
        assert widget.state["sweep"] is None
        assert "ry-trials" not in widget._repr_mimebundle_()[0]["text/html"]
    finally:
        widget.close()
