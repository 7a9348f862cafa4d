"""Metric points, summaries, down-sampling and structured records in the SQL store."""

from __future__ import annotations

import array
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from runyard.config import MAX_NAME_LENGTH
from runyard.entities import MetricColumns, MetricRecord, RunInfo, RunKind, RunStatus
from runyard.errors import MetricTypeError, ValidationError
from runyard.store.sql import SqlStore
from runyard.store.sql.blocks import BLOCK_SIZE, downsample_indices
from runyard.store.sql.schema import metric_blocks


def _columns(key: str, value_type: str, steps: Any, timestamps: Any, values: Any) -> MetricColumns:
    """MetricColumns from numpy arrays or array.array (the store accepts any sequence)."""
    return MetricColumns(key, value_type, steps, timestamps, values)


def _run(store: SqlStore) -> RunInfo:
    experiment = store.get_or_create_experiment("metrics")
    return store.create_run(
        experiment.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
    )


def _cols(
    key: str, values: Sequence[object], value_type: str = "float", step0: int = 0
) -> MetricColumns:
    n = len(values)
    return _columns(
        key,
        value_type,
        list(range(step0, step0 + n)),
        [1000.0 + i for i in range(n)],
        values,
    )


def _block_count(store: SqlStore, run_id: str, key: str) -> int:
    with store._engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(metric_blocks)
                .where(metric_blocks.c.run_id == run_id, metric_blocks.c.key == key)
            ).scalar_one()
        )


def test_values_round_trip_with_types(store: SqlStore) -> None:
    run = _run(store)
    store.append_metrics(
        run.run_id,
        [
            _cols("loss", [0.5, math.nan, math.inf, -math.inf, 0.25]),
            _cols("epoch", [1, 2, 3], "int"),
            _cols("ok", [True, False], "bool"),
            _cols("phase", ["warmup", "train"], "str"),
        ],
    )
    loss = store.get_metric_series(run.run_id, "loss")
    assert loss.values[0] == 0.5 and math.isnan(loss.values[1])  # type: ignore[arg-type]
    assert loss.values[2:] == [math.inf, -math.inf, 0.25]
    assert loss.steps == [0, 1, 2, 3, 4]
    assert loss.timestamps == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert loss.total_count == 5 and not loss.downsampled
    epoch = store.get_metric_series(run.run_id, "epoch")
    assert epoch.values == [1, 2, 3] and all(type(v) is int for v in epoch.values)
    ok = store.get_metric_series(run.run_id, "ok")
    assert ok.values == [True, False] and all(type(v) is bool for v in ok.values)
    assert store.get_metric_series(run.run_id, "phase").values == ["warmup", "train"]

    summaries = store.get_metric_summaries(run.run_id)
    assert set(summaries) == {"loss", "epoch", "ok", "phase"}
    s = summaries["loss"]
    assert (s.count, s.last, s.min, s.max, s.last_step) == (5, 0.25, -math.inf, math.inf, 4)
    assert summaries["epoch"].last == 3 and type(summaries["epoch"].last) is int
    assert summaries["ok"].last is False and summaries["ok"].value_type == "bool"
    assert summaries["phase"].last == "train" and summaries["phase"].min is None
    assert store.get_metric_series(run.run_id, "never").total_count == 0


def test_nan_summaries(store: SqlStore) -> None:
    run = _run(store)
    store.append_metrics(run.run_id, [_cols("x", [math.nan, math.nan])])
    s = store.get_metric_summaries(run.run_id)["x"]
    assert s.min is None and s.max is None and math.isnan(s.last)  # type: ignore[arg-type]
    store.append_metrics(run.run_id, [_cols("x", [2.0, math.nan, 1.0], step0=2)])
    s = store.get_metric_summaries(run.run_id)["x"]
    assert (s.count, s.min, s.max, s.last, s.last_step) == (5, 1.0, 2.0, 1.0, 4)


@pytest.mark.parametrize("kind", ["list", "array", "numpy"])
def test_columnar_inputs(store: SqlStore, kind: str) -> None:
    run = _run(store)
    steps, times, values = (
        list(range(10)),
        [float(i) for i in range(10)],
        [i / 2 for i in range(10)],
    )
    if kind == "array":
        cols = _columns(
            "m", "float", array.array("q", steps), array.array("d", times), array.array("d", values)
        )
    elif kind == "numpy":
        cols = _columns("m", "float", np.array(steps), np.array(times), np.array(values))
    else:
        cols = _columns("m", "float", steps, times, values)
    store.append_metrics(run.run_id, [cols])
    series = store.get_metric_series(run.run_id, "m")
    assert series.values == values and series.steps == steps and series.timestamps == times


def test_type_mismatch_writes_nothing(store: SqlStore) -> None:
    run = _run(store)
    store.append_metrics(run.run_id, [_cols("acc", [0.5]), _cols("note", ["a"], "str")])
    record = MetricRecord("table", "table", {"a": [1]}, 1.0)
    with pytest.raises(MetricTypeError, match="'acc'"):
        store.append_metrics(
            run.run_id,
            [_cols("fine", [1.0]), _cols("acc", ["high"], "str")],
            [record],
            journal_offset=99,
        )
    with pytest.raises(MetricTypeError, match="'note'"):
        store.append_metrics(run.run_id, [_cols("note", [1.0])])
    with pytest.raises(MetricTypeError, match="'mixed'"):
        store.append_metrics(run.run_id, [_cols("mixed", [1.0, "x"])])
    with pytest.raises(MetricTypeError, match="'mixed'"):
        store.append_metrics(run.run_id, [_cols("mixed", ["x", 2], "str")])
    assert set(store.get_metric_summaries(run.run_id)) == {"acc", "note"}
    assert store.get_metric_records(run.run_id) == []
    assert store.get_journal_offset(run.run_id) == 0
    assert store.get_metric_series(run.run_id, "acc").values == [0.5]


def test_numeric_types_widen(store: SqlStore) -> None:
    run = _run(store)
    store.append_metrics(run.run_id, [_cols("x", [1, 2], "int")])
    store.append_metrics(run.run_id, [_cols("x", [2.5], "float", step0=2)])
    assert store.get_metric_series(run.run_id, "x").values == [1.0, 2.0, 2.5]
    assert store.get_metric_summaries(run.run_id)["x"].value_type == "float"
    store.append_metrics(run.run_id, [_cols("y", [0.5], "int")])  # declared int, isn't
    assert store.get_metric_series(run.run_id, "y").values == [0.5]


def test_bad_batches(store: SqlStore) -> None:
    run = _run(store)
    with pytest.raises(ValidationError, match="limit"):
        store.append_metrics(run.run_id, [_cols("k" * (MAX_NAME_LENGTH + 1), [1.0])])
    with pytest.raises(ValidationError, match="length"):
        store.append_metrics(run.run_id, [_columns("m", "float", [1, 2], [1.0], [1.0])])
    with pytest.raises(MetricTypeError):
        store.append_metrics(run.run_id, [_cols("m", [1.0], "complex")])
    assert store.get_metric_summaries(run.run_id) == {}


def _blocks(store: SqlStore, run_id: str, key: str) -> list[tuple[int, int, bytes]]:
    """(seq, count, packed values) of each block, in order."""
    with store._engine.connect() as conn:
        rows = conn.execute(
            sa.select(metric_blocks.c.seq, metric_blocks.c.count, metric_blocks.c.vals)
            .where(metric_blocks.c.run_id == run_id, metric_blocks.c.key == key)
            .order_by(metric_blocks.c.seq)
        ).all()
    return [(int(r.seq), int(r.count), bytes(r.vals)) for r in rows]


def _block_writes(store: SqlStore) -> tuple[list[str], Any]:
    """Every UPDATE or DELETE of metric_blocks from now on (and the listener)."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        text = statement.lower()
        if "metric_blocks" in text and (text.startswith("update") or text.startswith("delete")):
            seen.append(statement)

    sa.event.listen(store._engine, "before_cursor_execute", listen)
    return seen, listen


def test_small_appends_never_rewrite_stored_points(store: SqlStore) -> None:
    run = _run(store)
    for i in range(10):
        store.append_metrics(run.run_id, [_cols("slow", [float(i)], step0=i)])
    first = _blocks(store, run.run_id, "slow")
    seen, listen = _block_writes(store)
    try:
        for i in range(10, 50):
            store.append_metrics(run.run_id, [_cols("slow", [float(i)], step0=i)])
    finally:
        sa.event.remove(store._engine, "before_cursor_execute", listen)
    assert seen == []  # appended: no block was updated or deleted
    after = _blocks(store, run.run_id, "slow")
    assert after[:10] == first and [c for _, c, _ in after] == [1] * 50
    series = store.get_metric_series(run.run_id, "slow")
    assert series.values == [float(i) for i in range(50)]
    assert series.steps == list(range(50))
    # The run ends: its tail becomes one block, with the same points.
    store.set_status(run.run_id, RunStatus.COMPLETED)
    assert [(s, c) for s, c, _ in _blocks(store, run.run_id, "slow")] == [(0, 50)]
    assert store.get_metric_series(run.run_id, "slow").values == series.values
    assert store.get_metric_series(run.run_id, "slow", start=20).steps == list(range(20, 50))
    # Late points of an ended run are compacted at once.
    store.append_metrics(run.run_id, [_cols("slow", [50.0], step0=50)])
    assert [(s, c) for s, c, _ in _blocks(store, run.run_id, "slow")] == [(0, 51)]


def test_the_tail_compacts_when_it_fills_a_block(store: SqlStore) -> None:
    run = _run(store)
    size = BLOCK_SIZE // 10 + 1
    total = 0
    for _ in range(9):
        values = [float(total + i) for i in range(size)]
        store.append_metrics(run.run_id, [_cols("m", values, step0=total)])
        total += size
    assert [c for _, c, _ in _blocks(store, run.run_id, "m")] == [size] * 9
    values = [float(total + i) for i in range(size)]
    store.append_metrics(run.run_id, [_cols("m", values, step0=total)])
    total += size
    # 10 * size > BLOCK_SIZE: one full block and a small one with the rest.
    assert [c for _, c, _ in _blocks(store, run.run_id, "m")] == [BLOCK_SIZE, total - BLOCK_SIZE]
    store.append_metrics(run.run_id, [_cols("m", [-1.0], step0=total)])
    assert [c for _, c, _ in _blocks(store, run.run_id, "m")][:1] == [BLOCK_SIZE]
    series = store.get_metric_series(run.run_id, "m")
    assert series.values == [float(i) for i in range(total)] + [-1.0]
    assert series.steps == list(range(total + 1))
    summary = store.get_metric_summaries(run.run_id)["m"]
    want = (total + 1, -1.0, float(total - 1), -1.0)
    assert (summary.count, summary.min, summary.max, summary.last) == want


def test_blocks_across_boundaries(store: SqlStore) -> None:
    run = _run(store)
    total = 0
    for size in (BLOCK_SIZE - 3, 7, 2 * BLOCK_SIZE + 5, 1):
        values = np.arange(total, total + size, dtype=np.float64)
        store.append_metrics(
            run.run_id,
            [_columns("m", "float", np.arange(total, total + size), values * 0.5, values)],
        )
        total += size
    counts = [c for _, c, _ in _blocks(store, run.run_id, "m")]
    assert counts == [BLOCK_SIZE] * 3 + [9, 1]  # full blocks, then the tail
    store.set_status(run.run_id, RunStatus.COMPLETED)
    assert _block_count(store, run.run_id, "m") == -(-total // BLOCK_SIZE)
    series = store.get_metric_series(run.run_id, "m")
    assert series.values == [float(i) for i in range(total)]
    assert series.steps == list(range(total))
    tail = store.get_metric_series(run.run_id, "m", start=BLOCK_SIZE + 2)
    assert tail.steps == list(range(BLOCK_SIZE + 2, total)) and tail.total_count == total
    assert store.get_metric_series(run.run_id, "m", start=total).values == []


def test_str_metric_blocks(store: SqlStore) -> None:
    run = _run(store)
    words = [f"w{i}é" for i in range(BLOCK_SIZE + 10)]
    store.append_metrics(run.run_id, [_cols("text", words[:5], "str")])
    store.append_metrics(run.run_id, [_cols("text", words[5:], "str", step0=5)])
    assert store.get_metric_series(run.run_id, "text").values == words
    sampled = store.get_metric_series(run.run_id, "text", max_points=10)
    assert sampled.downsampled and len(sampled.values) <= 10
    assert sampled.values[0] == words[0] and sampled.values[-1] == words[-1]


def test_downsampling_keeps_extremes(store: SqlStore) -> None:
    run = _run(store)
    n = 100_000
    rng = np.random.default_rng(0)
    values = rng.normal(size=n)
    values[12_345], values[67_890], values[500] = 50.0, -50.0, math.nan
    store.append_metrics(
        run.run_id, [_columns("loss", "float", np.arange(n) * 2, np.arange(n) * 0.01, values)]
    )
    series = store.get_metric_series(run.run_id, "loss", max_points=500)
    assert series.downsampled and series.total_count == n
    assert len(series.values) <= 500
    assert series.steps[0] == 0 and series.steps[-1] == (n - 1) * 2
    assert series.steps == sorted(series.steps)
    assert 12_345 * 2 in series.steps and 67_890 * 2 in series.steps
    assert max(series.values) == 50.0 and min(series.values) == -50.0
    i = series.steps.index(12_345 * 2)
    assert series.timestamps[i] == pytest.approx(123.45)
    short = store.get_metric_series(run.run_id, "loss", max_points=n)
    assert not short.downsampled and len(short.values) == n


def test_downsampling_from_an_offset_across_blocks(store: SqlStore) -> None:
    run = _run(store)
    n = 3 * BLOCK_SIZE + 100
    values = np.random.default_rng(1).normal(size=n)
    store.append_metrics(
        run.run_id, [_columns("m", "float", np.arange(n), np.arange(n) / 4, values)]
    )
    start = BLOCK_SIZE + 7
    series = store.get_metric_series(run.run_id, "m", max_points=100, start=start)
    assert series.downsampled and len(series.values) <= 100 and series.total_count == n
    assert series.steps[0] == start and series.steps[-1] == n - 1
    for step, stamp, value in zip(series.steps, series.timestamps, series.values):
        assert stamp == step / 4 and value == values[step]
    tail = values[start:]
    assert max(series.values) == tail.max() and min(series.values) == tail.min()


def test_downsample_indices_edge_cases() -> None:
    values = np.arange(10, dtype=np.float64)
    assert downsample_indices(values, 20).tolist() == list(range(10))
    assert downsample_indices(values, 2).tolist() == [0, 9]
    assert len(downsample_indices(values, 5)) <= 5
    all_nan = np.full(1000, np.nan)
    kept = downsample_indices(all_nan, 100)
    assert kept[0] == 0 and kept[-1] == 999 and len(kept) <= 100
    with pytest.raises(ValidationError):
        downsample_indices(values, 0)


def test_records_and_journal_offset(store: SqlStore) -> None:
    run = _run(store)
    store.append_metrics(
        run.run_id,
        [_cols("loss", [1.0])],
        [
            MetricRecord("sizes", "list", [1, 2, 3], 10.0, seq=1),
            MetricRecord("table", "row", {"a": 1, "b": "x"}, 11.0, seq=2),
        ],
        journal_offset=128,
    )
    store.append_metrics(
        run.run_id, [], [MetricRecord("sizes", "list", [4], 12.0, seq=3)], journal_offset=256
    )
    records = store.get_metric_records(run.run_id)
    assert [(r.key, r.payload, r.seq) for r in records] == [
        ("sizes", [1, 2, 3], 1),
        ("table", {"a": 1, "b": "x"}, 2),
        ("sizes", [4], 3),
    ]
    assert [r.payload for r in store.get_metric_records(run.run_id, "sizes")] == [[1, 2, 3], [4]]
    assert store.get_journal_offset(run.run_id) == 256
    with pytest.raises(ValidationError):
        store.append_metrics(run.run_id, [], [MetricRecord("bad", "movie", 1, 1.0)])
    with pytest.raises(MetricTypeError):
        store.append_metrics(run.run_id, [], [MetricRecord("bad", "list", {1, 2}, 1.0)])


def test_one_batch_may_repeat_a_key(store: SqlStore) -> None:
    run = _run(store)
    store.append_metrics(run.run_id, [_cols("m", [1.0, 2.0]), _cols("m", [3.0], step0=2)])
    assert store.get_metric_series(run.run_id, "m").values == [1.0, 2.0, 3.0]
    assert store.get_metric_summaries(run.run_id)["m"].count == 3
