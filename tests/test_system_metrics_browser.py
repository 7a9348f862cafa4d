"""The run page's System tab in real headless Chromium: the runner's system/... series
as charts, one section per node, one line per GPU or rank."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.entities import MetricColumns, RunKind, RunStatus
from runyard.server import create_app
from runyard.store.base import Store
from runyard.sysmetrics.settings import SamplerSettings
from runyard.sysmetrics.thread import SystemSampler
from runyard.sysmetrics.tree import TreeSampler
from runyard.tracking.ingest import RunJournalsIngester
from tests.support.server import RunningServer, open_test_store, start_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    pytest.skip("needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Store, RunningServer]]:
    store = open_test_store(tmp_path / "store")
    server = start_server(create_app(store, token="tok", workspace_name="sys-ws"))
    yield store, server
    server.stop()
    store.close()


def test_the_system_tab_charts_each_node_gpu_and_rank(
    served: tuple[Store, RunningServer], tmp_path: Path
) -> None:
    store, server = served
    exp = store.get_or_create_experiment("sys")
    run = store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING)
    # The sampler's own journal, ingested as the runner does: system/cpu_percent & co.
    journal = tmp_path / "journal.bin"
    sampler = SystemSampler(
        tmp_path / "journal.system.bin",
        lambda: {"": os.getpid()},
        SamplerSettings(interval_s=60),
        env={},
        warn=print,
        tree=TreeSampler(skip=set()),  # this test process is the "run"
    ).start()
    for _ in range(3):
        sampler.sample_once()
    sampler.stop()
    RunJournalsIngester(store, run.run_id, journal).drain()
    # GPU and node lines as a GPU node's sampler names them (no GPU on this machine).
    t0 = time.time()
    columns = [
        MetricColumns(key, "float", [0, 1, 2], [t0, t0 + 1, t0 + 2], [10.0, 50.0, 90.0])
        for key in (
            "system/gpu0/utilization_percent",
            "system/gpu1/utilization_percent",
            "system/node1/cpu_percent",
        )
    ]
    store.append_metrics(run.run_id, columns)
    store.set_status(run.run_id, RunStatus.COMPLETED)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/runs/{run.run_id}#system")
        charts = page.locator("#system-charts")
        expect(charts.locator('[data-title="cpu_percent"][data-points="3"]')).to_be_visible()
        expect(charts.locator('[data-title="memory_rss_mb"][data-points="3"]')).to_be_visible()
        # One chart for the GPUs' utilisation with a line each; node1 in its own section.
        gpus = charts.locator('[data-title="gpus · utilization_percent"][data-points="6"]')
        expect(gpus).to_be_visible()
        expect(gpus).to_contain_text("gpu0")
        expect(gpus).to_contain_text("gpu1")
        node = charts.locator('section[data-node="node1"]')
        expect(node.locator('[data-title="node1 · cpu_percent"]')).to_be_visible()
        expect(page.locator("#system-empty")).to_be_hidden()
        page.click('a[data-tab="metrics"]')  # the Metrics tab still has its own charts
        expect(page.locator("#tab-system")).to_be_hidden()
        browser.close()
    assert errors == []
