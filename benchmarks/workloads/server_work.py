"""Workload 6: the tools' web servers on the populated stores. Start to first API
answer, then a metric history, a down-sampled long metric and a sorted runs search,
each over HTTP. Servers listen on 127.0.0.1 on a free port and are stopped through
their process group id."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.workloads import procs
from benchmarks.workloads.config import RUNYARD
from benchmarks.workloads.context import Context
from benchmarks.workloads.data_work import dataset
from benchmarks.workloads.tools import Tool

KEYS = ["server.ready", "server.short", "server.sampled", "server.runs"]
READY_DEADLINE_S = 180.0
REQUEST_TIMEOUT_S = 300.0


@dataclass
class Request:
    key: str
    method: str
    path: str
    params: dict[str, Any] | None = None
    body: Any = None
    remark: str = ""
    unequal: bool = False  # less or other work than Runyard's request of the same row


@dataclass
class ServerSpec:
    command: list[str]
    ready_path: str
    requests: list[Request]


def _runyard(tool: Tool, workdir: Path, port: int, state: dict[str, Any]) -> ServerSpec:
    run, exp = state["series_run"], state["many_experiment"]
    return ServerSpec(
        [str(tool.bin_dir / "runyard"), "-w", str(workdir / "ws"), "studio", "--port", str(port)],
        "/api/experiments",
        [
            Request("server.short", "GET", f"/api/runs/{run}/metrics/short"),
            Request("server.sampled", "GET", f"/api/runs/{run}/metrics/long", {"max_points": 200}),
            Request(
                "server.runs",
                "GET",
                f"/api/experiments/{exp}/runs",
                {"sort": "metric:acc", "order": "desc", "limit": 100, "metrics": "acc"},
            ),
        ],
    )


def _mlflow(tool: Tool, workdir: Path, port: int, state: dict[str, Any]) -> ServerSpec:
    run, exp = state["series_run"], state["many_experiment"]
    return ServerSpec(
        [
            str(tool.bin_dir / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{workdir / 'mlflow.db'}",
            "--default-artifact-root",
            str(workdir / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        "/api/2.0/mlflow/experiments/search?max_results=1",
        [
            Request(
                "server.short",
                "GET",
                "/api/2.0/mlflow/metrics/get-history",
                {"run_id": run, "metric_key": "short"},
            ),
            Request(
                "server.sampled",
                "GET",
                "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
                {"run_ids": run, "metric_key": "long", "max_results": 200},
                remark="get-history-bulk-interval (the endpoint MLflow's UI charts with)",
            ),
            Request(
                "server.runs",
                "POST",
                "/api/2.0/mlflow/runs/search",
                None,
                {"experiment_ids": [exp], "order_by": ["metrics.acc DESC"], "max_results": 100},
            ),
        ],
    )


def _aim(tool: Tool, workdir: Path, port: int, state: dict[str, Any]) -> ServerSpec:
    run = state["series_run"]
    short = state.get("series", {}).get("short", 20_000)
    long = state.get("series", {}).get("long", 1_000_000)
    return ServerSpec(
        [
            str(tool.bin_dir / "aim"),
            "up",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--repo",
            str(workdir),
        ],
        "/api/projects/",
        [
            Request(
                "server.short",
                "GET",
                "/api/runs/search/metric/",
                {
                    "q": f'run.hash == "{run}" and metric.name == "short"',
                    "p": short,
                    "report_progress": "false",
                },
                remark="metric search asking for every point (p = series length); Aim "
                "streams its own binary encoding",
            ),
            Request(
                "server.sampled",
                "POST",
                f"/api/runs/{run}/metric/get-batch/",
                None,
                [{"name": "long", "context": {}}],
                remark=f"get-batch samples to 200 points, from the {long:,} points Aim holds",
            ),
            Request(
                "server.runs",
                "GET",
                "/api/runs/search/run/",
                {"q": 'run.experiment == "many"', "report_progress": "false"},
                remark="Aim's run search cannot sort or return the best 100: all runs, unsorted",
                unequal=True,
            ),
        ],
    )


SPECS: dict[str, Callable[[Tool, Path, int, dict[str, Any]], ServerSpec]] = {
    RUNYARD: _runyard,
    "mlflow": _mlflow,
    "aim": _aim,
}


# Peers whose server the suite does not drive, and why.
NO_SERVER = {
    "wandb": "offline W&B has no local server",
    "tensorboard": "TensorBoard's server shows event files; it has no API to list or query runs",
}


def run_server(ctx: Context) -> None:
    for rep in range(ctx.reps):
        for tool in ctx.order(rep):
            if tool.name not in SPECS:
                ctx.note_all(KEYS, tool, f"n/a: {NO_SERVER.get(tool.name, 'no server driver')}")
                continue
            found = dataset(ctx, tool)
            if found is None:
                continue
            workdir, data = found
            if ctx.should_skip("server", tool):
                continue
            started = time.perf_counter()
            _serve_once(ctx, tool, workdir, data)
            ctx.mark_if_slow("server", tool, time.perf_counter() - started)


def _serve_once(ctx: Context, tool: Tool, workdir: Path, data: dict[str, Any]) -> None:
    import json

    state = json.loads((workdir / "state.json").read_text(encoding="utf-8"))
    port = procs.free_port()
    spec = SPECS[tool.name](tool, workdir, port, state)
    base = f"http://127.0.0.1:{port}"
    watched = procs.Watched(spec.command, cwd=workdir)
    try:
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
            ready = _wait_ready(client, spec.ready_path, watched)
            if ready is None:
                problem = (
                    f"error: server did not answer in {READY_DEADLINE_S:.0f} s ({watched.tail(3)})"
                )
                ctx.note_all(KEYS, tool, ctx.pending_or(tool, problem))
                return
            ctx.results.add("server.ready", tool.name, ready * 1e3)
            for req in spec.requests:
                req.unequal = req.unequal or _smaller(ctx, req.key, state, data)
                _timed_request(ctx, tool, client, req)
    finally:
        watched.stop()
    ctx.log(f"server     {tool.name:<8} ready in {ready:.2f} s")


def _wait_ready(client: httpx.Client, path: str, watched: procs.Watched) -> float | None:
    end = time.monotonic() + READY_DEADLINE_S
    while time.monotonic() < end:
        if watched.proc.poll() is not None:
            return None
        try:
            if client.get(path, timeout=5.0).status_code == 200:
                return time.perf_counter() - watched.started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return None


def _timed_request(ctx: Context, tool: Tool, client: httpx.Client, req: Request) -> None:
    """One untimed request of the kind first (servers import and connect lazily on the
    first request; that cost is in the start-up row's spirit, not this one), then the
    timed one."""
    with contextlib.suppress(httpx.HTTPError):
        client.request(req.method, req.path, params=req.params, json=req.body).read()
    started = time.perf_counter()
    try:
        response = client.request(req.method, req.path, params=req.params, json=req.body)
        body = response.content  # the whole answer, streamed ones included
    except httpx.HTTPError as exc:
        ctx.results.note(req.key, tool.name, ctx.pending_or(tool, f"error: {type(exc).__name__}"))
        return
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        problem = f"error: HTTP {response.status_code} {body[:120]!r}"
        ctx.results.note(req.key, tool.name, ctx.pending_or(tool, problem))
        return
    ctx.results.add(req.key, tool.name, seconds * 1e3, req.remark, unequal=req.unequal)


def _smaller(ctx: Context, key: str, state: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether the tool's store holds less than asked for (a time cap at populate)."""
    if key == "server.runs":
        return int(data.get("runs", 0)) < ctx.sizes.runs
    if key == "server.sampled":
        target = ctx.sizes.series["long"]
        return int(state.get("series", {}).get("long", target)) < target
    return False
