"""The studio in real headless Chromium against a real server and store.

Chromium comes from Debian (``apt-get install chromium``); Playwright drives it through
``executable_path``. ``RUNYARD_SCREENSHOTS=1`` also saves the main pages to
``docs/screenshots/``.
"""

from __future__ import annotations

import base64
import contextlib
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.entities import MetricColumns, MetricRecord, RunInfo, RunKind, RunStatus
from runyard.errors import ValidationError
from runyard.server import create_app
from runyard.store.artifacts import DRIVER_LOG, ENVIRONMENT_BUILD_LOG, LocalArtifactRepository
from runyard.store.base import Store
from runyard.store.snapshots import SnapshotStore
from tests.support.server import RunningServer, open_test_store, start_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
XSS = ["<script>alert('x1')</script>", "<img src=x onerror=alert('x2')>"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    pytest.skip("needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)

from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright  # noqa: E402


@contextlib.contextmanager
def chromium_page(url: str, ready: str) -> Iterator[Page]:
    """A Chromium page opened at ``url``, once the JavaScript condition ``ready`` holds."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function(ready)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("browser"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(store, token="tok", workspace_name="browser-ws"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"
    assert errors == [], f"script errors on the page: {errors}"


def make_run(store: Store, experiment: str, **kwargs: Any) -> RunInfo:
    exp = store.get_or_create_experiment(experiment)
    kwargs.setdefault("kind", RunKind.SUBMITTED)
    kwargs.setdefault("status", RunStatus.RUNNING)
    return store.create_run(exp.experiment_id, **kwargs)


def log(store: Store, run_id: str, key: str, start: int, n: int, scale: float = 1.0) -> None:
    steps = list(range(start, start + n))
    t0 = time.time()
    values = [scale * math.exp(-s / 100) for s in steps]
    store.append_metrics(
        run_id, [MetricColumns(key, "float", steps, [t0 + s for s in steps], values)]
    )


def chart(page: Page, key: str, points: int) -> str:
    return f'#charts [data-key="{key}"][data-points="{points}"]'


def test_finished_run_charts_every_logged_point(
    store: Store, server: RunningServer, page: Page
) -> None:
    run = make_run(store, "browser-finished", display_name="finished")
    log(store, run.run_id, "loss", 0, 500)
    log(store, run.run_id, "eval/accuracy", 0, 50)
    now = time.time()
    store.append_metrics(
        run.run_id,
        [],
        [
            MetricRecord("curve", "list", [0.1, 0.4, 0.9], now),
            MetricRecord("epoch", "row", {"train": 1.0, "val": 2.0}, now),
            MetricRecord("epoch", "row", {"train": 0.5, "val": 1.5}, now),
        ],
    )
    store.set_status(run.run_id, RunStatus.COMPLETED)
    page.goto(f"{server.url}/runs/{run.run_id}#metrics")
    page.wait_for_selector(chart(page, "loss", 500))
    page.wait_for_selector(chart(page, "eval/accuracy", 50))
    page.wait_for_selector('#records [data-key="curve"][data-points="3"]')
    page.wait_for_selector('#records [data-key="epoch"][data-points="4"]')
    expect(page.locator("#records table.record-table")).to_contain_text("1.5")
    expect(page.locator('#charts [data-key="loss"] canvas')).to_have_count(1)
    held = page.evaluate("() => window.runyard.metrics.get('loss').values.length")
    assert held == 500
    # The controls redraw without losing points.
    page.check("#log-scale")
    page.select_option("#x-mode", "time")
    page.fill("#smoothing", "0.6")
    page.wait_for_selector(chart(page, "loss", 500))


def test_non_finite_values_reach_the_chart_as_numbers(
    store: Store, server: RunningServer, page: Page
) -> None:
    """The wire's {"$float": ...} form becomes NaN and ±Infinity in the page, both from
    the first read and from the live stream; a str metric's "NaN" stays text."""
    run = make_run(store, "browser-nonfinite")
    t0 = time.time()
    values = [1.0, math.nan, math.inf, -math.inf]
    store.append_metrics(
        run.run_id, [MetricColumns("odd", "float", [0, 1, 2, 3], [t0] * 4, values)]
    )
    page.goto(f"{server.url}/runs/{run.run_id}#metrics")
    page.wait_for_selector(chart(page, "odd", 4))
    page.wait_for_function("() => window.runyard.streaming === true")
    store.append_metrics(run.run_id, [MetricColumns("odd", "float", [4], [t0], [math.nan])])
    page.wait_for_selector(chart(page, "odd", 5), timeout=3_000)
    got = page.evaluate(
        "() => window.runyard.metrics.get('odd').values.map((v) => "
        "typeof v === 'number' ? String(v) : 'not a number: ' + JSON.stringify(v))"
    )
    assert got == ["1", "NaN", "Infinity", "-Infinity", "NaN"]
    store.set_status(run.run_id, RunStatus.COMPLETED)
    page.wait_for_function("() => window.runyard.streaming === false")


def test_live_points_and_log_lines_arrive(store: Store, server: RunningServer, page: Page) -> None:
    run = make_run(store, "browser-live", display_name="live")
    log(store, run.run_id, "loss", 0, 10)
    store.artifacts.append_bytes(run.run_id, DRIVER_LOG, b"starting\n")
    page.goto(f"{server.url}/runs/{run.run_id}#metrics")
    page.wait_for_selector(chart(page, "loss", 10))
    page.wait_for_function("() => window.runyard.streaming === true")

    log(store, run.run_id, "loss", 10, 5)
    page.wait_for_selector(chart(page, "loss", 15), timeout=3_000)
    log(store, run.run_id, "new_metric", 0, 3)
    page.wait_for_selector(chart(page, "new_metric", 3), timeout=3_000)

    page.click("a[data-tab=outputs]")
    expect(page.locator("#driver-log")).to_contain_text("starting")
    store.artifacts.append_bytes(run.run_id, DRIVER_LOG, b"epoch 1 done <b>bold?</b>\n")
    expect(page.locator("#driver-log")).to_contain_text("epoch 1 done <b>bold?</b>", timeout=3_000)

    store.set_status(run.run_id, RunStatus.COMPLETED)
    expect(page.locator("#run-status")).to_have_text("Completed", timeout=3_000)
    page.wait_for_function("() => window.runyard.streaming === false")


def test_compare_overlays_runs(store: Store, server: RunningServer, page: Page) -> None:
    a = make_run(store, "browser-compare", display_name="small-lr", tags={"lr": "0.01"})
    b = make_run(store, "browser-compare", display_name="big-lr", tags={"lr": "0.1"})
    log(store, a.run_id, "loss", 0, 100)
    log(store, b.run_id, "loss", 0, 60, scale=2.0)
    for r in (a, b):
        store.set_status(r.run_id, RunStatus.COMPLETED)
    page.goto(f"{server.url}/compare?runs={a.run_id},{b.run_id}")
    page.wait_for_selector(chart(page, "loss", 160))
    table = page.locator("#compare-table")
    expect(table).to_contain_text("small-lr")
    expect(table).to_contain_text("big-lr")
    expect(table).to_contain_text("0.01")
    legend = page.locator('#charts [data-key="loss"] .u-legend')
    expect(legend).to_contain_text("small-lr")
    expect(legend).to_contain_text("big-lr")


def test_runs_table_sorts_on_the_server_and_selects_for_compare(
    store: Store, server: RunningServer, page: Page
) -> None:
    runs = [make_run(store, "browser-table", display_name=f"r{i}") for i in range(3)]
    for i, r in enumerate(runs):
        log(store, r.run_id, "loss", 0, 5, scale=float(3 - i))
    page.goto(f"{server.url}/experiments/{runs[0].experiment_id}")
    rows = page.locator("#runs tbody tr")
    expect(rows).to_have_count(3)
    page.click("#runs thead a:text-is('loss')")
    page.wait_for_url("**sort=metric%3Aloss%3Alast**")
    ids = [rows.nth(i).get_attribute("data-run-id") for i in range(3)]
    assert ids == [r.run_id for r in runs]  # last loss descending: 3, 2, 1
    page.click("#runs thead a:text-is('loss')")
    page.wait_for_url("**order=asc**")
    ids = [rows.nth(i).get_attribute("data-run-id") for i in range(3)]
    assert ids == [r.run_id for r in reversed(runs)]

    page.check(f'input[value="{runs[0].run_id}"]')
    page.check(f'input[value="{runs[2].run_id}"]')
    page.click("#compare-button")
    page.wait_for_url("**/compare?runs=**")
    page.wait_for_selector(chart(page, "loss", 10))


def test_markup_in_names_renders_as_text(store: Store, server: RunningServer, page: Page) -> None:
    for payload in XSS:
        with pytest.raises(ValidationError):
            store.get_or_create_experiment(payload)  # experiment names cannot hold markup
    run = make_run(
        store,
        "browser-xss",
        display_name=XSS[1],
        tags={XSS[0]: XSS[1]},
        properties={XSS[1]: XSS[0]},
        definition={"script": XSS[0], "arguments": [XSS[1]]},
    )
    for payload in XSS:
        log(store, run.run_id, payload, 0, 3)
    store.append_metrics(
        run.run_id, [], [MetricRecord(XSS[0], "table", {XSS[1]: [XSS[0]]}, time.time())]
    )
    store.artifacts.put_bytes(run.run_id, f"outputs/{XSS[1]}.txt", b"x")
    store.artifacts.append_bytes(run.run_id, DRIVER_LOG, XSS[0].encode() + b"\n")
    store.set_status(run.run_id, RunStatus.FAILED, error=XSS[1])

    page.goto(f"{server.url}/experiments/{run.experiment_id}")
    expect(page.locator("#runs")).to_contain_text(XSS[1])
    expect(page.locator("#runs")).to_contain_text(XSS[0])
    page.goto(f"{server.url}/runs/{run.run_id}")
    expect(page.locator("h1")).to_contain_text(XSS[1])
    expect(page.locator(".error-box")).to_contain_text(XSS[1])
    page.click("a[data-tab=metrics]")
    for payload in XSS:
        page.wait_for_selector(chart(page, payload, 3))
        expect(page.locator("#charts")).to_contain_text(payload)
    expect(page.locator("#records")).to_contain_text(XSS[1])
    page.click("a[data-tab=outputs]")
    expect(page.locator("#files")).to_contain_text(f"{XSS[1]}.txt")
    expect(page.locator("#driver-log")).to_contain_text(XSS[0])
    page.goto(f"{server.url}/compare?runs={run.run_id}")
    expect(page.locator("#compare-table")).to_contain_text(XSS[0])
    page.wait_for_selector(chart(page, XSS[0], 3))
    # Nothing the payloads describe became an element.
    assert page.locator("img[src=x]").count() == 0


# A 2x2 PNG, so an image record has something real to show.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg=="
)


def test_run_tabs_snapshot_environment_children_and_images(
    store: Store, server: RunningServer, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text("print('training <b>hard</b>')\n")
    (source / "util.py").write_text("X = 1\n")
    assert isinstance(store.artifacts, LocalArtifactRepository)
    snapshot = SnapshotStore(store.artifacts.root / "snapshots").capture(source)
    store.register_environment("env-browser", {"pip": ["numpy==2.0"]}, "e" * 64)
    parent = make_run(
        store,
        "browser-tabs",
        definition={
            "script": "train.py",
            "snapshot_id": snapshot.snapshot_id,
            "environment": {"name": "env-browser", "version": 1, "hash": "e" * 64},
        },
    )
    store.artifacts.put_bytes(parent.run_id, ENVIRONMENT_BUILD_LOG, b"resolved numpy==2.0\n")
    store.artifacts.put_bytes(parent.run_id, "outputs/plot.png", PNG)
    store.append_metrics(
        parent.run_id,
        [],
        [MetricRecord("plot", "image", {"path": "outputs/plot.png"}, time.time())],
    )
    child = make_run(store, "browser-tabs", kind=RunKind.CHILD, parent_run_id=parent.run_id)
    store.set_status(parent.run_id, RunStatus.COMPLETED)

    page.goto(f"{server.url}/runs/{parent.run_id}#metrics")
    image = page.locator("#records img")
    expect(image).to_have_count(1)
    page.wait_for_function("() => document.querySelector('#records img').naturalWidth === 2")

    page.click("a[data-tab=snapshot]")
    expect(page.locator("#snapshot-viewer")).to_contain_text("print('training <b>hard</b>')")
    page.click("#snapshot a[data-path='util.py']")
    expect(page.locator("#snapshot-viewer")).to_have_text("X = 1\n")

    page.click("a[data-tab=environment]")
    expect(page.locator("#environment")).to_contain_text("numpy==2.0")
    expect(page.locator("#environment-log")).to_contain_text("resolved numpy==2.0")

    page.click("a[data-tab=children]")
    expect(page.locator(f'#children a[href="/runs/{child.run_id}"]')).to_have_count(1)


def test_file_paths_with_dot_dot_are_refused(
    store: Store, server: RunningServer, page: Page
) -> None:
    run = make_run(store, "browser-files")
    resp = page.request.get(f"{server.url}/api/runs/{run.run_id}/files/..%2F..%2Frunyard.db")
    assert resp.status == 400
    assert resp.json()["error"]["type"] == "ValidationError"


@pytest.mark.skipif(not os.environ.get("RUNYARD_SCREENSHOTS"), reason="set RUNYARD_SCREENSHOTS=1")
def test_screenshots(store: Store, server: RunningServer, page: Page) -> None:
    exp = store.get_or_create_experiment("day1-experiment-train")
    runs = []
    for i, lr in enumerate((0.1, 0.03, 0.01, 0.003)):
        run = make_run(
            store,
            exp.name,
            display_name=f"lr={lr}",
            tags={"model": "mlp" if i % 2 else "cnn"},
            definition={
                "script": "train.py",
                "arguments": ["--lr", str(lr), "--epochs", "30"],
                "environment": {"name": "sklearn-env", "version": 2, "hash": "9f2c" * 16},
            },
        )
        n = 300
        t0 = time.time() - 600
        loss = [
            2.2 * math.exp(-s / (40 + 25 * i)) + 0.04 * math.sin(s * 1.7) ** 2 for s in range(n)
        ]
        store.append_metrics(
            run.run_id,
            [
                MetricColumns("loss", "float", list(range(n)), [t0 + s for s in range(n)], loss),
                MetricColumns(
                    "accuracy",
                    "float",
                    list(range(n)),
                    [t0 + s for s in range(n)],
                    [1 - v / 2.4 for v in loss],
                ),
            ],
        )
        store.artifacts.put_bytes(
            run.run_id,
            DRIVER_LOG,
            b"".join(f"epoch {s:3d}  loss {loss[s]:.4f}\n".encode() for s in range(0, n, 10)),
        )
        if i < 3:
            store.set_status(run.run_id, RunStatus.COMPLETED if i != 1 else RunStatus.FAILED)
        runs.append(run)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = [
        ("experiments", "/", "#experiments"),
        ("runs", f"/experiments/{exp.experiment_id}", "#runs"),
        ("run-metrics", f"/runs/{runs[0].run_id}#metrics", chart(page, "loss", 300)),
        ("run-logs", f"/runs/{runs[3].run_id}#outputs", "#driver-log"),
        (
            "compare",
            f"/compare?runs={','.join(r.run_id for r in runs[:3])}",
            chart(page, "loss", 900),
        ),
    ]
    for name, path, ready in shots:
        page.goto(server.url + path)
        page.wait_for_selector(ready)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert httpx.get(server.url + "/").status_code == 200
