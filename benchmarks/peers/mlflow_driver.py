"""MLflow's side of the workloads, with its SQLite tracking store
(``mlflow.set_tracking_uri("sqlite:///...")``). Run with MLflow's own interpreter.

A new MLflow SQLite database runs its schema migrations first (several seconds); that is
set-up, not the workload, so each fresh folder gets a copy of a database migrated once
(``params["template"]``, kept in the cache folder per MLflow version).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import _common as c

DB = "mlflow.db"


def _version() -> str:
    import mlflow

    return str(mlflow.__version__)


def _uri(workdir: Path) -> str:
    return f"sqlite:///{workdir / DB}"


def _prepare(workdir: Path, p: dict[str, Any]) -> str:
    """A migrated, empty database in ``workdir``; returns its tracking URI."""
    target = workdir / DB
    template = Path(p["template"]) if p.get("template") else None
    if not target.exists() and template is not None:
        if not template.exists():
            template.parent.mkdir(parents=True, exist_ok=True)
            scratch = template.with_suffix(".building")
            scratch.unlink(missing_ok=True)
            from mlflow import MlflowClient

            MlflowClient(tracking_uri=f"sqlite:///{scratch}").search_experiments()
            scratch.replace(template)
        shutil.copyfile(template, target)
    return _uri(workdir)


def log(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(_prepare(workdir, p))
    mlflow.set_experiment("bench")
    names = c.metric_names(p["metrics"])
    out: dict[str, Any] = {}
    for mode in ("call", "batch"):
        mlflow.start_run()
        started, steps = c.clock(), 0
        for step in c.timed_steps(p["steps"], p.get("budget_s"), p.get("check_every", 1)):
            if mode == "call":
                for m, name in enumerate(names):
                    mlflow.log_metric(name, c.value(step, m), step=step)
            else:
                mlflow.log_metrics(
                    {name: c.value(step, m) for m, name in enumerate(names)}, step=step
                )
            steps = step + 1
        elapsed, done = c.clock() - started, c.clock()
        mlflow.end_run()
        out[mode] = {"values": steps * len(names), "seconds": elapsed, "finish_s": c.clock() - done}
    # MLflow's best case: log_batch takes up to 1,000 metrics a call.
    client = MlflowClient()
    run = client.create_run(mlflow.get_experiment_by_name("bench").experiment_id)
    total = p["steps"] * len(names)
    budget, started, sent = c.Budget(p.get("budget_s")), c.clock(), 0
    now = int(time.time() * 1000)
    while sent < total and not budget.over():
        chunk = [
            Metric(
                names[(sent + j) % len(names)], c.value(sent + j, 0), now, (sent + j) // len(names)
            )
            for j in range(min(1000, total - sent))
        ]
        client.log_batch(run.info.run_id, metrics=chunk)
        sent += len(chunk)
    out["log_batch"] = {"values": sent, "seconds": c.clock() - started, "finish_s": 0.0}
    client.set_terminated(run.info.run_id)
    return out


def durable(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri(_prepare(workdir, p))
    mlflow.set_experiment("durable")
    run = mlflow.start_run()
    c.save_state(workdir, run_id=run.info.run_id)
    c.durable_loop(lambda step: mlflow.log_metric("x", c.value(step, 0), step=step), workdir, p)
    mlflow.end_run()
    return {}


def count(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from mlflow import MlflowClient

    state = c.load_state(workdir)
    history = MlflowClient(tracking_uri=_uri(workdir)).get_metric_history(state["run_id"], "x")
    return {"found": len(history), "counted": "MlflowClient.get_metric_history"}


def _bulk_insert(workdir: Path, run_id: str, key: str, start: int, n: int) -> None:
    """Appends points straight into MLflow's ``metrics`` table. Set-up only: log_batch
    takes ~0.2 s per 1,000 points here, so a million points would take minutes. The
    first points went in through log_batch, so ``latest_metrics`` is already right."""
    now = int(time.time() * 1000)
    rows = ((key, c.value(s, 0), now, run_id, s, 0) for s in range(start, n))
    with sqlite3.connect(workdir / DB) as db:
        db.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


def populate(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=_prepare(workdir, p))
    series_exp = client.create_experiment("series")
    run_id = client.create_run(series_exp).info.run_id
    client.log_metric(run_id, c.WARM_METRIC, 0.0)
    started, bulk = c.clock(), {}
    for key, n in p["series"].items():
        now = int(time.time() * 1000)
        direct = n > p.get("log_batch_max", 50_000)
        head = 1000 if direct else n
        for first in range(0, head, 1000):
            client.log_batch(
                run_id,
                metrics=[
                    Metric(key, c.value(s, 0), now, s)
                    for s in range(first, min(head, first + 1000))
                ],
            )
        if direct:
            _bulk_insert(workdir, run_id, key, head, n)
        bulk[key] = "sqlite INSERT after 1,000 via log_batch" if direct else "log_batch"
    client.set_terminated(run_id)
    series_s = c.clock() - started
    many = client.create_experiment("many")
    created, started = 0, c.clock()
    budget = c.Budget(p.get("create_budget_s"))
    for i in range(p["runs"]):
        if budget.over():
            break
        rid = client.create_run(many).info.run_id
        now = int(time.time() * 1000)
        params = [Param(f"p{j}", str((i * 31 + j) % 97)) for j in range(p["params"])]
        metrics = [Metric(k, c.value(i, m), now, 0) for m, k in enumerate(("acc", "loss", "f1"))]
        client.log_batch(rid, metrics=metrics, params=params)
        client.set_terminated(rid)
        created += 1
    create_s = c.clock() - started
    c.save_state(workdir, series_run=run_id, many_experiment=many, series_experiment=series_exp)
    return {
        "series": dict(p["series"]),
        "series_s": series_s,
        "loaded_by": bulk,
        "runs": created,
        "create_s": create_s,
    }


def query(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from mlflow import MlflowClient

    state = c.load_state(workdir)
    client = MlflowClient(tracking_uri=_uri(workdir))
    # Warm-up, untimed: opening the database and the first query's set-up are not the read.
    client.get_metric_history(state["series_run"], c.WARM_METRIC)
    out: dict[str, Any] = {}
    for key in p["series"]:
        t = c.clock()
        history = client.get_metric_history(state["series_run"], key)
        out[f"sdk:{key}"] = {"seconds": c.clock() - t, "points": len(history)}
    for label, limit in (("top100", 100), ("all", p["runs"])):
        t = c.clock()
        runs: list[Any] = []
        token = None
        while len(runs) < limit:  # search_runs pages at most 50,000 a call
            page = client.search_runs(
                [state["many_experiment"]],
                order_by=["metrics.acc DESC"],
                max_results=min(limit - len(runs), 50_000),
                page_token=token,
            )
            runs.extend(page)
            token = page.token
            if not token:
                break
        out[f"list:{label}"] = {"seconds": c.clock() - t, "runs": len(runs)}
    return out


def startup_setup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=_prepare(workdir, p)).create_experiment("startup")
    return {}


def startup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    def begin() -> Any:
        import mlflow

        mlflow.set_tracking_uri(_uri(workdir))
        mlflow.set_experiment("startup")
        mlflow.start_run()
        mlflow.log_metric("loss", 0.5)
        return mlflow.end_run

    return c.timed_startup(begin)


def submit_setup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    """An MLflow project whose entry point runs the same one-line script; the harness
    then runs ``mlflow run SRC --env-manager local``."""
    startup_setup(workdir, p)
    src = c.write_submit_source(workdir / "src")
    (src / "MLproject").write_text(
        'name: bench\nentry_points:\n  main:\n    command: "python train.py"\n', encoding="utf-8"
    )
    return {}


HANDLERS: dict[str, c.Handler] = {
    "log": log,
    "durable": durable,
    "count": count,
    "populate": populate,
    "query": query,
    "startup_setup": startup_setup,
    "startup": startup,
    "submit_setup": submit_setup,
}

if __name__ == "__main__":
    c.main(HANDLERS, _version)
