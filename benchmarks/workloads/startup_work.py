"""Workload 5: start-up. A fresh process that imports the tool, starts a run and logs
one value (timed from spawn, by the harness); and a script submitted to local compute,
from the control process's spawn to the script's first output line."""

from __future__ import annotations

import json
import os
from pathlib import Path

from benchmarks.peers._common import FIRST_PREFIX, READY_PREFIX, SUBMIT_MARKER
from benchmarks.workloads import procs
from benchmarks.workloads.config import RUNYARD
from benchmarks.workloads.context import Context
from benchmarks.workloads.tools import Tool

DEADLINE_S = 180.0
NO_SUBMIT = "n/a: no local job submission"


def run_startup(ctx: Context) -> None:
    for rep in range(ctx.reps):
        for tool in ctx.order(rep):
            _startup_once(ctx, tool)


def _startup_once(ctx: Context, tool: Tool) -> None:
    workdir = ctx.fresh("startup", tool)
    setup = ctx.call("startup", tool, "startup_setup", workdir, ctx.params(tool))
    if not setup.ok:
        ctx.note_all(["start.ready", "start.exit"], tool, setup.problem)
        return
    watched = procs.Watched(tool.command("startup", workdir, ctx.params(tool)), cwd=workdir)
    try:
        ready = watched.wait_line(lambda line: line.startswith(READY_PREFIX), DEADLINE_S)
        ended = watched.wait_exit(DEADLINE_S)
    finally:
        watched.stop()
    if ready is None or ended is None:
        ctx.note_all(["start.ready", "start.exit"], tool, f"error: {watched.tail()}")
        return
    ctx.results.add("start.ready", tool.name, ready[0] * 1e3)
    ctx.results.add("start.exit", tool.name, ended * 1e3)
    ctx.log(f"startup    {tool.name:<8} ready {ready[0]:.2f} s, exited {ended:.2f} s")


def run_submit(ctx: Context) -> None:
    for rep in range(ctx.reps):
        for tool in ctx.order(rep):
            if tool.name not in (RUNYARD, "mlflow"):
                ctx.results.note("submit.first", tool.name, NO_SUBMIT)
                continue
            _submit_once(ctx, tool)


def _submit_once(ctx: Context, tool: Tool) -> None:
    workdir = ctx.fresh("submit", tool)
    setup = ctx.call("submit", tool, "submit_setup", workdir, ctx.params(tool))
    if not setup.ok:
        ctx.results.note("submit.first", tool.name, ctx.pending_or(tool, setup.problem))
        return
    if tool.name == RUNYARD:
        cmd = tool.command("submit", workdir, ctx.params(tool, timeout_s=DEADLINE_S))
        marker = FIRST_PREFIX
        env: dict[str, str] = {}
    else:
        cmd, env = _mlflow_run(tool, workdir)
        marker = SUBMIT_MARKER
    watched = procs.Watched(cmd, cwd=workdir, env=env)
    try:
        first = watched.wait_line(lambda line: line.startswith(marker), DEADLINE_S)
        ended = watched.wait_exit(DEADLINE_S)
    finally:
        watched.stop()
    result = procs.parse_result("\n".join(watched.seen)) if tool.name == RUNYARD else None
    if first is None or ended is None or watched.proc.returncode not in (0, None):
        problem = f"error: {watched.tail(3)}"
        if result and not result.get("ok"):
            problem = f"error: {result.get('error')}"
        ctx.results.note("submit.first", tool.name, ctx.pending_or(tool, problem))
        return
    remark = ""
    if tool.name == RUNYARD and first[1].startswith(FIRST_PREFIX):
        inner = json.loads(first[1][len(FIRST_PREFIX) :])["seconds"]
        remark = (
            "control script: imports, opens the workspace, submit(), polls run.get_driver_log()"
        )
        ctx.log(f"submit     runyard  submit → first line in-process {inner:.2f} s")
    ctx.results.add("submit.first", tool.name, first[0] * 1e3, remark)
    if result and result.get("runner_rss_mb") is not None:
        ctx.results.add("submit.rss", tool.name, float(result["runner_rss_mb"]))
    ctx.log(f"submit     {tool.name:<8} first line {first[0]:.2f} s")


def _mlflow_run(tool: Tool, workdir: Path) -> tuple[list[str], dict[str, str]]:
    """``mlflow run SRC --env-manager local``: the project's command runs with the
    ``python`` found first on PATH, which is MLflow's venv."""
    cmd = [
        str(tool.bin_dir / "mlflow"),
        "run",
        str(workdir / "src"),
        "--env-manager",
        "local",
        "--experiment-name",
        "startup",
    ]
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "PATH": f"{tool.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return cmd, env
