"""The studio's chart smoothing, run in real Chromium, against TensorBoard's formula.

TensorBoard's scalars dashboard (tf-smoothing / vz_line_chart) smooths with an EMA debiased
at the start: ``last = last * w + (1 - w) * y; smoothed = last / (1 - w ** n)``, where n
counts the finite points so far; a constant series and non-finite points pass through."""

from __future__ import annotations

import math
import os
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

SERIES: list[float | None] = [3.0, 1.0, 4.0, 1.0, 5.0, None, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]


def tensorboard_ema(values: list[float | None], weight: float) -> list[float | None]:
    """TensorBoard's smoothing, transcribed (gaps as None)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    constant = all(v == finite[0] for v in finite) if finite else True
    last, n, out = 0.0, 0, []
    for v in values:
        if v is None or not math.isfinite(v) or constant:
            out.append(v if v is not None and math.isfinite(v) else None)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last if weight == 1 else last / (1 - weight**n))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("smoothing"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[tuple[RunningServer, str]]:
    exp = store.get_or_create_experiment("smoothing")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    steps = list(range(len(SERIES)))
    values = [math.nan if v is None else v for v in SERIES]
    store.append_metrics(
        run.run_id, [MetricColumns("loss", "float", steps, [time.time()] * len(steps), values)]
    )
    store.set_status(run.run_id, RunStatus.COMPLETED)
    srv = start_server(create_app(store, token="tok", workspace_name="smoothing"))
    yield srv, run.run_id
    srv.stop()


@pytest.fixture(scope="module")
def page(server: tuple[RunningServer, str]) -> Iterator[Page]:
    srv, run_id = server
    ready = "() => typeof RYCharts !== 'undefined'"
    with chromium_page(f"{srv.url}/runs/{run_id}#metrics", ready) as pg:
        yield pg


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99, 1.0])
def test_ema_matches_tensorboard(page: Page, weight: float) -> None:
    got = page.evaluate("([ys, w]) => RYCharts.smooth(ys, w)", [SERIES, weight])
    want = tensorboard_ema(SERIES, weight)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g is None and w is None) or g == pytest.approx(w, rel=1e-12, abs=1e-12)
    # The debiasing: the first smoothed point is the first value itself, not (1-w) of it.
    if weight < 1:
        assert got[0] == pytest.approx(SERIES[0])


def test_constant_series_passes_through(page: Page) -> None:
    ys = [0.1] * 50
    assert page.evaluate("(ys) => RYCharts.smooth(ys, 0.9)", ys) == ys


def running_average(values: list[float | None], window: int) -> list[float | None]:
    """The mean of the last ``window`` finite points (gaps skipped)."""
    held: list[float] = []
    out: list[float | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        held = [*held, v][-window:]
        out.append(sum(held) / len(held))
    return out


def test_running_average_values(page: Page) -> None:
    for window in (1, 3, 5, 100):
        got = page.evaluate("([ys, n]) => RYCharts.runningAverage(ys, n)", [SERIES, window])
        assert got == pytest.approx(running_average(SERIES, window))


@pytest.mark.parametrize(("kind", "weight"), [("ema", "0.6"), ("avg", "0.04")])
def test_the_chart_draws_the_chosen_smoothing_over_the_raw_curve(
    page: Page, kind: str, weight: str
) -> None:
    page.wait_for_function("() => window.runyard.metrics.get('loss')?.chart?.plot")
    page.select_option("#smoothing-kind", kind)
    page.eval_on_selector(
        "#smoothing",
        "(el, w) => { el.value = w; el.dispatchEvent(new Event('input')); }",
        weight,
    )
    data = page.evaluate("() => window.runyard.metrics.get('loss').chart.plot.data")
    raw, drawn = data[1], data[2]  # the raw curve stays, faint, behind the smoothed one
    assert raw == [v for v in SERIES]
    want = (
        tensorboard_ema(SERIES, float(weight))
        if kind == "ema"
        else running_average(SERIES, 1 + round(float(weight) * 100))
    )
    assert drawn == pytest.approx(want)
    assert page.inner_text("#smoothing-value") == weight


def test_chart_state_is_kept_in_the_url(server: tuple[RunningServer, str], page: Page) -> None:
    srv, run_id = server
    browser = page.context.browser
    assert browser is not None
    pg = browser.new_page()  # a page of its own: the shared one keeps its state
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(f"{srv.url}/runs/{run_id}?x=reltime&log=1&smooth=0.3&kind=avg#metrics")
    pg.wait_for_function("() => window.runyard.metrics.get('loss')?.chart?.plot")
    assert pg.input_value("#x-mode") == "reltime"
    assert pg.is_checked("#log-scale")
    assert pg.input_value("#smoothing") == "0.3"
    assert pg.input_value("#smoothing-kind") == "avg"
    options = pg.evaluate("() => window.runyard.metrics.get('loss').chart.options")
    assert options == {
        "xMode": "reltime",
        "log": True,
        "smoothing": 0.3,
        "smoothingKind": "avg",
    }
    # Changing a control rewrites the query and keeps the tab's hash.
    pg.select_option("#x-mode", "step")
    pg.uncheck("#log-scale")
    assert pg.evaluate("() => location.search") == "?smooth=0.3&kind=avg"
    assert pg.evaluate("() => location.hash") == "#metrics"
    # A bad value in a shared link is ignored, not obeyed.
    pg.goto(f"{srv.url}/runs/{run_id}?x=<b>&smooth=7#metrics")
    pg.wait_for_function("() => window.runyard.metrics.get('loss')?.chart?.plot")
    assert pg.input_value("#x-mode") == "step"
    assert pg.input_value("#smoothing") == "0"
    assert errors == []
    pg.close()


def test_metrics_are_grouped_in_sections_by_prefix(
    server: tuple[RunningServer, str], store: Store, page: Page
) -> None:
    srv, _ = server
    exp = store.get_or_create_experiment("sections")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    now = time.time()
    keys = ["val/acc", "loss", "train/loss", "system/cpu", "train/acc"]
    store.append_metrics(
        run.run_id, [MetricColumns(k, "float", [0, 1], [now] * 2, [1.0, 2.0]) for k in keys]
    )
    store.set_status(run.run_id, RunStatus.COMPLETED)
    browser = page.context.browser
    assert browser is not None
    pg = browser.new_page()
    pg.goto(f"{srv.url}/runs/{run.run_id}#metrics")
    pg.wait_for_selector('#charts [data-key="val/acc"] canvas')
    layout = pg.evaluate(
        """() => Array.from(document.querySelectorAll('#charts > .metric-section')).map((s) =>
             [s.dataset.section, s.querySelector('h3').textContent,
              Array.from(s.querySelectorAll('[data-key]')).map((c) => c.dataset.key)])"""
    )
    assert layout == [
        ["", "other metrics", ["loss"]],
        ["system", "system/", ["system/cpu"]],
        ["train", "train/", ["train/acc", "train/loss"]],
        ["val", "val/", ["val/acc"]],
    ]
    pg.close()


def test_dark_mode_follows_the_os(server: tuple[RunningServer, str], page: Page) -> None:
    srv, run_id = server
    browser = page.context.browser
    assert browser is not None
    for scheme, background in (("light", "rgb(255, 255, 255)"), ("dark", "rgb(13, 17, 23)")):
        context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 800})
        pg = context.new_page()
        pg.goto(f"{srv.url}/runs/{run_id}#metrics")
        pg.wait_for_function("() => window.runyard.metrics.get('loss')?.chart?.plot")
        assert pg.evaluate("() => getComputedStyle(document.body).backgroundColor") in (
            background,
            "rgba(0, 0, 0, 0)",  # the body is transparent: the root's colour shows
        )
        root = pg.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
        assert root == background
        if scheme == "dark" and os.environ.get("RUNYARD_SCREENSHOTS") == "1":
            pg.screenshot(path=str(SCREENSHOTS / "run-metrics-dark.png"))
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_a_phone_and_a_laptop(
    server: tuple[RunningServer, str], store: Store, page: Page, width: int
) -> None:
    srv, run_id = server
    browser = page.context.browser
    assert browser is not None
    pg = browser.new_page(viewport={"width": width, "height": 844})
    experiment_id = store.get_run(run_id).experiment_id
    for path in ("/", f"/experiments/{experiment_id}", f"/runs/{run_id}#metrics"):
        pg.goto(srv.url + path)
        pg.wait_for_load_state("networkidle")
        # Nothing wider than the screen: no sideways scrolling of the whole page.
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= width, path
    if width == 390 and os.environ.get("RUNYARD_SCREENSHOTS") == "1":
        pg.screenshot(path=str(SCREENSHOTS / "run-metrics-phone.png"))
    pg.close()
