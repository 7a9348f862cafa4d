"""HttpStore: the Store interface through a real studio server over a real SQL store."""

from __future__ import annotations

import contextlib
import math
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runyard.entities import MetricColumns, MetricRecord, RunInfo, RunKind, RunQuery, RunStatus
from runyard.errors import (
    ArtifactNotFoundError,
    AuthError,
    ConflictError,
    EnvironmentNotFoundError,
    ExperimentNotFoundError,
    MetricTypeError,
    RunNotFoundError,
    StoreError,
    ValidationError,
)
from runyard.remote import HttpStore
from runyard.server import create_app
from runyard.store import open_store
from runyard.store.base import Store
from runyard.store.snapshots import SnapshotStore
from runyard.tracking.ingest import JournalIngester
from runyard.tracking.journal import JournalWriter
from tests.support.restart import start_server_on_port
from tests.support.server import RunningServer, open_test_store, start_server

TOKEN = "http-store-token"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The SQL store the server serves (tests read it directly to compare)."""
    s = open_test_store(tmp_path_factory.mktemp("http-backend"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(backend: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(backend, token=TOKEN))
    yield srv
    srv.stop()


@pytest.fixture
def store(server: RunningServer) -> Iterator[HttpStore]:
    s = open_store(server.url, token=TOKEN)
    assert isinstance(s, HttpStore)
    yield s
    s.close()


def _run(store: Store, name: str = "http", **kwargs: Any) -> RunInfo:
    exp = store.get_or_create_experiment(name)
    fields: dict[str, Any] = {"kind": RunKind.SUBMITTED, "status": RunStatus.RUNNING, **kwargs}
    return store.create_run(exp.experiment_id, **fields)


def _cols(key: str, values: Any, value_type: str = "float", step0: int = 0) -> MetricColumns:
    n = len(values)
    return MetricColumns(
        key, value_type, list(range(step0, step0 + n)), [1000.0 + i for i in range(n)], values
    )


def test_experiments(store: HttpStore, backend: Store) -> None:
    a = store.get_or_create_experiment("exp-a")
    assert store.get_or_create_experiment("exp-a") == a == backend.get_experiment(a.experiment_id)
    assert store.get_experiment(a.experiment_id) == a
    assert store.get_experiment_by_name("exp-a") == a
    assert store.get_experiment_by_name("no-such-exp") is None
    with pytest.raises(ExperimentNotFoundError):
        store.get_experiment("no-such-id")
    _run(store, "exp-a")
    stats = {s.experiment.name: s for s in store.list_experiments()}
    assert stats["exp-a"].run_count == 1 and stats["exp-a"].status_counts == {"Running": 1}
    assert stats["exp-a"] == {s.experiment.name: s for s in backend.list_experiments()}["exp-a"]


def test_runs_round_trip(store: HttpStore, backend: Store) -> None:
    definition = {"script": "train.py", "arguments": ["--lr", 0.1], "limit": math.inf}
    run = _run(
        store,
        status=RunStatus.QUEUED,
        compute_target="cpu",
        display_name="first",
        tags={"team": "a"},
        properties={"seed": "1"},
        definition=definition,
        owner="1@host",
        run_id="http-run-fixed-id",
    )
    assert run.run_id == "http-run-fixed-id" and run.definition == definition
    assert store.get_run(run.run_id) == backend.get_run(run.run_id) == run
    # The same id again is a conflict, not a second run.
    with pytest.raises(ConflictError):
        _run(store, "other-exp", run_id="http-run-fixed-id")
    with pytest.raises(RunNotFoundError):
        store.get_run("no-such-run")

    store.set_tags(run.run_id, {"team": "b", "x": "1"})
    store.add_properties(run.run_id, {"seed": "1", "data": "v2"})  # same value again: fine
    with pytest.raises(ConflictError):
        store.add_properties(run.run_id, {"data": "v3", "new": "n"})
    info = store.update_definition(run.run_id, {"environment": {"hash": "abc"}, "nan": math.nan})
    assert info.tags == {"team": "b", "x": "1"}
    assert info.properties == {"seed": "1", "data": "v2"}  # nothing of the refused call
    assert info.definition["environment"] == {"hash": "abc"}
    assert math.isnan(info.definition["nan"]) and info.definition["limit"] == math.inf
    store.heartbeat(run.run_id, owner="2@node")
    assert store.get_run(run.run_id).owner == "2@node"


def test_display_name_is_set_through_the_server(store: HttpStore, backend: Store) -> None:
    run = _run(store)
    renamed = store.set_display_name(run.run_id, "renamed \u00e9")
    assert renamed.display_name == "renamed \u00e9" == backend.get_run(run.run_id).display_name
    assert renamed.change_seq > run.change_seq
    with pytest.raises(ValidationError, match="display name is 1025 characters"):
        store.set_display_name(run.run_id, "x" * 1025)
    with pytest.raises(RunNotFoundError):
        store.set_display_name("no-such-run", "x")


def test_status_compare_and_set(store: HttpStore) -> None:
    run = _run(store, status=RunStatus.QUEUED)
    with pytest.raises(ConflictError):
        store.set_status(run.run_id, RunStatus.RUNNING, expected=[RunStatus.PREPARING])
    started = store.set_status(run.run_id, RunStatus.RUNNING, expected=[RunStatus.QUEUED])
    assert started.status is RunStatus.RUNNING and started.started_at is not None
    done = store.set_status(run.run_id, RunStatus.FAILED, exit_code=3, error="boom")
    assert (done.status, done.exit_code, done.error) == (RunStatus.FAILED, 3, "boom")
    assert done.ended_at is not None
    with pytest.raises(ConflictError):  # terminal is final
        store.set_status(run.run_id, RunStatus.COMPLETED)


def test_search_and_claim(store: HttpStore, backend: Store) -> None:
    exp = store.get_or_create_experiment("exp-search")
    runs = [
        store.create_run(
            exp.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.QUEUED,
            compute_target="pool",
            tags={"i": str(i)},
        )
        for i in range(3)
    ]
    for i, run in enumerate(runs):
        store.append_metrics(run.run_id, [_cols("acc", [0.1 * i, 0.5 + 0.1 * i])])
    query = RunQuery(
        experiment_id=exp.experiment_id, sort="metric:acc:max", with_metrics=["acc"], limit=2
    )
    page = store.search_runs(query)
    assert page == backend.search_runs(query)
    assert [r.run_id for r in page.runs] == [runs[2].run_id, runs[1].run_id]
    assert page.total == 3 and page.summaries[runs[2].run_id]["acc"].max == pytest.approx(0.7)
    tagged = store.search_runs(RunQuery(experiment_id=exp.experiment_id, tags={"i": "1"}))
    assert [r.run_id for r in tagged.runs] == [runs[1].run_id]

    first = store.claim_next_queued("pool", 1)
    assert first is not None and first.run_id == runs[0].run_id
    assert first.status is RunStatus.PREPARING
    assert store.claim_next_queued("pool", 1) is None  # the one slot is taken
    statuses = store.search_runs(
        RunQuery(experiment_id=exp.experiment_id, statuses=[RunStatus.QUEUED])
    )
    assert statuses.total == 2


def test_metrics_round_trip_with_non_finite_values(store: HttpStore, backend: Store) -> None:
    run = _run(store)
    store.append_metrics(
        run.run_id,
        [
            _cols("loss", np.array([0.5, math.nan, math.inf, -math.inf, 0.25])),
            _cols("plain", [1.5, math.nan, -math.inf]),
            _cols("epoch", [1, 2, 3], "int"),
            _cols("ok", [True, False], "bool"),
            # The strings that name non-finite floats stay strings in a str metric.
            _cols("phase", ["NaN", "Infinity", "train"], "str"),
        ],
        [
            MetricRecord("table", "table", {"a": [1.0, math.nan], "b": ["x", "y"]}, 5.0),
            MetricRecord("lst", "list", [math.inf, 2], 6.0, seq=1),
        ],
        journal_offset=123,
    )
    loss = store.get_metric_series(run.run_id, "loss")
    assert loss.values[0] == 0.5 and math.isnan(loss.values[1])  # type: ignore[arg-type]
    assert list(loss.values[2:]) == [math.inf, -math.inf, 0.25]
    assert list(loss.steps) == [0, 1, 2, 3, 4] and loss.total_count == 5
    assert list(loss.timestamps) == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    plain = store.get_metric_series(run.run_id, "plain").values
    assert plain[0] == 1.5 and math.isnan(plain[1]) and plain[2] == -math.inf  # type: ignore[arg-type]
    epoch = store.get_metric_series(run.run_id, "epoch").values
    assert epoch == [1, 2, 3] and all(type(v) is int for v in epoch)
    assert store.get_metric_series(run.run_id, "ok").values == [True, False]
    assert store.get_metric_series(run.run_id, "phase").values == ["NaN", "Infinity", "train"]
    assert store.get_metric_series(run.run_id, "never").total_count == 0

    summaries = store.get_metric_summaries(run.run_id)
    direct = backend.get_metric_summaries(run.run_id)
    assert set(summaries) == set(direct) == {"loss", "plain", "epoch", "ok", "phase"}
    s = summaries["loss"]
    assert (s.count, s.last, s.min, s.max, s.last_step) == (5, 0.25, -math.inf, math.inf, 4)
    assert summaries["phase"].last == "train" and summaries["phase"].value_type == "str"
    assert summaries["epoch"] == direct["epoch"] and type(summaries["epoch"].last) is int

    records = store.get_metric_records(run.run_id)
    assert [r.key for r in records] == ["table", "lst"]
    assert math.isnan(records[0].payload["a"][1]) and records[1].payload == [math.inf, 2]
    assert [r.key for r in store.get_metric_records(run.run_id, "lst")] == ["lst"]
    assert store.get_journal_offset(run.run_id) == 123


def test_summaries_of_many_runs_in_one_read(store: HttpStore, backend: Store) -> None:
    a, b, empty = _run(store), _run(store), _run(store)
    store.append_metrics(a.run_id, [_cols("acc", [0.5, 0.75]), _cols("phase", ["x"], "str")])
    store.append_metrics(b.run_id, [_cols("acc", [0.25])])
    many = store.get_metric_summaries_of([a.run_id, b.run_id, empty.run_id, "no-such-run"])
    assert set(many) == {a.run_id, b.run_id}  # no metrics, or no run: left out
    assert many[a.run_id] == store.get_metric_summaries(a.run_id)
    assert many[b.run_id] == backend.get_metric_summaries(b.run_id)
    assert many[a.run_id]["acc"].last == 0.75 and many[a.run_id]["phase"].value_type == "str"
    assert store.get_metric_summaries_of([]) == {}


def test_metric_type_error_writes_nothing(store: HttpStore) -> None:
    run = _run(store)
    store.append_metrics(run.run_id, [_cols("acc", [0.5])])
    with pytest.raises(MetricTypeError, match="'acc'"):
        store.append_metrics(
            run.run_id, [_cols("fine", [1.0]), _cols("acc", ["high"], "str")], journal_offset=9
        )
    assert set(store.get_metric_summaries(run.run_id)) == {"acc"}
    assert store.get_journal_offset(run.run_id) == 0
    with pytest.raises(RunNotFoundError):
        store.append_metrics("no-such-run", [_cols("acc", [0.5])])


def test_downsampled_series_matches_the_store(store: HttpStore, backend: Store) -> None:
    run = _run(store)
    n = 20_000
    values = np.sin(np.arange(n) / 500.0)
    values[1234] = 5.0  # a spike that down-sampling must keep
    values[777] = math.nan
    cols = MetricColumns("wave", "float", np.arange(n), np.arange(n) * 0.5, values)
    store.append_metrics(run.run_id, [cols])
    series = store.get_metric_series(run.run_id, "wave", max_points=200)
    direct = backend.get_metric_series(run.run_id, "wave", max_points=200)
    assert series.downsampled and series.total_count == n and len(series.values) <= 200
    assert list(series.steps) == list(direct.steps)
    assert 5.0 in series.values and series.steps[0] == 0 and series.steps[-1] == n - 1
    tail = store.get_metric_series(run.run_id, "wave", start=n - 3)
    assert list(tail.steps) == [n - 3, n - 2, n - 1] and tail.total_count == n


def test_environments(store: HttpStore) -> None:
    spec = {"name": "env-a", "python": {"requirements": ["numpy"]}, "inf": math.inf}
    v1 = store.register_environment("env-a", spec, "h1")
    assert v1.version == 1 and v1.spec == spec
    assert store.register_environment("env-a", spec, "h1") == v1
    v2 = store.register_environment("env-a", {**spec, "x": 1}, "h2")
    assert v2.version == 2
    assert store.get_environment("env-a") == v2 and store.get_environment("env-a", 1) == v1
    assert [(e.name, e.version) for e in store.list_environments() if e.name == "env-a"] == [
        ("env-a", 1),
        ("env-a", 2),
    ]
    with pytest.raises(EnvironmentNotFoundError):
        store.get_environment("no-such-env")


def test_files(store: HttpStore, backend: Store, tmp_path: Path) -> None:
    run = _run(store)
    repo = store.artifacts
    source = tmp_path / "model.bin"
    source.write_bytes(bytes(range(256)) * 5000)
    repo.put_file(run.run_id, "outputs/model.bin", source)
    repo.put_bytes(run.run_id, "outputs/odd name #1 ü.txt", b"hello")
    repo.append_bytes(run.run_id, "system_logs/driver.log", b"line 1\n")
    repo.append_bytes(run.run_id, "system_logs/driver.log", b"line 2\n")
    names = [f.path for f in repo.list_files(run.run_id)]
    assert names == ["outputs/model.bin", "outputs/odd name #1 ü.txt", "system_logs/driver.log"]
    assert names == [f.path for f in backend.artifacts.list_files(run.run_id)]
    assert repo.read_bytes(run.run_id, "system_logs/driver.log") == b"line 1\nline 2\n"
    assert repo.read_bytes(run.run_id, "system_logs/driver.log", 5, 3) == b"1\nl"
    assert repo.read_bytes(run.run_id, "outputs/odd name #1 ü.txt") == b"hello"
    repo.download(run.run_id, "outputs/model.bin", tmp_path / "copy" / "model.bin")
    assert (tmp_path / "copy" / "model.bin").read_bytes() == source.read_bytes()
    with pytest.raises(ArtifactNotFoundError):
        repo.read_bytes(run.run_id, "outputs/none.txt")
    with pytest.raises(ValidationError):
        repo.put_bytes(run.run_id, "../escape.txt", b"x")


def test_snapshots_move_between_stores(store: HttpStore, tmp_path: Path) -> None:
    """A control script with its own artifact root uploads; a node downloads."""
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "train.py").write_text("print('hi')\n")
    (source / "pkg" / "util.py").write_text("X = 1\n")
    client_side = SnapshotStore(tmp_path / "client-snapshots")
    info = client_side.capture(source)
    assert not store.snapshots.exists(info.snapshot_id)
    assert store.snapshots.upload(client_side, info.snapshot_id) == 2
    assert store.snapshots.exists(info.snapshot_id)
    assert store.snapshots.upload(client_side, info.snapshot_id) == 0  # already there
    node = SnapshotStore(tmp_path / "node-snapshots")
    assert store.snapshots.download(info.snapshot_id, node) == 2
    assert store.snapshots.download(info.snapshot_id, node) == 0  # cached on the node
    node.materialise(info.snapshot_id, tmp_path / "work")
    assert (tmp_path / "work" / "pkg" / "util.py").read_text() == "X = 1\n"


def test_auth_errors(server: RunningServer) -> None:
    anonymous = HttpStore(server.url, retry_for=1)
    wrong = HttpStore(server.url, token="nope", retry_for=1)
    try:
        with pytest.raises(AuthError, match="token"):
            anonymous.get_or_create_experiment("exp-auth")
        with pytest.raises(AuthError):
            wrong.artifacts.put_bytes("any", "x.txt", b"x")
        with pytest.raises(AuthError):
            wrong.check_token()
        assert anonymous.get_experiment_by_name("exp-auth") is None  # loopback reads are open
    finally:
        anonymous.close()
        wrong.close()


def test_unreachable_server_is_a_clear_store_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nobody listens there
    store = HttpStore(f"http://127.0.0.1:{port}", token=TOKEN, retry_for=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(StoreError, match=r"did not answer for 0\.5 s .* `runyard studio`"):
            store.get_run("x")
    finally:
        store.close()
    assert time.monotonic() - started < 5


def test_append_survives_a_server_restart(tmp_path: Path) -> None:
    """The studio goes away for a few seconds while a run logs and ingests through it,
    then comes back on the same port: every point arrives exactly once."""
    backend = open_test_store(tmp_path)
    app = create_app(backend, token=TOKEN)
    srv = start_server(app)
    store = HttpStore(srv.url, token=TOKEN, retry_for=30)
    run = _run(store)
    journal = tmp_path / "journal.bin"
    writer = JournalWriter(journal)
    ingester = JournalIngester(store, run.run_id, journal)
    total = 20_000
    logged = threading.Event()

    def log_points() -> None:
        for i in range(total):
            writer.log("x", float(i))
            if i % 500 == 0:
                time.sleep(0.02)  # spread the run over the outage
        logged.set()

    def ingest() -> None:
        while not logged.is_set():
            ingester.ingest_once()
            time.sleep(0.05)

    threads = [threading.Thread(target=log_points), threading.Thread(target=ingest)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 10
        while store.get_journal_offset(run.run_id) == 0:
            assert time.monotonic() < deadline, "nothing was ingested before the outage"
            time.sleep(0.02)
        srv.stop()
        time.sleep(3)  # the outage: every call meanwhile is retried
        srv = start_server_on_port(app, srv.port)
        for t in threads:
            t.join(60)
        ingester.drain()
        writer.close()
        series = backend.get_metric_series(run.run_id, "x")
        assert series.total_count == total
        assert list(series.values) == [float(i) for i in range(total)]
    finally:
        store.close()
        srv.stop()
        backend.close()


class ResponseDroppingProxy:
    """A TCP proxy in front of the server that can swallow the next response and cut
    the connection: the request was applied, but the client cannot know."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.drop_next = threading.Event()
        self.dropped = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, is_response: bool) -> None:
        try:
            while data := src.recv(1 << 16):
                if is_response and self.drop_next.is_set():
                    self.drop_next.clear()
                    self.dropped += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._listener.close()
        for s in self._open:
            s.close()


@pytest.fixture
def proxy(server: RunningServer) -> Iterator[ResponseDroppingProxy]:
    p = ResponseDroppingProxy(server.port)
    yield p
    p.close()


def test_lost_answers_are_not_applied_twice(proxy: ResponseDroppingProxy, backend: Store) -> None:
    store = HttpStore(proxy.url, token=TOKEN, retry_for=10)
    try:
        run = _run(store, status=RunStatus.PREPARING)
        # A metrics batch with a journal offset: the re-read offset shows it is in.
        proxy.drop_next.set()
        store.append_metrics(run.run_id, [_cols("x", [1.0, 2.0, 3.0])], journal_offset=30)
        assert proxy.dropped == 1
        assert backend.get_metric_series(run.run_id, "x").total_count == 3
        assert backend.get_journal_offset(run.run_id) == 30
        # Without an offset nobody can tell: the caller hears so, nothing is repeated.
        proxy.drop_next.set()
        with pytest.raises(StoreError, match="may or may not"):
            store.append_metrics(run.run_id, [_cols("x", [4.0], step0=3)])
        assert backend.get_metric_series(run.run_id, "x").total_count == 4
        # A log append: the file's size shows it arrived.
        store.artifacts.append_bytes(run.run_id, "system_logs/driver.log", b"one\n")
        proxy.drop_next.set()
        store.artifacts.append_bytes(run.run_id, "system_logs/driver.log", b"two\n")
        store.artifacts.append_bytes(run.run_id, "system_logs/driver.log", b"three\n")
        log = backend.artifacts.read_bytes(run.run_id, "system_logs/driver.log")
        assert log == b"one\ntwo\nthree\n"
        # A status change: the conflict of the repeat means the first one went through.
        proxy.drop_next.set()
        info = store.set_status(run.run_id, RunStatus.STARTING, expected=[RunStatus.PREPARING])
        assert info.status is RunStatus.STARTING
        assert proxy.dropped == 4
    finally:
        store.close()


def test_cancel_requests(store: HttpStore, backend: Store) -> None:
    queued = _run(store, status=RunStatus.QUEUED)
    canceled = store.request_cancel(queued.run_id)
    assert canceled.status is RunStatus.CANCELED and canceled.ended_at is not None
    active = _run(store, status=RunStatus.RUNNING)
    first = store.request_cancel(active.run_id)
    assert first.status is RunStatus.RUNNING and first.cancel_requested_at is not None
    again = store.request_cancel(active.run_id)  # the first request's time is kept
    assert again.cancel_requested_at == first.cancel_requested_at
    assert store.get_run(active.run_id) == backend.get_run(active.run_id) == again
    with pytest.raises(RunNotFoundError):
        store.request_cancel("no-such-run")


def test_remove_tags(store: HttpStore, backend: Store) -> None:
    run = _run(store, tags={"a": "1", "b": "2", "c": "3"})
    seq = store.get_change_seqs([run.run_id])[run.run_id]
    store.remove_tags(run.run_id, ["a", "c", "never-set"])  # a name it lacks is skipped
    assert store.get_run(run.run_id).tags == backend.get_run(run.run_id).tags == {"b": "2"}
    assert store.get_change_seqs([run.run_id])[run.run_id] > seq
    with pytest.raises(ValidationError, match=r"write \['b'\]"):
        store.remove_tags(run.run_id, "b")  # a str is a Sequence[str] too
    with pytest.raises(RunNotFoundError):
        store.remove_tags("no-such-run", ["b"])
    assert backend.get_run(run.run_id).tags == {"b": "2"}


def test_change_counters(store: HttpStore, backend: Store) -> None:
    a, b = _run(store), _run(store)
    before = store.get_change_seqs([a.run_id, b.run_id, "no-such-run"])
    assert before == backend.get_change_seqs([a.run_id, b.run_id]) and set(before) == {
        a.run_id,
        b.run_id,
    }
    store.append_metrics(a.run_id, [_cols("x", [1.0])])
    after = store.get_change_seqs([a.run_id, b.run_id])
    assert after[a.run_id] > before[a.run_id] and after[b.run_id] == before[b.run_id]
    assert store.get_run(a.run_id).change_seq == after[a.run_id]
    assert store.get_change_seqs([]) == {}


def test_every_store_method_is_served_and_tested_here() -> None:
    """HttpStore implements each Store method itself (none inherited, not even a
    default), and a test of this module or of the assets one calls it through the real
    server."""
    here = Path(__file__).parent
    source = "".join(
        (here / name).read_text(encoding="utf-8")
        for name in ("test_store_http.py", "test_store_http_assets.py")
    )
    public = {
        name
        for name, member in vars(Store).items()
        if callable(member) and not name.startswith("_")
    }
    assert Store.__abstractmethods__ <= public
    inherited = sorted(name for name in public if getattr(HttpStore, name) is getattr(Store, name))
    assert not inherited, f"HttpStore inherits {inherited}: add the route and the client call"
    # The HttpStore under test is called ``store`` throughout this module.
    untested = sorted(name for name in public if f"store.{name}(" not in source)
    assert not untested, f"no test here calls {untested} through the server"


def test_the_registry_opens_stores_by_uri_scheme(tmp_path: Path) -> None:
    from runyard.errors import ConfigError
    from runyard.store.registry import STORES, store_class

    assert store_class("https://studio:8765") is HttpStore
    assert all(":" in target for target in STORES.values())  # import paths, not imports
    with pytest.raises(ConfigError, match="unsupported tracking URI 'ftp://x'"):
        open_store("ftp://x")
    with pytest.raises(ConfigError, match="artifact root"):
        open_store(f"sqlite:///{tmp_path / 'x.db'}")
    # Opening a SQL store loads neither the HTTP client nor the wire format.
    code = (
        "import sys; from pathlib import Path; from runyard.store import open_store; "
        f"open_store('sqlite:///{tmp_path / 'y.db'}', artifact_root=Path({str(tmp_path)!r})); "
        "print(sorted(m for m in ('httpx', 'runyard.remote', 'runyard.wire') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_soft_delete_and_restore(store: HttpStore, backend: Store) -> None:
    """The soft-delete checks of the SQL stores, through the server; then each call once
    more, read back from the SQL store behind it."""
    from tests.test_soft_delete import check_experiments, check_runs

    check_runs(store)
    check_experiments(store)
    run = _run(store, "http-delete", status=RunStatus.COMPLETED)
    assert store.delete_run(run.run_id).deleted_at == backend.get_run(run.run_id).deleted_at
    assert store.restore_run(run.run_id).deleted_at is None
    assert store.delete_experiment(run.experiment_id).deleted_at is not None
    assert [s.experiment.name for s in store.list_experiments("deleted")] == [
        s.experiment.name for s in backend.list_experiments("deleted")
    ]
    assert store.restore_experiment(run.experiment_id).deleted_at is None


def test_purge_through_the_server(store: HttpStore, backend: Store, tmp_path: Path) -> None:
    """The named-purge checks through the server; the run's files go on the server's
    side. (A purge of everything would reach other tests' deleted runs: not here.)"""
    from tests.test_purge import check_purge

    check_purge(store)
    run = _run(store, "http-purge", status=RunStatus.COMPLETED)
    store.artifacts.put_bytes(run.run_id, "outputs/w.bin", b"z" * 2048)
    store.delete_run(run.run_id)
    with pytest.raises(ValidationError, match="list of run ids"):
        store.purge_deleted(run_ids=run.run_id)
    assert store.purge_deleted(run_ids=[run.run_id], dry_run=True).file_bytes >= 2048
    done = store.purge_deleted(run_ids=[run.run_id])
    assert done.run_ids == (run.run_id,) and done.file_bytes >= 2048
    with pytest.raises(RunNotFoundError):
        backend.get_run(run.run_id)
    assert not backend.artifacts.list_files(run.run_id)


def test_experiment_tags_through_the_server(store: HttpStore, backend: Store) -> None:
    from tests.test_experiment_tags import check_experiment_tags, check_rename

    check_experiment_tags(store)
    check_rename(store)
    exp = store.get_or_create_experiment("http-exp-tags")
    store.set_experiment_tags(exp.experiment_id, {"k": "v"})
    assert backend.get_experiment(exp.experiment_id).tags == {"k": "v"}
    assert store.remove_experiment_tags(exp.experiment_id, ["k"]).tags == {}
    assert store.rename_experiment(exp.experiment_id, "http-exp-renamed").name == (
        backend.get_experiment(exp.experiment_id).name
    )
    store.delete_experiment(exp.experiment_id)
    done = store.purge_deleted(experiment_ids=[exp.experiment_id])
    assert done.experiment_ids == (exp.experiment_id,)
    with pytest.raises(ExperimentNotFoundError):
        backend.get_experiment(exp.experiment_id)


def test_values_at_step_through_the_server(store: HttpStore) -> None:
    from tests.test_metric_at_step import check_values_at_step

    check_values_at_step(store)
    run = _run(store, "http-at-step")
    store.append_metrics(run.run_id, [MetricColumns("x", "float", [7], [1.0], [math.inf])])
    assert store.get_metric_values_at_step([run.run_id], "x", 7) == {run.run_id: math.inf}
