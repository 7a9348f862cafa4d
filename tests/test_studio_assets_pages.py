"""The studio's Datasets and Models pages over HTTP against a real uvicorn server and a
workspace filled through the SDK: a dataset on the local datastore, a model with two
versions made from it by a run, an alias moved between them; and the way from the
experiments list to a model's run in real Chromium."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runyard.core import Dataset, Experiment, Model, Workspace
from runyard.server import create_app
from tests.support.server import start_server

XSS = "<script>alert('x')</script>"


@dataclass
class Filled:
    url: str
    run_id: str
    dataset_id: str
    content_hash: str
    reader_id: str


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    tmp = tmp_path_factory.mktemp("assets-pages")
    old = os.environ.get("RUNYARD_CACHE_DIR")
    os.environ["RUNYARD_CACHE_DIR"] = str(tmp / "cache")
    ws = Workspace.create(tmp / "project")
    data = tmp / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n2\n")
    (data / "b.csv").write_text("x\n3\n")
    datastore = ws.get_default_datastore()
    datastore.upload(str(data), target_path="train", show_progress=False)
    ds = Dataset.File.from_files(path=(datastore, "train")).register(ws, "train-set")
    weights = tmp / "model.pt"
    weights.write_bytes(b"w" * 3000)
    run = Experiment(ws, "assets").start_logging(display_name="trainer")
    run.upload_file("outputs/model.pt", str(weights))
    run.register_model("net", "outputs/model.pt", tags={"area": XSS}, datasets=[("training", ds)])
    second = run.register_model(
        "net", "outputs/model.pt", properties={"acc": "0.93"}, datasets=[("training", ds)]
    )
    run.complete()
    Model(ws, "net", version=1).set_alias("production")
    second.set_alias("production")
    assert ds.id is not None
    # A run that read the version, as the runner records a submitted run's input.
    reader = Experiment(ws, "assets").start_logging(display_name="reader")
    ws.store.add_run_dataset(reader.id, "input", "train_data", ds.id)
    reader.complete()
    server = start_server(create_app(ws.store, token="tok", workspace_name="assets-ws"))
    try:
        content_hash = ws.store.get_dataset("train-set").content_hash
        yield Filled(server.url, run.id, ds.id, content_hash, reader.id)
    finally:
        server.stop()
        ws.close()
        if old is None:
            os.environ.pop("RUNYARD_CACHE_DIR", None)
        else:
            os.environ["RUNYARD_CACHE_DIR"] = old


def _get(filled: Filled, path: str) -> httpx.Response:
    return httpx.get(filled.url + path, timeout=30)


def test_datasets_list_and_one_dataset(filled: Filled) -> None:
    listing = _get(filled, "/datasets")
    assert listing.status_code == 200
    row = re.search(r'<tr data-dataset="train-set">(.*?)</tr>', listing.text, re.S)
    assert row, listing.text
    assert 'href="/datasets/train-set"' in row.group(1)
    assert [c.strip() for c in re.findall(r'class="num"[^>]*>([^<]*)<', row.group(1))][:3] == [
        "1",
        "1",
        "2",
    ]
    page = _get(filled, "/datasets/train-set")
    assert page.status_code == 200
    assert 'id="v1"' in page.text and filled.content_hash in page.text
    assert filled.dataset_id in page.text
    assert "a.csv" in page.text and "b.csv" in page.text
    # The models made from the version link back to them, and so do the runs that read it.
    assert 'href="/models/net#v1"' in page.text and 'href="/models/net#v2"' in page.text
    read_by = re.search(r"<th>Read by</th><td>(.*?)</td>", page.text, re.S)
    assert read_by, page.text
    assert f'href="/runs/{filled.reader_id}"' in read_by.group(
        1
    ) and "as train_data" in read_by.group(1)


def test_models_list_and_one_model(filled: Filled) -> None:
    listing = _get(filled, "/models")
    assert listing.status_code == 200
    row = re.search(r'<tr data-model="net">(.*?)</tr>', listing.text, re.S)
    assert row, listing.text
    assert 'href="/models/net"' in row.group(1) and "production → 2" in row.group(1)
    page = _get(filled, "/models/net")
    assert page.status_code == 200
    text = page.text
    assert 'id="v1"' in text and 'id="v2"' in text
    assert text.index('id="v2"') < text.index('id="v1"')  # newest first
    assert text.count(f'href="/runs/{filled.run_id}"') == 2 and "trainer" in text
    assert text.count('href="/datasets/train-set#v1"') == 2
    assert "acc: 0.93" in text and "model.pt" in text
    # Alias history: created on 1, moved to 2.
    history = re.search(r'<table class="grid" id="alias-history">(.*?)</table>', text, re.S)
    assert history
    cells = re.findall(r"<td>([^<]*)</td>", history.group(1))
    assert cells[1:4] == ["production", "—", "1"] and cells[6:9] == ["production", "1", "2"]
    # A tag is user text: escaped, never markup.
    assert XSS not in text and "&lt;script&gt;" in text
    # The nav links are on every page.
    assert 'href="/datasets"' in text and 'href="/models"' in text


def test_unknown_names_are_404_pages(filled: Filled) -> None:
    for path, word in [("/datasets/nope", "dataset"), ("/models/n%3Cb%3Eope", "model")]:
        answer = _get(filled, path)
        assert answer.status_code == 404, path
        assert "text/html" in answer.headers["content-type"]
        assert 'id="error-page"' in answer.text and f"no {word} named" in answer.text
        assert "<b>" not in answer.text


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
def test_experiments_to_model_to_run_in_chromium(filled: Filled) -> None:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(filled.url + "/")
            expect(page.locator("#experiments")).to_contain_text("assets")
            page.click("#nav-models")
            expect(page).to_have_url(filled.url + "/models")
            page.click('#models a[href="/models/net"]')
            expect(page.locator("h1")).to_have_text("Model net")
            page.locator("#v2 a.run-link").click()
            expect(page).to_have_url(filled.url + f"/runs/{filled.run_id}")
            expect(page.locator("h1")).to_contain_text("trainer")
            page.click("#nav-datasets")
            page.click('#datasets a[href="/datasets/train-set"]')
            expect(page.locator("#v1 a.model-link").first).to_be_visible()
        finally:
            browser.close()


SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@pytest.mark.browser
@pytest.mark.skipif(not os.environ.get("RUNYARD_SCREENSHOTS"), reason="set RUNYARD_SCREENSHOTS=1")
def test_screenshots(filled: Filled) -> None:
    """``RUNYARD_SCREENSHOTS=1`` saves docs/screenshots/dataset.png and model.png."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for path, name in [("/datasets/train-set", "dataset"), ("/models/net", "model")]:
                page.goto(filled.url + path)
                page.wait_for_selector("#v1")
                page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        finally:
            browser.close()
