"""A slow logger's cost in the database: bytes written per byte of points logged.

    .venv/bin/python -m benchmarks.slow_logger_bench [--points 50000] [--interval-ms 10]
                                                     [--tick-s 0.25] [--uri URI]

A script logs one point every 10 ms; the runner ingests the journal every 0.25 s (its
real tick, ``runner.monitor.INGEST_INTERVAL_S``) through the real ``JournalIngester``,
so each tick carries 25 points; when the script is done the runner drains the journal
and marks the run Completed (where the store compacts what is left). The clock is
simulated: the script's points are written to the journal tick by tick, with no
sleeping, so 50,000 points take seconds, not 500 s of wall time.

Measured, as bytes written to the database divided by the bytes of the points logged
(24 bytes a point: an int64 step, a float64 time, a float64 value):

- **SQL payload**: the bytes of every value in every INSERT and UPDATE the store sends
  (SQLAlchemy's ``before_cursor_execute``: a blob or text by its length, a number as 8);
  this is what rewriting a block costs, whatever the database does with it.
- **file writes**: bytes this process passed to ``write(2)`` (``wchar`` in
  ``/proc/self/io``; the journal is a memory map, so only the database's files count:
  SQLite's WAL, checkpoints, and this script's few lines of output). SQLite only.
- **WAL bytes**: on PostgreSQL, the growth of ``pg_stat_wal.wal_bytes`` (the whole
  cluster's write-ahead log: use a cluster of your own).

SQLite's figure is dominated by whole pages written per transaction (4 KiB pages for a
tick's 600 bytes, then again at checkpoints), which no block layout avoids while every
tick commits; PostgreSQL's WAL logs rows, so it follows the SQL payload.

Run it on older code by putting that checkout first on the path, e.g.
``PYTHONPATH=/tmp/before/src .venv/bin/python -m benchmarks.slow_logger_bench``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.target_table import Result, print_table
from runyard.entities import RunKind, RunStatus
from runyard.store import open_store
from runyard.tracking.ingest import JournalIngester
from runyard.tracking.journal import JournalWriter

POINT_BYTES = 24
GOAL = 3.0


class WriteCounter:
    """Bytes of the values the store sends in INSERT and UPDATE statements."""

    def __init__(self) -> None:
        self.bytes = 0
        self.statements = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        verb = statement.lstrip()[:6].upper()
        if verb not in ("INSERT", "UPDATE"):
            return
        self.statements += 1
        rows = params if isinstance(params, list) else [params]
        for row in rows:
            values = row.values() if isinstance(row, dict) else row
            for value in values:
                self.bytes += _size(value)


def _size(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (int, float)):
        return 8
    wrapped = getattr(value, "obj", None)  # psycopg's Binary wraps the bytes
    if isinstance(wrapped, (bytes, bytearray, memoryview)):
        return len(wrapped)
    raise TypeError(f"cannot size a parameter of type {type(value).__name__}")


def _wchar() -> int:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def _wal_bytes(store: Any) -> int:
    """PostgreSQL's WAL bytes so far (-1 elsewhere, or where the view is missing)."""
    if store.dialect != "postgresql":
        return -1
    with store._engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT wal_bytes FROM pg_stat_wal").scalar_one())


def run(points: int, interval_ms: float, tick_s: float, uri: str | None) -> list[Result]:
    per_tick = max(1, round(tick_s * 1000 / interval_ms))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = open_store(uri or f"sqlite:///{folder / 'runyard.db'}", artifact_root=folder / "a")
        exp = store.get_or_create_experiment("slow-logger")
        info = store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING)
        writer = JournalWriter(folder / "journal.bin")
        ingester = JournalIngester(store, info.run_id, writer.path)
        counter = WriteCounter()
        engine = store._engine  # type: ignore[attr-defined]
        sa.event.listen(engine, "before_cursor_execute", counter)
        wchar0, wal0 = _wchar(), _wal_bytes(store)
        t0 = time.perf_counter()
        ticks = 0
        for start in range(0, points, per_tick):
            for i in range(start, min(points, start + per_tick)):
                writer.log("loss", 1.0 / (i + 1), step=i)
            ingester.ingest_once()
            ticks += 1
        writer.close()
        ingester.drain()
        store.set_status(info.run_id, RunStatus.COMPLETED, exit_code=0)
        elapsed = time.perf_counter() - t0
        wchar, wal = _wchar() - wchar0, _wal_bytes(store) - wal0
        sa.event.remove(engine, "before_cursor_execute", counter)
        series = store.get_metric_series(info.run_id, "loss")
        assert series.total_count == points and series.steps[-1] == points - 1
        store.close()
    logged = points * POINT_BYTES
    ratio = counter.bytes / logged
    results = [
        Result(
            f"SQL payload written / points logged ({points:,} points, {ticks:,} ticks)",
            ratio,
            "x",
            f"<= {GOAL:g}",
            ratio <= GOAL,
        ),
        Result("INSERT/UPDATE statements", counter.statements, "", "", True),
        Result("ingest ticks, drain and completion", elapsed, "s", "", True),
    ]
    if uri is None and wchar >= 0:
        files = Result("file writes / points logged (SQLite)", wchar / logged, "x", "", True)
        results.insert(1, files)
    if wal0 >= 0:
        results.insert(
            1, Result("WAL bytes / points logged (PostgreSQL)", wal / logged, "x", "", True)
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--points", type=int, default=50_000, help="points logged (50,000)")
    parser.add_argument("--interval-ms", type=float, default=10.0, help="ms between points")
    parser.add_argument("--tick-s", type=float, default=0.25, help="the runner's ingest tick")
    parser.add_argument("--uri", help="store URI (default: a temporary SQLite file)")
    opts = parser.parse_args(argv)
    results = run(opts.points, opts.interval_ms, opts.tick_s, opts.uri)
    print_table(results)
    return 0 if results[0].ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
