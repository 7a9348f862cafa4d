"""Runyard's side of every workload, through its public API (``runyard.core``) and its
store interface. Run with the project's own interpreter:
``.venv/bin/python benchmarks/peers/runyard_driver.py WORKLOAD WORKDIR PARAMS_JSON``.

Tool imports happen inside the handlers so that start-up timings include them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import _common as c


def _version() -> str:
    import runyard

    return str(runyard.__version__)


def _create(workdir: Path) -> Any:
    from runyard.core import Workspace

    return Workspace.create(workdir / "ws")


def _open(workdir: Path) -> Any:
    from runyard.core import Workspace

    return Workspace.from_config(workdir / "ws")


def log(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    """One call per value. There is no batch API: the per-call path is the fast one."""
    from runyard.core import Experiment

    ws = _create(workdir)
    run = Experiment(ws, "bench").start_logging()
    names = c.metric_names(p["metrics"])
    log_one, value = run.log, c.value
    started = c.clock()
    steps = 0
    for step in c.timed_steps(p["steps"], p.get("budget_s"), p.get("check_every", 1000)):
        for m, name in enumerate(names):
            log_one(name, value(step, m))
        steps = step + 1
    elapsed = c.clock() - started
    done = c.clock()
    run.complete()  # drains the journal into SQLite
    finish = c.clock() - done
    stored = sum(s.count for s in ws.store.get_metric_summaries(run.id).values())
    values = steps * len(names)
    return {"call": {"values": values, "seconds": elapsed, "finish_s": finish, "stored": stored}}


def durable(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from runyard.core import Experiment

    ws = _create(workdir)
    run = Experiment(ws, "durable").start_logging()
    c.save_state(workdir, run_id=run.id)
    log_one, value = run.log, c.value
    c.durable_loop(lambda step: log_one("x", value(step, 0)), workdir, p)
    run.complete()
    return {}


def count(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    """Opens the workspace again: that ingests what the killed process left in its
    journal. Counts the points ``run.get_metrics()`` returns."""
    from runyard.core import Run

    state = c.load_state(workdir)
    started = c.clock()
    ws = _open(workdir)
    run = Run.get(ws, state["run_id"])
    points = run.get_metrics("x").get("x", [])
    found = len(points) if isinstance(points, list) else 1
    return {"found": found, "reopen_s": c.clock() - started, "counted": "run.get_metrics()['x']"}


def populate(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    """The data the read, runs-list and server workloads query: a run holding long
    series, and an experiment of many small runs (whose creation is timed)."""
    from runyard.core import Experiment

    ws = _create(workdir)
    series_run = Experiment(ws, "series").start_logging()
    series_run.log(c.WARM_METRIC, 0.0)
    started = c.clock()
    for key, n in p["series"].items():
        log_one = series_run.log
        for step in range(n):
            log_one(key, c.value(step, 0))
    series_run.complete()
    series_s = c.clock() - started
    many = Experiment(ws, "many")
    created, started = 0, c.clock()
    budget = c.Budget(p.get("create_budget_s"))
    for i in range(p["runs"]):
        if budget.over():
            break
        run = many.start_logging()
        run.set_tags({f"p{j}": str((i * 31 + j) % 97) for j in range(p["params"])})
        run.log("acc", c.value(i, 0))
        run.log("loss", c.value(i, 1))
        run.log("f1", c.value(i, 2))
        run.complete()
        created += 1
    create_s = c.clock() - started
    c.save_state(
        workdir,
        series_run=series_run.id,
        many_experiment=many.id,
        series_experiment=series_run.experiment.id,
    )
    return {
        "series": dict(p["series"]),
        "series_s": series_s,
        "runs": created,
        "create_s": create_s,
    }


def query(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from runyard.core import Run
    from runyard.entities import RunQuery

    state = c.load_state(workdir)
    ws = _open(workdir)
    store = ws.store
    # Warm-up, untimed: opening the database and the first query's set-up are not the read.
    store.get_metric_series(state["series_run"], c.WARM_METRIC)
    Run.get(ws, state["series_run"]).get_metrics(c.WARM_METRIC)
    out: dict[str, Any] = {}
    for key in p["series"]:
        t = c.clock()
        series = store.get_metric_series(state["series_run"], key)
        out[f"store:{key}"] = {"seconds": c.clock() - t, "points": len(series.values)}
        t = c.clock()
        values = Run.get(ws, state["series_run"]).get_metrics(key)[key]
        out[f"sdk:{key}"] = {"seconds": c.clock() - t, "points": len(values)}
    for label, limit in (("top100", 100), ("all", p["runs"])):
        t = c.clock()
        page = store.search_runs(
            RunQuery(
                experiment_id=state["many_experiment"],
                sort="metric:acc",
                descending=True,
                limit=limit,
                with_metrics=["acc"],
            )
        )
        out[f"list:{label}"] = {
            "seconds": c.clock() - t,
            "runs": len(page.runs),
            "total": page.total,
        }
    return out


def startup_setup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from runyard.core import Experiment

    Experiment(_create(workdir), "startup")
    return {}


def startup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    def begin() -> Any:
        from runyard.core import Experiment

        run = Experiment(_open(workdir), "startup").start_logging()
        run.log("loss", 0.5)
        return run.complete

    return c.timed_startup(begin)


def submit_setup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    startup_setup(workdir, p)
    c.write_submit_source(workdir / "src")
    return {}


def submit(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    """``experiment.submit(ScriptRunConfig(...))``, then polls ``run.get_driver_log()``
    until the script's first line shows."""
    from runyard.core import Experiment, ScriptRunConfig

    ws = _open(workdir)
    config = ScriptRunConfig(source_directory=str(workdir / "src"), script="train.py")
    t0 = c.clock()
    run = Experiment(ws, "startup").submit(config)
    submitted = c.clock() - t0
    deadline = t0 + float(p.get("timeout_s", 120))
    while c.SUBMIT_MARKER not in run.get_driver_log():
        if c.clock() > deadline:
            raise TimeoutError(
                f"no output in {p.get('timeout_s', 120)} s; status {run.get_status()}"
            )
        time.sleep(0.005)
    first = c.clock() - t0
    c.emit(c.FIRST_PREFIX, {"seconds": first})
    details = run.wait_for_completion(timeout=float(p.get("timeout_s", 120)), raise_on_error=False)
    # The runner says its peak RSS in its own log, in the run's folder (no SDK call has it).
    runner_log = next(workdir.rglob(f"{run.id}/runner.log"), None)
    text = runner_log.read_text(encoding="utf-8") if runner_log else ""
    rss = re.search(r"runner peak RSS ([0-9.]+) MB", text)
    return {
        "submit_call_s": submitted,
        "first_line_s": first,
        "status": details.get("status"),
        "runner_rss_mb": None if rss is None else float(rss.group(1)),
    }


HANDLERS: dict[str, c.Handler] = {
    "log": log,
    "durable": durable,
    "count": count,
    "populate": populate,
    "query": query,
    "startup_setup": startup_setup,
    "startup": startup,
    "submit_setup": submit_setup,
    "submit": submit,
}

if __name__ == "__main__":
    c.main(HANDLERS, _version)
