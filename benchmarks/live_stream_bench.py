"""The studio's store queries with many open live run pages and nothing changing.

    .venv/bin/python -m benchmarks.live_stream_bench [--pages 50] [--seconds 5]

Starts a real uvicorn server (in this process, on a free loopback port) over a SQLite
store with ``--pages`` running runs (3 metrics of 2,000 points each, and a driver log
line), opens one live stream (``GET /api/runs/{id}/stream``, server-sent events, as a
run's page does) per run, waits until every stream has sent its run's points, and then
counts, for ``--seconds`` while nothing changes, every SQL statement the store runs
(SQLAlchemy's ``before_cursor_execute``), by what it reads:

- **series**: metric blocks (``metric_blocks``): the points. Goal: none at all;
- **summaries**: ``metric_summaries``;
- **change counters**: ``runs.change_seq`` only;
- **BEGIN**: the start of each read transaction (SQLite);
- **other**: the run row, its tags and properties, anything else.

Run it on older code by putting that checkout first on the path, e.g.
``PYTHONPATH=/tmp/before/src .venv/bin/python -m benchmarks.live_stream_bench``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from tests.support.server import start_server

from benchmarks.target_table import Result, print_table
from runyard.entities import MetricColumns, RunKind, RunStatus
from runyard.server import create_app
from runyard.store import open_store
from runyard.store.artifacts import DRIVER_LOG

KEYS = ("loss", "acc", "lr")
POINTS = 2_000


def kind_of(statement: str) -> str:
    text = " ".join(statement.split()).lower()
    if "metric_blocks" in text:
        return "series"
    if "metric_summaries" in text:
        return "summaries"
    if "change_seq" in text and text.startswith("select") and "from runs" in text:
        return "change counters"
    if text.startswith("begin"):
        return "BEGIN"
    return "other"


class StatementCounter:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.on = False
        self._lock = threading.Lock()

    def __call__(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if self.on:
            with self._lock:
                self.counts[kind_of(statement)] += 1


def _follow(url: str, ready: threading.Semaphore, stop: threading.Event, open_: list[Any]) -> None:
    """Reads one run's stream; releases ``ready`` once all its metrics came."""
    seen: set[str] = set()
    try:
        with httpx.stream("GET", url, timeout=httpx.Timeout(10.0, read=None)) as resp:
            open_.append(resp)
            event = ""
            for line in resp.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "metrics":
                    for key in KEYS:
                        if f'"key":"{key}"' in line:
                            seen.add(key)
                    if len(seen) == len(KEYS):
                        ready.release()
                        seen.add("released")
    except Exception:  # the response was closed under it at the end
        pass


def run(pages: int, seconds: float) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = open_store(f"sqlite:///{folder / 'runyard.db'}", artifact_root=folder / "a")
        exp = store.get_or_create_experiment("live")
        steps = list(range(POINTS))
        run_ids = []
        for _ in range(pages):
            info = store.create_run(
                exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING
            )
            store.append_metrics(
                info.run_id,
                [
                    MetricColumns(k, "float", steps, [1.0e9] * POINTS, [s / POINTS for s in steps])
                    for k in KEYS
                ],
            )
            store.artifacts.append_bytes(info.run_id, DRIVER_LOG, b"epoch 1\n")
            run_ids.append(info.run_id)
        counter = StatementCounter()
        engine = store._engine  # type: ignore[attr-defined]
        sa.event.listen(engine, "before_cursor_execute", counter)
        server = start_server(create_app(store, token="bench"))
        ready = threading.Semaphore(0)
        stop = threading.Event()
        responses: list[Any] = []
        threads = [
            threading.Thread(
                target=_follow,
                args=(f"{server.url}/api/runs/{rid}/stream?log_offset=0", ready, stop, responses),
                daemon=True,
            )
            for rid in run_ids
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        for _ in run_ids:
            if not ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise RuntimeError("not every stream sent its run's points in time")
        time.sleep(1.0)  # let the last first reads finish
        counter.on = True
        t0 = time.monotonic()
        time.sleep(seconds)
        counter.on = False
        elapsed = time.monotonic() - t0
        stop.set()
        for resp in list(responses):
            resp.close()  # the client leaves the page
        for t in threads:
            t.join(5)
        server.stop()
        sa.event.remove(engine, "before_cursor_execute", counter)
        store.close()
    kinds = ("series", "summaries", "change counters", "BEGIN", "other")
    rate = {k: counter.counts[k] / elapsed for k in kinds}
    total = sum(rate.values())
    return [
        Result(
            f"series queries/s ({pages} open pages, quiet)",
            rate["series"],
            "/s",
            "0",
            rate["series"] == 0,
        ),
        Result("summaries queries/s", rate["summaries"], "/s", "", True),
        Result("change-counter queries/s", rate["change counters"], "/s", "", True),
        Result("BEGIN statements/s", rate["BEGIN"], "/s", "", True),
        Result("other queries/s (run, tags, properties)", rate["other"], "/s", "", True),
        Result("all store queries/s", total, "/s", "", True),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=50, help="open live run pages (50)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to count (5)")
    opts = parser.parse_args(argv)
    results = run(opts.pages, opts.seconds)
    print_table(results)
    return 0 if results[0].ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
