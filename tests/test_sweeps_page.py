"""The studio's sweep page in real headless Chromium against a real server and store.

The sweep is written into the store with the names the controller writes (trial
properties, end-reason and stopped-at tags), so the page is checked against known
values; ``tests/test_sweeps.py`` runs real controllers. ``RUNYARD_SCREENSHOTS=1`` also
saves ``docs/screenshots/sweep.png``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.entities import RunKind, RunStatus
from runyard.server import create_app
from runyard.store.base import Store
from runyard.sweeps import spec as names
from tests.support.server import RunningServer, open_test_store, start_server
from tests.support.sweep_data import add_trial, curve, fill, log_curve, make_sweep

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    pytest.skip("needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)

from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("sweep-page"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(store, token="tok", workspace_name="sweep-ws"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def test_sweep_page_table_charts_and_live_update(
    store: Store, server: RunningServer, page: Page
) -> None:
    sweep = make_sweep(store, "sweep-page")
    trials = fill(store, sweep)
    # The sweep parent's run page links to its sweep page.
    page.goto(f"{server.url}/runs/{sweep.run_id}")
    page.click("#sweep-link a")
    page.wait_for_url(f"**/sweeps/{sweep.run_id}")

    rows = page.locator("#trials tbody tr")
    expect(rows).to_have_count(6)
    order = [rows.nth(i).get_attribute("data-run") for i in range(6)]
    # Best val_acc first (max of each curve), unscored last.
    best = {
        t.run_id: max(v)
        for t, v in zip(
            trials,
            [
                curve(0.91, 3, 12),
                curve(0.84, 5, 12),
                curve(0.88, 2, 12),
                curve(0.55, 6, 5),
                curve(0.70, 3, 3),
            ],
            strict=False,
        )
    }
    assert order[:5] == sorted(best, key=lambda r: -best[r])
    assert order[5] == trials[5].run_id
    outcomes = {
        rows.nth(i).get_attribute("data-run"): rows.nth(i).get_attribute("data-outcome")
        for i in range(6)
    }
    assert outcomes == {
        trials[0].run_id: "completed",
        trials[1].run_id: "completed",
        trials[2].run_id: "completed",
        trials[3].run_id: "stopped by policy",
        trials[4].run_id: "failed",
        trials[5].run_id: "no metric",
    }
    expect(page.locator(f'#trials tr[data-run="{trials[5].run_id}"]')).to_contain_text(
        "never logged"
    )
    expect(page.locator(f'#trials tr[data-run="{trials[3].run_id}"]')).to_contain_text(
        "at interval 4"
    )
    expect(page.locator(f'#trials tr[data-run="{trials[0].run_id}"] td.param').nth(1)).to_have_text(
        "0.05"
    )

    # One line per trial with points; the stopped one has its cross at its 4th point.
    expect(page.locator("#curves svg path[data-outcome]")).to_have_count(5)
    expect(page.locator("#curves svg path.stop-mark")).to_have_count(1)
    assert page.locator("#curves svg path.stop-mark").get_attribute("data-run") == trials[3].run_id
    # Parallel coordinates: two parameter axes and the metric, one line per scored trial.
    expect(page.locator("#parallel svg path[data-run]")).to_have_count(5)
    expect(page.locator("#parallel svg")).to_contain_text("--lr")
    expect(page.locator("#parallel svg")).to_contain_text("val_acc")
    expect(page.locator("#importance tbody tr")).to_have_count(2)

    # Live: a new trial logging moves the page without a reload.
    page.wait_for_function("() => window.runyard.sweep.live === true")
    late = add_trial(store, sweep, 6, {"--lr": 0.04, "--batch": 32})
    log_curve(store, late.run_id, [0.97, 0.99])
    expect(rows).to_have_count(7, timeout=8_000)
    expect(rows.first).to_have_attribute("data-run", late.run_id)
    expect(page.locator("#curves svg path[data-outcome]")).to_have_count(6)
    store.set_status(late.run_id, RunStatus.COMPLETED)
    store.set_tags(sweep.run_id, {names.TAG_ENDED_BECAUSE: "all trials finished"})
    store.set_status(sweep.run_id, RunStatus.COMPLETED)
    expect(page.locator("#sweep-status")).to_have_text("Completed", timeout=8_000)
    page.wait_for_function("() => window.runyard.sweep.live === false")
    expect(page.locator("#sweep-summary")).to_contain_text("all trials finished")


def test_names_from_runs_are_escaped(store: Store, server: RunningServer, page: Page) -> None:
    sweep = make_sweep(store, "sweep-xss")
    trial = add_trial(store, sweep, 0, {"--lr": "<img src=x onerror=alert(1)>", "--batch": 16})
    log_curve(store, trial.run_id, [0.1, 0.2])
    store.set_tags(trial.run_id, {names.TAG_END_REASON: "<script>alert(2)</script>"})
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"{server.url}/sweeps/{sweep.run_id}")
    expect(page.locator("#trials td.reason")).to_have_text("<script>alert(2)</script>")
    expect(page.locator("#parallel svg")).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#trials img, #parallel img").count() == 0
    assert dialogs == []


def test_a_run_that_is_not_a_sweep_is_a_clear_400(
    store: Store, server: RunningServer, page: Page
) -> None:
    exp = store.get_or_create_experiment("not-a-sweep")
    run = store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING)
    resp = page.request.get(f"{server.url}/api/sweeps/{run.run_id}/view")
    assert resp.status == 400
    assert "not a sweep" in resp.json()["error"]["message"]


@pytest.mark.skipif(not os.environ.get("RUNYARD_SCREENSHOTS"), reason="set RUNYARD_SCREENSHOTS=1")
def test_screenshot(store: Store, server: RunningServer, page: Page) -> None:
    sweep = make_sweep(store, "tune-mlp")
    fill(store, sweep)
    store.set_tags(sweep.run_id, {names.TAG_ENDED_BECAUSE: "all 6 trials finished"})
    store.set_status(sweep.run_id, RunStatus.COMPLETED)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{server.url}/sweeps/{sweep.run_id}")
    page.wait_for_selector("#curves svg path.stop-mark")
    page.screenshot(path=str(SCREENSHOTS / "sweep.png"), full_page=True)
