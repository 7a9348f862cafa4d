"""What every driver shares. Standard library only: each driver runs with its own
tool's interpreter, which has neither Runyard nor this repository on its path.

A driver is called as ``python X_driver.py WORKLOAD WORKDIR PARAMS_JSON`` and prints,
as its last stdout line, ``RESULT {json}``: the timings, or ``{"ok": false, ...}``.
Anything the tool itself prints before that line is ignored by the harness.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

RESULT_PREFIX = "RESULT "
READY_PREFIX = "READY "
FIRST_PREFIX = "FIRST "
SUBMIT_MARKER = "bench-first-line"
WARM_METRIC = "warm"  # a one-point metric read untimed before the timed reads

Handler = Callable[[Path, dict[str, Any]], dict[str, Any]]


class Unsupported(Exception):
    """The tool has no public API for this workload; the table says so."""


def emit(prefix: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(prefix + json.dumps(payload) + "\n")
    sys.stdout.flush()


def main(handlers: dict[str, Handler], version: Callable[[], str]) -> None:
    """Runs one workload and prints its RESULT line. Exit 0 with ok=false for a missing
    API; exit 1 for a failure, with the error text in the RESULT line."""
    workload, workdir, raw = (
        sys.argv[1],
        Path(sys.argv[2]),
        sys.argv[3] if len(sys.argv) > 3 else "{}",
    )
    params = json.loads(raw)
    workdir.mkdir(parents=True, exist_ok=True)
    if workload == "info":
        emit(RESULT_PREFIX, {"ok": True, "version": version(), "python": sys.version.split()[0]})
        return
    handler = handlers.get(workload)
    try:
        if handler is None:
            raise Unsupported(f"no {workload!r} workload in this driver")
        out = handler(workdir, params)
    except Unsupported as exc:
        emit(RESULT_PREFIX, {"ok": False, "unsupported": str(exc)})
        return
    except Exception as exc:  # the harness shows the error instead of a number
        traceback.print_exc()
        emit(RESULT_PREFIX, {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
        sys.stdout.flush()
        os._exit(1)  # some tools hang at exit after an error (service threads)
    emit(RESULT_PREFIX, {"ok": True, **out})
    sys.stdout.flush()


class Budget:
    """A wall-clock cap on one timed loop, so that a slow tool cannot take the whole
    suite's time: the loop stops early and the result says how much it did."""

    def __init__(self, seconds: float | None) -> None:
        self.deadline = None if not seconds else time.perf_counter() + seconds

    def over(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline


def value(step: int, metric: int) -> float:
    """A deterministic, non-constant value, so no tool can compress it away."""
    return ((step * 7919 + metric * 104729) % 10007) / 10007.0


def metric_names(n: int) -> list[str]:
    return [f"m{i}" for i in range(n)]


def timed_steps(steps: int, budget_s: float | None, check_every: int) -> Iterator[int]:
    """Yields step numbers until ``steps`` or the budget; the clock is read only every
    ``check_every`` steps so that it costs the fast tools nothing measurable."""
    budget = Budget(budget_s)
    check = max(1, check_every)
    for step in range(steps):
        if step % check == 0 and step and budget.over():
            return
        yield step


def write_count(path: Path, count: int) -> None:
    """Atomically replaces the side file holding how many points were logged; written
    only after the calls returned, so it never claims more than was logged."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(count), encoding="utf-8")
    os.replace(tmp, path)


def durable_loop(log_one: Callable[[int], None], workdir: Path, params: dict[str, Any]) -> None:
    """Logs metric ``x`` until killed (or ``limit`` points), reporting the count to
    ``count.txt`` every ``every`` calls."""
    every, limit = int(params.get("every", 100)), int(params.get("limit", 50_000_000))
    side = workdir / "count.txt"
    write_count(side, 0)
    for step in range(limit):
        log_one(step)
        if (step + 1) % every == 0:
            write_count(side, step + 1)


def timed_startup(begin: Callable[[], Callable[[], None]]) -> dict[str, Any]:
    """The start-up workload: times ``begin()`` (import the tool, start a run, log one
    value; it returns the run's end), prints READY for the harness, then times the end."""
    t0 = clock()
    end = begin()
    ready = clock() - t0
    emit(READY_PREFIX, {"seconds": ready})
    end()
    return {"in_process_s": ready, "finish_s": clock() - t0 - ready}


def save_state(workdir: Path, **state: Any) -> None:
    (workdir / "state.json").write_text(json.dumps(state), encoding="utf-8")


def load_state(workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((workdir / "state.json").read_text(encoding="utf-8"))
    return result


def clock() -> float:
    return time.perf_counter()


def write_submit_source(folder: Path) -> Path:
    """The training script both submit paths run: one line of output, then exit."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(f'print("{SUBMIT_MARKER}", flush=True)\n', encoding="utf-8")
    return folder
