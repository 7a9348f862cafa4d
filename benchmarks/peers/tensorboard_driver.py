"""TensorBoard's side of the workloads: event files written with tensorboardX's
``SummaryWriter`` (the writer PyTorch users reach for without TensorFlow), read back
with TensorBoard's own ``EventAccumulator``. Run with that venv's interpreter.

A TensorBoard "run" is a log folder. Parameters go in as ``add_hparams`` (the HParams
plugin's record, a sub-folder of the run), metrics as ``add_scalar``; ending a run is
``writer.close()`` (flush and close the event file). TensorBoard has no query API: the
runs list loads every run's ``acc`` with ``EventAccumulator`` and sorts in Python, and
there is no job submission, so that workload answers "unsupported".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _common as c


def _version() -> str:
    import tensorboard
    import tensorboardX

    return f"tensorboardX {tensorboardX.__version__}, tensorboard {tensorboard.__version__}"


def _writer(folder: Path) -> Any:
    from tensorboardX import SummaryWriter

    return SummaryWriter(logdir=str(folder))


def _scalars(folder: Path, key: str) -> list[Any]:
    """Every point of ``key`` in the run at ``folder`` (all its event files)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # size_guidance 0: keep every point (the default keeps a sample of 10,000 scalars).
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    return list(acc.Scalars(key)) if key in acc.Tags()["scalars"] else []


def log(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    names = c.metric_names(p["metrics"])
    out: dict[str, Any] = {}
    # One call per value is the only way: add_scalars(dict) writes each name to a
    # writer (and event file) of its own, another layout, so "batch" is the same loop.
    for mode in ("call", "batch"):
        writer = _writer(workdir / mode)
        started, steps = c.clock(), 0
        for step in c.timed_steps(p["steps"], p.get("budget_s"), p.get("check_every", 1)):
            for m, name in enumerate(names):
                writer.add_scalar(name, c.value(step, m), global_step=step)
            steps = step + 1
        elapsed, done = c.clock() - started, c.clock()
        writer.close()
        out[mode] = {"values": steps * len(names), "seconds": elapsed, "finish_s": c.clock() - done}
    return out


def durable(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    writer = _writer(workdir / "durable")
    c.save_state(workdir)
    c.durable_loop(
        lambda step: writer.add_scalar("x", c.value(step, 0), global_step=step), workdir, p
    )
    writer.close()
    return {}


def count(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    found = len(_scalars(workdir / "durable", "x"))
    return {"found": found, "counted": "scalars named x read by EventAccumulator"}


def populate(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    series_dir = workdir / "series"
    writer = _writer(series_dir)
    writer.add_scalar(c.WARM_METRIC, 0.0, global_step=0)
    started, stored = c.clock(), {}
    budget = c.Budget(p.get("series_budget_s"))
    for key, n in p["series"].items():
        done = 0
        for step in range(n):
            if step % 1000 == 0 and budget.over():
                break
            writer.add_scalar(key, c.value(step, 0), global_step=step)
            done = step + 1
        stored[key] = done
    writer.close()
    series_s = c.clock() - started
    created, started = 0, c.clock()
    budget = c.Budget(p.get("create_budget_s"))
    for i in range(p["runs"]):
        if budget.over():
            break
        run = _writer(workdir / "many" / f"run{i:05d}")
        run.add_hparams(
            {f"p{j}": (i * 31 + j) % 97 for j in range(p["params"])},
            {},
            name="hparams",
        )
        for m, k in enumerate(("acc", "loss", "f1")):
            run.add_scalar(k, c.value(i, m), global_step=0)
        run.close()
        created += 1
    c.save_state(workdir)
    return {
        "series": stored,
        "series_s": series_s,
        "runs": created,
        "create_s": c.clock() - started,
    }


def query(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # Warm-up, untimed: the first load imports the reader and its protobufs.
    _scalars(workdir / "series", c.WARM_METRIC)
    for key in p["series"]:
        t = c.clock()
        points = _scalars(workdir / "series", key)
        out[f"sdk:{key}"] = {"seconds": c.clock() - t, "points": len(points)}
    t = c.clock()
    found = []
    for folder in sorted((workdir / "many").iterdir()):
        points = _scalars(folder, "acc")
        if points:
            found.append((points[-1].value, folder.name))
    found.sort(reverse=True)
    elapsed = c.clock() - t
    # One pass serves both: the event files must all be read to sort by a metric.
    out["list:top100"] = {"seconds": elapsed, "runs": min(100, len(found))}
    out["list:all"] = {"seconds": elapsed, "runs": len(found)}
    return out


def startup_setup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    return {}


def startup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    def begin() -> Any:
        writer = _writer(workdir / "startup")  # imports tensorboardX
        writer.add_scalar("loss", 0.5, global_step=0)
        return writer.close

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
