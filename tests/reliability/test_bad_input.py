"""Bad input, one test per row of the catalogue in ``bad_inputs.py``.

Each row acts on its own copy of a workspace holding earlier data (a finished run with
points, a str metric, records, tags, a property and a file; a registered environment).
It must get the error the row expects, whose message names the problem (and the fix,
where there is one), with no traceback; afterwards the store must still open, SQLite
must find it intact, and every piece of earlier data must be exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from runyard.core import Environment, Experiment, Run, Workspace
from runyard.entities import ComputeTargetConfig, RunQuery
from runyard.errors import RunyardError
from runyard.server import create_app
from runyard.store import open_store
from runyard.workspace import read_config, resolve_paths
from tests.reliability.bad_inputs import (
    CATALOGUE,
    TOKEN,
    BadInput,
    Context,
    Outcome,
    python_cli,
)
from tests.support.server import RunningServer, start_server

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def build_template(root: Path) -> None:
    ws = Workspace.create(root, name="bad-input")
    ws.add_compute_target(ComputeTargetConfig(name="pool", type="local", max_concurrent_runs=1))
    run = Experiment(ws, "earlier").start_logging(display_name="kept")
    for i in range(1000):
        run.log("loss", 1.0 / (i + 1))
    run.log("phase", "warm-up")
    run.log_list("accs", [0.1, 0.2])
    run.log_row("by_epoch", epoch=1, acc=0.5)
    run.tag("model", "cnn")
    run.add_properties({"dataset": "cifar10"})
    weights = root / "weights.bin"
    weights.write_bytes(bytes(range(256)) * 64)
    run.upload_file("outputs/weights.bin", weights)
    run.complete()
    env = Environment("earlier-env")
    env.python.conda_dependencies.add_pip_package("numpy==1.26.4")
    env.register(ws)
    src = root / "src"
    src.mkdir()
    (src / "train.py").write_text("print('training')\n")
    ws.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-input-template") / "ws"
    build_template(root)
    return root


class Case(Context):
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp
        self.src = root / "src"
        self.ws = Workspace.from_config(root)
        store = self.ws.store
        self.earlier_run = store.search_runs(RunQuery()).runs[0].run_id
        self._runs: list[Run] = []
        self._server: RunningServer | None = None
        self._client: httpx.Client | None = None

    def run(self, display_name: str | None = None) -> Run:
        run = Experiment(self.ws, "bad-input").start_logging(display_name=display_name)
        self._runs.append(run)
        return run

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return python_cli(self.root, self.tmp, *args)

    def http(self) -> httpx.Client:
        if self._client is None:
            self._server = start_server(create_app(self.ws.store, token=TOKEN))
            self._client = httpx.Client(base_url=self._server.url, timeout=30)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        for run in self._runs:
            # A run the row finished (or broke) itself.
            with contextlib.suppress(RunyardError, UnicodeError):
                run.complete()
        self._runs.clear()
        self.ws.close()


@pytest.fixture
def case(template: Path, tmp_path: Path) -> Iterator[Case]:
    root = tmp_path / "ws"
    shutil.copytree(template, root, symlinks=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    ctx = Case(root, scratch)
    try:
        yield ctx
    finally:
        ctx.close()


def fingerprint(root: Path, config_text: str) -> dict[str, Any]:
    """Everything stored, read through a store opened afresh (so this also checks that
    the store opens), keyed so that earlier data can be compared item by item."""
    config_path = root / ".runyard" / "config.json"
    uri, artifact_root = resolve_paths(
        read_config_text(config_path, config_text), config_path.parent
    )
    store = open_store(uri, artifact_root=artifact_root)
    out: dict[str, Any] = {}
    try:
        for stats in store.list_experiments():
            out[f"experiment {stats.experiment.name}"] = stats.experiment.experiment_id
        for run in store.search_runs(RunQuery(limit=10_000)).runs:
            out[f"run {run.run_id}"] = (
                run.status.value,
                dict(run.tags),
                dict(run.properties),
                json.dumps(dict(run.definition), sort_keys=True, default=str),
                run.display_name,
                run.exit_code,
                run.error,
            )
            for key, summary in store.get_metric_summaries(run.run_id).items():
                series = store.get_metric_series(run.run_id, key)
                digest = hashlib.sha256(repr(list(series.values)).encode()).hexdigest()
                out[f"metric {run.run_id} {key}"] = (summary.count, digest)
            records = [(r.key, r.kind, r.payload) for r in store.get_metric_records(run.run_id)]
            out[f"records {run.run_id}"] = repr(records)
            for info in store.artifacts.list_files(run.run_id):
                data = store.artifacts.read_bytes(run.run_id, info.path)
                out[f"file {run.run_id} {info.path}"] = hashlib.sha256(data).hexdigest()
        for env in store.list_environments():
            out[f"environment {env.name} {env.version}"] = env.spec_hash
        engine = sa.create_engine(uri)
        try:
            with engine.connect() as conn:
                out["integrity"] = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
        finally:
            engine.dispose()
    finally:
        store.close()
    return out


def read_config_text(path: Path, text: str) -> Any:
    """The workspace's config as it was before the row (a row may break the file)."""
    if path.is_file() and path.read_text(errors="replace") == text:
        return read_config(path)
    from runyard.config import WorkspaceConfig

    return WorkspaceConfig.from_dict(json.loads(text), str(path))


def outcome_of(row: BadInput, ctx: Case) -> Outcome:
    try:
        result = row.act(ctx)
    except Exception as exc:
        names = tuple(c.__name__ for c in type(exc).__mro__)
        return Outcome(type(exc).__name__, str(exc), also=names)
    if isinstance(result, Outcome):
        return result
    if isinstance(result, subprocess.CompletedProcess):
        return Outcome(f"exit {result.returncode}", result.stderr + result.stdout)
    if isinstance(result, httpx.Response):
        try:
            error = result.json()["error"]
            kind, message = f"HTTP {result.status_code} {error['type']}", str(error["message"])
        except (ValueError, KeyError, TypeError):
            kind, message = f"HTTP {result.status_code}", result.text
        return Outcome(kind, message + "\n" + result.text)
    return Outcome("no error", repr(result)[:500])


def param(row: BadInput) -> Any:
    return pytest.param(row, id=row.id)


@pytest.mark.parametrize("row", [param(row) for row in CATALOGUE])
def test_bad_input(row: BadInput, case: Case) -> None:
    config_text = (case.root / ".runyard" / "config.json").read_text()
    before = fingerprint(case.root, config_text)
    got = outcome_of(row, case)
    assert row.expect == got.kind or row.expect in got.also, (
        f"{row.given}: expected {row.expect}, got {got.kind}: {got.message[:2000]}"
    )
    for fragment in row.says:
        assert fragment in got.message, f"{row.given}: {fragment!r} not in {got.message!r}"
    assert "Traceback" not in got.message, got.message
    case.close()  # the row's runs finished, its server stopped: then look at the store
    after = fingerprint(case.root, config_text)
    assert after["integrity"] == "ok"
    changed = [key for key, value in before.items() if after.get(key) != value]
    assert not changed, f"{row.given} changed earlier data: {changed}"
    if not row.changes_config:
        assert (case.root / ".runyard" / "config.json").read_text() == config_text


def test_the_catalogue_has_sixty_rows_with_unique_ids() -> None:
    ids = [row.id for row in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert len(CATALOGUE) >= 60
    assert {row.surface for row in CATALOGUE} == {"python", "cli", "config", "environment", "rest"}


def test_the_docs_table_lists_every_row() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [row.id for row in CATALOGUE if f"`{row.id}`" not in text]
    assert not missing, f"docs/reliability.md lacks rows {missing}: run tests/reliability/report.py"
