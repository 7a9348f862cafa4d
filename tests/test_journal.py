"""The run journal: round trips, truncation, damage, and SIGKILL durability."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.entities import RunKind, RunStatus
from runyard.errors import MetricTypeError, ValidationError
from runyard.store.base import Store
from runyard.tracking.decode import crc32_rows, decode
from runyard.tracking.ingest import DAMAGE_TAG, JournalIngester
from runyard.tracking.journal import JournalWriter
from runyard.tracking.journal_reader import DecodeState, iter_records

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
)
names = st.sampled_from(["loss", "acc", "lr", "métrique/ü", "a" * 255])


def read_all(path: Path) -> list[tuple[str, object, int]]:
    state = DecodeState()
    return [(r.name, r.value, r.step) for r in iter_records(path.read_bytes(), 0, state)]


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and type(a) is type(b)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, values), max_size=60))
def test_round_trip(
    tmp_path_factory: pytest.TempPathFactory, items: list[tuple[str, object]]
) -> None:
    path = tmp_path_factory.mktemp("j") / "journal.bin"
    writer = JournalWriter(path)
    for name, value in items:
        writer.log(name, value)
    writer.close()
    got = read_all(path)
    assert len(got) == len(items)
    steps: dict[str, int] = {}
    for (name, value), (gname, gvalue, gstep) in zip(items, got):
        assert gname == name
        assert same(gvalue, value), (gvalue, value)
        assert gstep == steps.get(name, 0)
        steps[name] = gstep + 1


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=30), st.data())
def test_any_truncation_keeps_every_whole_record(
    tmp_path_factory: pytest.TempPathFactory, count: int, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("j") / "journal.bin"
    writer = JournalWriter(path)
    for i in range(count):
        writer.log("x", float(i))
        writer.log("s", f"text {i}")
    end = writer.size
    writer.close()
    raw = path.read_bytes()[:end]
    cut = data.draw(st.integers(min_value=0, max_value=end))
    state = DecodeState()
    got = list(iter_records(raw[:cut], 0, state))
    # Every record that ends before the cut is read; nothing after it is invented.
    ends = []
    s2 = DecodeState()
    for _ in iter_records(raw, 0, s2):
        ends.append(s2.offset)
    assert len(got) == sum(1 for e in ends if e <= cut)


def test_corruption_stops_at_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "journal.bin"
    writer = JournalWriter(path)
    for i in range(100):
        writer.log("x", float(i))
    writer.close()
    raw = bytearray(path.read_bytes())
    raw[38 * 50 + 30] ^= 0xFF  # a byte inside the 50th number record (after the name)
    state = DecodeState()
    batch = decode(bytes(raw), 0, state, 10_000)
    assert state.stopped and "checksum" in state.stopped
    cols = batch.columns(state.names)
    assert 40 <= len(cols[0]) < 100
    assert list(cols[0].values)[:10] == [float(i) for i in range(10)]


@settings(max_examples=60, deadline=None)
@given(
    st.binary(min_size=0, max_size=4000),
    st.integers(0, 7),
    st.integers(0, 45),
    st.integers(0, 8),
)
def test_crc32_rows_is_zlibs_crc32(data: bytes, offset: int, length: int, gap: int) -> None:
    """The bulk checksum of numeric records is zlib's CRC-32 of each record's body, at
    any offset, body length and record stride (unaligned views included)."""
    stride = length + gap
    if stride == 0 or offset + length > len(data):
        count = 0
    else:
        count = (len(data) - offset - length) // stride + 1
    got = crc32_rows(data, offset, count, stride, length).tolist()
    starts = [offset + i * stride for i in range(count)]
    assert got == [zlib.crc32(data[s : s + length]) for s in starts]


@pytest.mark.parametrize("records", [100, 60_000])
def test_an_unwritten_header_before_written_bodies_is_damage(
    store: Store, tmp_path: Path, records: int
) -> None:
    """A record whose header is still zero reads as the journal's end; the bytes after it
    (later records' bodies) make it damage, found in the rest of the final read (which
    reaches the file's end), with every whole record before it ingested."""
    path = tmp_path / "journal.bin"
    writer = JournalWriter(path)
    for i in range(records):
        writer.log("x", float(i), step=i)
    writer.close()
    raw = bytearray(path.read_bytes())
    name_record = 8 + 5 + 1  # header, kind and id, the name "x"
    at = name_record + 38 * (records // 2)
    raw[at : at + 8] = bytes(8)  # its header zeroed: as if never written
    path.write_bytes(bytes(raw))
    exp = store.get_or_create_experiment("torn-header")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    ingester = JournalIngester(store, run.run_id, path)
    assert ingester.drain() == records // 2
    assert ingester.damage is not None and f"after byte {at}" in ingester.damage
    assert store.get_run(run.run_id).tags[DAMAGE_TAG] == ingester.damage
    assert store.get_metric_series(run.run_id, "x").total_count == records // 2


def test_bulk_decode_matches_plain_decode(tmp_path: Path) -> None:
    path = tmp_path / "journal.bin"
    writer = JournalWriter(path)
    for i in range(5000):
        writer.log("a", i * 0.5)
        if i % 7 == 0:
            writer.log("b", i)
        if i % 1000 == 0:
            writer.log("note", f"at {i}")
            writer.log_record("row", "row", {"i": i})
    writer.close()
    state = DecodeState()
    batch = decode(path.read_bytes(), 0, state, 10**9)
    cols = {c.key: c for c in batch.columns(state.names)}
    assert list(cols["a"].values) == [i * 0.5 for i in range(5000)]
    assert cols["b"].value_type == "int" and len(cols["b"]) == len(range(0, 5000, 7))
    assert list(cols["note"].values) == [f"at {i}" for i in range(0, 5000, 1000)]
    assert [r.payload for r in batch.records] == [{"i": i} for i in range(0, 5000, 1000)]


def test_reopen_appends_and_continues_steps(tmp_path: Path) -> None:
    path = tmp_path / "journal.bin"
    w = JournalWriter(path)
    w.log("x", 1.0)
    w.log("x", 2.0)
    w.close()
    w = JournalWriter(path)
    w.log("x", 3.0)
    w.close()
    assert [(v, s) for _, v, s in read_all(path)] == [(1.0, 0), (2.0, 1), (3.0, 2)]


def test_growth_past_the_first_chunk(tmp_path: Path) -> None:
    path = tmp_path / "journal.bin"
    w = JournalWriter(path)
    for i in range(100_000):  # 3.8 MB, several remaps
        w.log("x", float(i), step=i)
    w.close()
    assert len(read_all(path)) == 100_000


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([1, 2], MetricTypeError),
        ({"a": 1}, MetricTypeError),
        (None, MetricTypeError),
        (b"x", MetricTypeError),
    ],
)
def test_bad_values_are_refused_with_the_metric_name(
    tmp_path: Path, value: object, error: type
) -> None:
    w = JournalWriter(tmp_path / "j.bin")
    with pytest.raises(error, match="'loss'"):
        w.log("loss", value)
    w.close()


def test_bad_names_and_type_switches(tmp_path: Path) -> None:
    w = JournalWriter(tmp_path / "j.bin")
    with pytest.raises(ValidationError, match="limit is 255"):
        w.log("n" * 10_000, 1.0)
    with pytest.raises(ValidationError, match="empty"):
        w.log("", 1.0)
    w.log("loss", 1.0)
    with pytest.raises(MetricTypeError, match="number before"):
        w.log("loss", "high")
    w.log("label", "cat")
    with pytest.raises(MetricTypeError, match="str before"):
        w.log("label", 2.0)
    w.close()


def test_numpy_scalars_are_logged_as_python_numbers(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    w = JournalWriter(tmp_path / "j.bin")
    w.log("f", np.float32(0.5))
    w.log("i", np.int64(3))
    w.log("b", np.bool_(True))
    w.close()
    assert [(n, v) for n, v, _ in read_all(tmp_path / "j.bin")] == [
        ("f", 0.5),
        ("i", 3),
        ("b", True),
    ]


KILL_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from runyard.tracking.journal import JournalWriter
    w = JournalWriter(sys.argv[1])
    i = 0
    while True:
        w.log("x", float(i))
        i += 1
        if i % 1000 == 0:
            # how far we got, written after the points: what is counted must be stored
            with open(sys.argv[2] + ".tmp", "w") as f:
                f.write(str(i))
            os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    """
)


@pytest.mark.parametrize("attempt", range(5))
def test_sigkill_loses_nothing(tmp_path: Path, attempt: int) -> None:
    journal, progress = tmp_path / "j.bin", tmp_path / "progress"
    script = tmp_path / "logger.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(journal), str(progress)])
    deadline = time.monotonic() + 30
    target = 20_000 * (attempt + 1)
    while time.monotonic() < deadline:
        if (
            progress.exists()
            and progress.read_text().strip()
            and int(progress.read_text()) >= target
        ):
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    counted = int(progress.read_text())
    got = read_all(journal)
    assert len(got) >= counted
    assert [v for _, v, _ in got] == [float(i) for i in range(len(got))]


def test_a_failed_store_write_is_retried_not_skipped(tmp_path: Path) -> None:
    from runyard.errors import StoreError
    from runyard.store.artifacts import LocalArtifactRepository
    from runyard.store.sql import SqlStore
    from runyard.tracking.ingest import JournalIngester

    class FlakyStore(SqlStore):
        """The real store, whose next write fails once (as on a full disk)."""

        fail_next = True

        def append_metrics(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
            if self.fail_next:
                self.fail_next = False
                raise StoreError("disk full")
            super().append_metrics(*args, **kwargs)  # type: ignore[arg-type]

    store = FlakyStore(f"sqlite:///{tmp_path / 'db'}", LocalArtifactRepository(tmp_path / "a"))
    exp = store.get_or_create_experiment("e")
    from runyard.entities import RunKind, RunStatus

    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    writer = JournalWriter(tmp_path / "j.bin")
    for i in range(100):
        writer.log("x", float(i))
    ingester = JournalIngester(store, run.run_id, tmp_path / "j.bin")
    with pytest.raises(StoreError):
        ingester.ingest_once()
    for i in range(100, 150):
        writer.log("x", float(i))
    writer.close()
    assert ingester.drain() == 150
    assert list(store.get_metric_series(run.run_id, "x").values) == [float(i) for i in range(150)]


def test_control_records_are_their_own_kind(tmp_path: Path) -> None:
    from runyard.entities import RunKind, RunStatus
    from runyard.store.artifacts import LocalArtifactRepository
    from runyard.store.sql import SqlStore
    from runyard.tracking.ingest import JournalIngester
    from runyard.tracking.journal import KIND_CONTROL
    from runyard.tracking.readback import metrics_from_journal

    path = tmp_path / "journal.bin"
    writer = JournalWriter(path)
    writer.log("loss", 0.5)
    writer.log_control("tags", {"phase": "train"})
    staged = tmp_path / "staged.txt"
    staged.write_text("hello")
    writer.log_control("upload", {"name": "outputs/hello.txt", "path": str(staged)})
    writer.log_control("properties", {"p": "1"})
    writer.log("loss", 0.25)
    with pytest.raises(ValidationError, match="unknown"):
        writer.log_control("metrics", {})
    writer.close()
    # Readers of metrics never see them: no filter, no reserved metric name.
    assert metrics_from_journal(path) == {"loss": [0.5, 0.25]}
    kinds = [r.kind for r in iter_records(path.read_bytes(), 0, DecodeState())]
    assert kinds.count(KIND_CONTROL) == 3
    state = DecodeState()
    batch = decode(path.read_bytes(), 0, state, 10**9)
    assert [c.kind for c in batch.control] == ["tags", "upload", "properties"]
    assert batch.control[0].payload == {"phase": "train"}
    assert batch.records == [] and [c.key for c in batch.columns(state.names)] == ["loss"]
    # Reopening appends after them; ingest applies them to the run.
    JournalWriter(path).close()
    store = SqlStore(f"sqlite:///{tmp_path / 'db'}", LocalArtifactRepository(tmp_path / "a"))
    exp = store.get_or_create_experiment("e")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    assert JournalIngester(store, run.run_id, path).drain() == 5
    info = store.get_run(run.run_id)
    assert info.tags == {"phase": "train"} and info.properties == {"p": "1"}
    assert store.artifacts.read_bytes(run.run_id, "outputs/hello.txt") == b"hello"
    assert set(store.get_metric_summaries(run.run_id)) == {"loss"}
    assert store.get_metric_records(run.run_id) == []
    store.close()


def test_int64_values_decode_exactly(tmp_path: Path) -> None:
    path = tmp_path / "journal.bin"
    writer = JournalWriter(path)
    ints = [2**60 + 1, -(2**62) - 3, 2**63 - 1, -(2**63)] + [2**53 + i for i in range(100)]
    for value in ints:
        writer.log("n", value)
    writer.log("mixed", 2**60 + 1)
    writer.log("mixed", True)
    writer.log("flag", True)
    writer.log("flag", False)
    writer.close()
    state = DecodeState()
    cols = {c.key: c for c in decode(path.read_bytes(), 0, state, 10**9).columns(state.names)}
    assert cols["n"].value_type == "int" and cols["n"].values.tolist() == ints
    assert cols["mixed"].value_type == "int" and cols["mixed"].values.tolist() == [2**60 + 1, 1]
    assert cols["flag"].value_type == "bool" and cols["flag"].values.tolist() == [True, False]


def test_the_decoder_finds_every_name_id_present() -> None:
    """Interleaved names are split by id: small ids by histogram, huge ones by set."""
    import numpy as np

    from runyard.tracking.decode import _distinct

    for ids in ([3, 1, 3, 0], [70_000, 5, 70_000, 2], [7], [2**32 - 1, 0]):
        arr = np.array(ids, dtype=np.uint32)
        assert _distinct(arr) == sorted(set(ids))
