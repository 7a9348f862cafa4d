"""W&B's side of the workloads, in offline mode (``WANDB_MODE=offline``: runs are
written to ``.wandb`` files under the run folder, nothing is sent). Run with W&B's own
interpreter. Offline W&B has no read or search API, and no local job submission, so
those workloads answer "unsupported".

To count what survived a SIGKILL, the ``.wandb`` file is read directly: it is a LevelDB
log (32 KiB blocks of checksummed fragments) of ``wandb_internal_pb2.Record`` messages.
W&B 0.31 no longer ships a Python reader for it, so a small one is below.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common as c

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

_BLOCK = 32 * 1024
_HEADER = 7  # ":W&B" + u16 magic + u8 version; and each fragment's u32 crc, u16 len, u8 type
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def _version() -> str:
    import wandb

    return str(wandb.__version__)


def _init(workdir: Path, **kwargs: Any) -> Any:
    import wandb

    # console="off": W&B would otherwise wrap stdout, where the driver prints its result.
    return wandb.init(
        project="bench",
        dir=str(workdir),
        mode="offline",
        settings=wandb.Settings(console="off", silent=True),
        **kwargs,
    )


def log(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    names = c.metric_names(p["metrics"])
    out: dict[str, Any] = {}
    for mode in ("call", "batch"):
        run = _init(workdir)
        started, steps = c.clock(), 0
        for step in c.timed_steps(p["steps"], p.get("budget_s"), p.get("check_every", 1)):
            if mode == "call":
                for m, name in enumerate(names):
                    run.log({name: c.value(step, m)}, step=step)
            else:
                run.log({name: c.value(step, m) for m, name in enumerate(names)}, step=step)
            steps = step + 1
        elapsed, done = c.clock() - started, c.clock()
        run.finish()
        out[mode] = {"values": steps * len(names), "seconds": elapsed, "finish_s": c.clock() - done}
    return out


def durable(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    run = _init(workdir)
    c.save_state(workdir, run_id=run.id)
    c.durable_loop(lambda step: run.log({"x": c.value(step, 0)}), workdir, p)
    run.finish()
    return {}


def _records(path: Path) -> Iterator[bytes]:
    """Whole records of a LevelDB-format log; stops at the first torn fragment."""
    data = path.read_bytes()
    pos, pending = _HEADER, b""
    while pos + _HEADER <= len(data):
        left_in_block = _BLOCK - pos % _BLOCK
        if left_in_block < _HEADER:  # block trailer padding
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0 and length == 0:
            break
        body = data[pos + _HEADER : pos + _HEADER + length]
        if len(body) < length:
            break
        pos += _HEADER + length
        if kind == _FULL:
            yield body
        elif kind == _FIRST:
            pending = body
        elif kind == _MIDDLE:
            pending += body
        elif kind == _LAST:
            yield pending + body
            pending = b""


def count(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    from wandb.proto import wandb_internal_pb2 as pb

    files = sorted(workdir.glob("wandb/offline-run-*/run-*.wandb"))
    if not files:
        raise FileNotFoundError(f"no .wandb file under {workdir}")
    found = 0
    for raw in _records(files[-1]):
        record = pb.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "history":
            found += sum(
                1
                for item in record.history.item
                if item.key == "x" or list(item.nested_key) == ["x"]
            )
    return {"found": found, "counted": "history items named x in the .wandb file"}


def populate(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    created, started = 0, c.clock()
    budget = c.Budget(p.get("create_budget_s"))
    for i in range(p["runs"]):
        if budget.over():
            break
        run = _init(
            workdir, config={f"p{j}": (i * 31 + j) % 97 for j in range(p["params"])}, group="many"
        )
        run.log({k: c.value(i, m) for m, k in enumerate(("acc", "loss", "f1"))})
        run.finish()
        created += 1
    c.save_state(workdir)
    return {"series": {}, "series_s": 0.0, "runs": created, "create_s": c.clock() - started}


def query(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    raise c.Unsupported("offline W&B has no read or search API (the public API needs the server)")


def startup_setup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    return {}


def startup(workdir: Path, p: dict[str, Any]) -> dict[str, Any]:
    def begin() -> Any:
        run = _init(workdir)  # imports wandb
        run.log({"loss": 0.5})
        return run.finish

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
