"""The widget's sweep view in a real JupyterLab 4 (the JupyterLab fixture and Chromium of
test_widget_jupyterlab.py): the trials table and both charts render, and a trial that
starts logging appears while the notebook is open."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

from runyard.store.base import Store
from tests.support.server import open_test_store
from tests.support.sweep_data import add_trial, fill, log_curve, make_sweep
from tests.test_studio_browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_widget import notebook_json
from tests.test_widget_jupyterlab import TOKEN, lab

pytestmark = pytest.mark.browser
__all__ = ["lab"]  # the fixture


def test_sweep_view_in_jupyterlab(lab: tuple[str, Path]) -> None:
    url, root = lab
    store: Store = open_test_store(root)
    try:
        sweep = make_sweep(store, "lab-sweep")
        fill(store, sweep)
        code = (
            "from runyard.core.run import Run\n"
            "from runyard.store import open_store\n"
            "from runyard.widgets import RunDetails\n"
            f"store = open_store('sqlite:///{root / 'runyard.db'}', "
            f"artifact_root={str(root / 'artifacts')!r})\n"
            f"RunDetails(Run(store, {sweep.run_id!r}), interval=0.2).show()\n"
        )
        (root / "nb.ipynb").write_text(json.dumps(notebook_json(code)))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/lab/tree/nb.ipynb?token={TOKEN}")
            page.wait_for_function(
                "() => window.jupyterapp && document.querySelector('.jp-Notebook')",
                timeout=90_000,
            )
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            accept = page.locator(".jp-Dialog .jp-mod-accept")
            try:
                accept.wait_for(timeout=10_000)
                accept.click()
            except PlaywrightTimeout:
                pass
            expect(page.locator(".jp-Dialog")).to_have_count(0)
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            view = page.locator(".runyard-live .ry-sweep")
            rows = view.locator("table.ry-trials tbody tr")
            expect(rows).to_have_count(6, timeout=90_000)
            expect(view.locator("svg.sweep-curves path.stop-mark")).to_have_count(1)
            expect(view.locator("svg.sweep-parallel path[data-run]")).to_have_count(5)
            expect(rows.nth(4)).to_have_attribute("data-outcome", "stopped by policy")
            t0 = time.monotonic()
            late = add_trial(store, sweep, 6, {"--lr": 0.04, "--batch": 32})
            log_curve(store, late.run_id, [0.97, 0.99])
            expect(rows).to_have_count(7, timeout=10_000)
            expect(rows.first).to_have_attribute("data-run", late.run_id)
            print(f"new trial -> widget: {time.monotonic() - t0:.2f} s")
            browser.close()
    finally:
        store.close()
