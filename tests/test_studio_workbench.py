"""The runs table as a workbench, in real Chromium: the filter language (and its error),
the column chooser, saved views, keyboard navigation, "overlay all visible", and the
table following the experiment live over server-sent events."""

from __future__ import annotations

import math
import os
import time
from urllib.parse import quote

import pytest

from runyard.entities import MetricColumns, RunStatus
from runyard.store.base import Store
from tests.support.server import RunningServer
from tests.test_studio_browser import (
    SCREENSHOTS,
    browser,
    chart,
    log,
    make_run,
    page,
    server,
    store,
)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402

__all__ = ["browser", "page", "server", "store"]  # the fixtures, shared


def seed(store: Store, experiment: str) -> list[str]:
    ids = []
    for i, (lr, model) in enumerate([("0.001", "cnn"), ("0.1", "cnn"), ("0.001", "mlp")]):
        run = make_run(
            store,
            experiment,
            display_name=f"w{i}",
            tags={"model": model},
            definition={"script": "train.py", "arguments": ["--lr", lr]},
            status=RunStatus.COMPLETED,
        )
        log(store, run.run_id, "val_acc", 0, 20, scale=0.5 + i * 0.2)
        ids.append(run.run_id)
    return ids


def row_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "#runs tbody tr[data-run-id]", "rs => rs.map(r => r.dataset.runId)"
    )
    return ids


def test_filter_columns_views_and_keys(store: Store, server: RunningServer, page: Page) -> None:
    ids = seed(store, "bench-workbench")
    exp = store.get_run(ids[0]).experiment_id
    page.goto(f"{server.url}/experiments/{exp}")
    expect(page.locator("#runs tbody tr[data-run-id]")).to_have_count(3)

    # A filter over params and tags, parsed on the server.
    page.fill("#filter", 'params.lr < 0.01 and tags.model = "cnn"')
    page.press("#filter", "Enter")
    page.wait_for_url("**filter=**")
    assert row_ids(page) == [ids[0]]
    # A bad one: the error names the token and where it is, and no rows are shown.
    page.fill("#filter", "params.lr << 1")
    page.press("#filter", "Enter")
    expect(page.locator("#filter-error")).to_contain_text("unexpected '<' at position 12")
    assert row_ids(page) == []
    page.fill("#filter", 'tags.model = "cnn"')
    page.press("#filter", "Enter")
    expect(page.locator("#runs tbody tr[data-run-id]")).to_have_count(2)

    # Column chooser: the lr parameter and the model tag as columns.
    page.click("#column-chooser summary")
    page.check('input[data-col="params.lr"]')
    page.check('input[data-col="tags.model"]')
    page.click("#apply-columns")
    page.wait_for_url("**cols=**")
    expect(page.locator("#runs thead")).to_contain_text("params.lr")
    expect(page.locator(f'#runs tr[data-run-id="{ids[1]}"] td.extra-col').first).to_have_text("0.1")

    # Saved view: name it, go elsewhere, pick it again.
    view_url = page.url
    page.fill("#view-name", "cnn runs")
    page.click("#save-view")
    page.goto(f"{server.url}/experiments/{exp}")
    expect(page.locator("#runs tbody tr[data-run-id]")).to_have_count(3)
    page.select_option("#saved-views", "cnn runs")
    page.wait_for_url(view_url)
    expect(page.locator("#runs tbody tr[data-run-id]")).to_have_count(2)
    expect(page.locator("#saved-views")).to_have_value("cnn runs")

    # Keyboard: j moves, x selects, Enter opens.
    page.click("h1")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("#runs tbody tr.current")).to_have_count(1)
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    page.keyboard.press("k")
    current = page.locator("#runs tbody tr.current").get_attribute("data-run-id")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/runs/{current}")


def test_overlay_all_visible(store: Store, server: RunningServer, page: Page) -> None:
    ids = seed(store, "bench-overlay-visible")
    exp = store.get_run(ids[0]).experiment_id
    page.goto(f"{server.url}/experiments/{exp}")
    page.click("#overlay-visible")
    page.wait_for_url("**/compare?runs=**")
    page.wait_for_selector(chart(page, "val_acc", 60))
    legend = page.locator('#charts [data-key="val_acc"] .u-legend')
    for name in ("w0", "w1", "w2"):
        expect(legend).to_contain_text(name)


def test_runs_table_follows_the_experiment_live(
    store: Store, server: RunningServer, page: Page
) -> None:
    first = make_run(store, "bench-live-table", display_name="first")
    log(store, first.run_id, "loss", 0, 3)
    page.goto(f"{server.url}/experiments/{first.experiment_id}?metrics=loss")
    expect(page.locator("#runs tbody tr[data-run-id]")).to_have_count(1)
    page.wait_for_function("() => window.runyard.live === true")
    polls = page.evaluate("() => performance.getEntriesByType('resource').length")

    second = make_run(store, "bench-live-table", display_name="second")
    expect(page.locator(f'#runs tr[data-run-id="{second.run_id}"]')).to_be_visible(timeout=5_000)
    expect(page.locator("#run-total")).to_contain_text("2 runs")

    row = page.locator(f'#runs tr[data-run-id="{first.run_id}"]')
    page.check(f'input[value="{first.run_id}"]')
    store.set_status(first.run_id, RunStatus.COMPLETED)
    expect(row.locator(".status")).to_have_text("Completed", timeout=5_000)
    log(store, first.run_id, "loss", 3, 1, scale=7.0)
    expect(row.locator("td.num").last).to_contain_text("7", timeout=5_000)
    # The selection survives the rows being read again.
    expect(page.locator(f'input[value="{first.run_id}"]')).to_be_checked()
    # Nothing polled: every request after the stream opened answered a change.
    refreshes = page.evaluate("() => window.runyard.refreshes")
    requests = page.evaluate("() => performance.getEntriesByType('resource').length") - polls
    assert refreshes >= 3
    assert requests <= 2 * refreshes + 2


@pytest.mark.skipif(not os.environ.get("RUNYARD_SCREENSHOTS"), reason="set RUNYARD_SCREENSHOTS=1")
def test_screenshots_of_the_workbench(store: Store, server: RunningServer, page: Page) -> None:
    """docs/studio.md's pictures of the workbench, grouping and the live runs table."""
    ids = []
    t0 = time.time() - 900
    for i in range(8):
        model = ("cnn", "mlp")[i % 2]
        lr = ("0.1", "0.01", "0.001", "0.03")[i % 4]
        run = make_run(
            store,
            "shots-workbench",
            display_name=f"{model}-lr{lr}-s{i}",
            tags={"model": model},
            definition={"script": "train.py", "arguments": ["--lr", lr, "--epochs", "40"]},
        )
        n = 400
        rate = 60 + 20 * (i % 4) + (30 if model == "mlp" else 0)
        loss = [2.0 * math.exp(-s / rate) + 0.05 * math.sin(s * 0.9 + i) ** 2 for s in range(n)]
        acc = [1 - v / 2.2 for v in loss]
        stamps = [t0 + s * 1.5 for s in range(n)]
        store.append_metrics(
            run.run_id,
            [
                MetricColumns("train/loss", "float", list(range(n)), stamps, loss),
                MetricColumns("val/acc", "float", list(range(n)), stamps, acc),
            ],
        )
        if i < 7:
            store.set_status(run.run_id, RunStatus.COMPLETED)
        ids.append(run.run_id)
    exp = store.get_run(ids[0]).experiment_id
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(
        f"{server.url}/experiments/{exp}?metrics=val/acc,train/loss&cols=params.lr,tags.model"
        "&filter=" + quote('metrics.val/acc > 0.5 and tags.model = "cnn"')
    )
    page.click("#column-chooser summary")
    page.screenshot(path=str(SCREENSHOTS / "runs-workbench.png"), full_page=True)
    page.goto(f"{server.url}/experiments/{exp}?filter=" + quote("params.lr << 1"))
    page.screenshot(path=str(SCREENSHOTS / "runs-filter-error.png"))
    page.goto(f"{server.url}/compare?runs={','.join(ids)}&group=tags.model&metrics=train/loss")
    page.wait_for_selector('#charts [data-key="train/loss"][data-groups="2"]')
    page.locator("#charts").screenshot(path=str(SCREENSHOTS / "compare-grouped.png"))
    page.goto(f"{server.url}/compare?runs={','.join(ids[:4])}&metrics=val/acc")
    page.wait_for_function("() => window.runyard.ready === true")
    page.evaluate("() => window.runyard.charts[0].plot.setScale('x', {min: 40, max: 90})")
    page.wait_for_selector('#charts [data-key="val/acc"][data-zoom="40,90"]')
    page.locator("#charts").screenshot(path=str(SCREENSHOTS / "chart-zoomed.png"))
