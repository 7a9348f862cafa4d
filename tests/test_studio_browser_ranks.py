"""The run page's ranks control, in real Chromium: a distributed run's metrics (rank 0
under the plain names, rank r under ``rank<r>/``) shown rank by rank, every rank in one
chart, or as their mean with a min-max band, step by step."""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Iterator

import pytest

from runyard.entities import MetricColumns, RunKind, RunStatus
from runyard.server import create_app
from runyard.store.base import Store
from tests.support.server import RunningServer, open_test_store, start_server
from tests.test_studio_browser import SCREENSHOTS, chromium_page

pytestmark = pytest.mark.browser

from playwright.sync_api import Page  # noqa: E402

RANKS = {"loss": [1.0, 2.0, 3.0, 4.0], "rank1/loss": [3.0, 4.0, 5.0, 6.0]}
RANKS["rank2/loss"] = [2.0, 3.0, float("nan"), 5.0]  # a gap: left out of that step


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("ranks"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def run_page(store: Store) -> Iterator[tuple[RunningServer, str]]:
    exp = store.get_or_create_experiment("ranks")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    columns = [
        MetricColumns(key, "float", [0, 1, 2, 3], [time.time()] * 4, values)
        for key, values in RANKS.items()
    ]
    columns.append(MetricColumns("lr", "float", [0, 1], [time.time()] * 2, [0.1, 0.05]))
    store.append_metrics(run.run_id, columns)
    store.set_status(run.run_id, RunStatus.COMPLETED)
    server = start_server(create_app(store, token="tok", workspace_name="ranks"))
    yield server, run.run_id
    server.stop()


@pytest.fixture(scope="module")
def page(run_page: tuple[RunningServer, str]) -> Iterator[Page]:
    server, run_id = run_page
    ready = "() => document.body.dataset.ready === '1'"
    with chromium_page(f"{server.url}/runs/{run_id}#metrics", ready) as pg:
        yield pg


SERIES = """() => window.runyard.metrics.get("loss").chart.series.map((s) => ({
    label: s.label, steps: s.steps, values: s.values, lo: s.lo || null, hi: s.hi || null}))"""
HIDDEN = """() => Array.from(document.querySelectorAll("section.metric-section"))
    .filter((s) => s.hidden).map((s) => s.dataset.section)"""


def _view(page: Page, view: str) -> None:
    page.select_option("#rank-view", view)


def test_rank_zero_is_shown_first_and_each_rank_apart(page: Page) -> None:
    assert page.is_visible("#rank-control")
    _view(page, "rank0")
    assert page.evaluate(SERIES) == [
        {"label": "loss", "steps": [0, 1, 2, 3], "values": RANKS["loss"], "lo": None, "hi": None}
    ]
    assert page.evaluate(HIDDEN) == []
    sections = page.eval_on_selector_all(
        "section.metric-section", "els => els.map((s) => s.dataset.section)"
    )
    assert sections == ["", "rank1", "rank2"]


def test_every_rank_in_one_chart(page: Page) -> None:
    _view(page, "overlay")
    shown = page.evaluate(SERIES)
    assert [s["label"] for s in shown] == ["rank 0", "rank 1", "rank 2"]
    assert shown[1]["values"] == RANKS["rank1/loss"]
    assert page.evaluate(HIDDEN) == ["rank1", "rank2"]
    assert page.get_attribute('[data-key="loss"]', "data-ranks") == "3"
    assert "ranks=overlay" in page.url
    # A name only rank 0 logged keeps its own chart.
    assert page.evaluate("() => window.runyard.metrics.get('lr').chart.series[0].label") == "lr"


def test_mean_with_a_min_max_band(page: Page) -> None:
    _view(page, "band")
    (shown,) = page.evaluate(SERIES)
    assert shown["label"] == "mean of 3 ranks"
    assert shown["steps"] == [0, 1, 2, 3]
    assert shown["values"] == [2.0, 3.0, 4.0, 5.0]  # step 2: ranks 0 and 1 only
    assert shown["lo"] == [1.0, 2.0, 3.0, 4.0]
    assert shown["hi"] == [3.0, 4.0, 5.0, 6.0]
    assert page.evaluate(HIDDEN) == ["rank1", "rank2"]
    # The view is in the link: opened again, the page shows the band.
    page.goto(page.url)
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.input_value("#rank-view") == "band"
    assert page.evaluate(SERIES)[0]["label"] == "mean of 3 ranks"
    _view(page, "rank0")
    assert "ranks=" not in page.url and page.evaluate(HIDDEN) == []


@pytest.mark.skipif(not os.environ.get("RUNYARD_SCREENSHOTS"), reason="set RUNYARD_SCREENSHOTS=1")
def test_screenshot(store: Store, run_page: tuple[RunningServer, str], page: Page) -> None:
    rng = random.Random(7)
    exp = store.get_or_create_experiment("ddp-2x2")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    steps = list(range(200))
    columns = []
    for rank in range(4):
        loss = [2.5 * math.exp(-s / 60) + 0.2 + rng.gauss(0, 0.08) for s in steps]
        key = "loss" if rank == 0 else f"rank{rank}/loss"
        columns.append(MetricColumns(key, "float", steps, [time.time()] * len(steps), loss))
    store.append_metrics(run.run_id, columns)
    store.set_status(run.run_id, RunStatus.COMPLETED)
    page.set_viewport_size({"width": 1100, "height": 700})
    page.goto(f"{run_page[0].url}/runs/{run.run_id}?ranks=band#metrics")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.wait_for_selector('[data-key="loss"][data-ranks="4"] canvas')
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#tab-metrics").screenshot(path=str(SCREENSHOTS / "run-ranks-band.png"))
