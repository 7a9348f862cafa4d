"""Aim's side of the workloads, with a repository in the work folder. Run with Aim's own
interpreter. Aim has no local job submission, so that workload answers "unsupported";
its query language filters runs but does not sort them, so the runs list sorts the
metric values in Python, as a user would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _common as c


def _version() -> str:
    from aim.__version__ import __version__

    return str(__version__)


def _repo(workdir: Path, init: bool = False) -> Any:
    from aim import Repo

    return Repo.from_path(str(workdir), init=init)


def _run(workdir: Path, experiment: str) -> Any:
    from aim import Run

    # capture_terminal_logs=False: Aim would otherwise wrap stdout, where the driver
    # prints its result. Everything else keeps Aim's defaults.
    return Run(repo=str(workdir), experiment=experiment, capture_terminal_logs=False)


def log(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    _repo(workdir, init=True)
    names = c.metric_names(p["metrics"])
    out: dict[str, Any] = {}
    for mode in ("call", "batch"):
        run = _run(workdir, "bench")
        started, steps = c.clock(), 0
        for step in c.timed_steps(p["steps"], p.get("budget_s"), p.get("check_every", 1)):
            if mode == "call":
                for m, name in enumerate(names):
                    run.track(c.value(step, m), name=name, step=step)
            else:
                run.track({name: c.value(step, m) for m, name in enumerate(names)}, step=step)
            steps = step + 1
        elapsed, done = c.clock() - started, c.clock()
        run.close()
        out[mode] = {"values": steps * len(names), "seconds": elapsed, "finish_s": c.clock() - done}
    return out


def durable(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    _repo(workdir, init=True)
    run = _run(workdir, "durable")
    c.save_state(workdir, run_id=run.hash)
    c.durable_loop(lambda step: run.track(c.value(step, 0), name="x", step=step), workdir, p)
    run.close()
    return {}


def _index(workdir: Path, run_hashes: list[str] | None = None) -> float:
    """Folds runs into the repository's index. Aim's SDK reads go through that index,
    which ``aim up`` keeps current in a background thread; without it a script sees no
    finished run. Set-up, not timed as a read; returns the seconds it took."""
    from aim.sdk.index_manager import RepoIndexManager

    started = c.clock()
    repo = _repo(workdir)
    manager = RepoIndexManager.get_index_manager(repo)
    chunks = Path(repo.path) / "meta" / "chunks"
    for run_hash in run_hashes or sorted(p.name for p in chunks.iterdir() if p.is_dir()):
        manager.index(run_hash)
    repo.container_pool.clear()
    return c.clock() - started


def _series(workdir: Path, run_hash: str, key: str) -> tuple[Any, Any]:
    from aim import Run

    run = Run(run_hash=run_hash, repo=str(workdir), read_only=True)
    from aim.storage.context import Context

    metric = run.get_metric(key, Context({}))
    if metric is None:
        return [], []
    steps, values = metric.values.sparse_numpy()
    return steps, values


def count(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    state = c.load_state(workdir)
    index_s = _index(workdir, [state["run_id"]])
    _steps, values = _series(workdir, state["run_id"], "x")
    return {
        "found": len(values),
        "index_s": index_s,
        "counted": "points of metric x of the run, read-only, after indexing it",
    }


def populate(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    """Aim has no bulk API: series go in one ``track`` call a point, under the same time
    budget as the runs, so a long series may be cut short (the result says where)."""
    _repo(workdir, init=True)
    run = _run(workdir, "series")
    run.track(0.0, name=c.WARM_METRIC, step=0)
    started, loaded = c.clock(), {}
    budget = c.Budget(p.get("series_budget_s"))
    for key, n in p["series"].items():
        done = 0
        for step in range(n):
            if step % 256 == 0 and budget.over():
                break
            run.track(c.value(step, 0), name=key, step=step)
            done = step + 1
        loaded[key] = done
    series_hash = run.hash
    run.close()
    series_s = c.clock() - started
    created, started = 0, c.clock()
    budget = c.Budget(p.get("create_budget_s"))
    for i in range(p["runs"]):
        if budget.over():
            break
        r = _run(workdir, "many")
        for j in range(p["params"]):
            r[f"p{j}"] = (i * 31 + j) % 97
        r.track({k: c.value(i, m) for m, k in enumerate(("acc", "loss", "f1"))}, step=0)
        r.close()
        created += 1
    create_s = c.clock() - started
    index_s = _index(workdir)
    c.save_state(workdir, series_run=series_hash, series=loaded)
    return {
        "series": loaded,
        "series_s": series_s,
        "runs": created,
        "create_s": create_s,
        "index_s": index_s,
    }


def query(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from aim.sdk.types import QueryReportMode

    state = c.load_state(workdir)
    repo = _repo(workdir)
    out: dict[str, Any] = {}
    # Warm-up, untimed: opening the repository and the first query's set-up are not the read.
    _series(workdir, state["series_run"], c.WARM_METRIC)
    for key in p["series"]:
        t = c.clock()
        _steps, values = _series(workdir, state["series_run"], key)
        out[f"sdk:{key}"] = {"seconds": c.clock() - t, "points": len(values)}
    t = c.clock()
    found = []
    metrics = repo.query_metrics(
        "metric.name == 'acc' and run.experiment == 'many'", report_mode=QueryReportMode.DISABLED
    )
    for seq in metrics.iter():
        found.append((seq.values.last()[1], seq.run.hash))
    found.sort(reverse=True)
    elapsed = c.clock() - t
    # One query serves both: Aim cannot return only the top 100 sorted by a metric.
    out["list:top100"] = {"seconds": elapsed, "runs": min(100, len(found))}
    out["list:all"] = {"seconds": elapsed, "runs": len(found)}
    return out


def startup_setup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    _repo(workdir, init=True)
    return {}


def startup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    def begin() -> Any:
        run = _run(workdir, "startup")  # imports aim
        run.track(0.5, name="loss")
        return run.close

    return c.timed_startup(begin)


HANDLERS: dict[str, c.Handler] = {
    "log": log,
    "durable": durable,
    "count": count,
    "populate": populate,
    "query": query,
    "startup_setup": startup_setup,
    "startup": startup,
}

if __name__ == "__main__":
    c.main(HANDLERS, _version)
