"""Workloads 1 and 2: logging speed (one call per value, and batched), and what
survives a SIGKILL in the middle of logging."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.workloads import procs
from benchmarks.workloads.config import DURABLE_EVERY, RUNYARD
from benchmarks.workloads.context import Context
from benchmarks.workloads.tools import Tool

LOG_KEYS = ["log.call", "log.batch", "log.log_batch", "log.finish"]
RUNYARD_BATCH = (
    "no batch API: the per-call path is already the fast one, so this is the per-call number"
)


def run_logging(ctx: Context) -> None:
    sizes = ctx.sizes
    target = sizes.steps * sizes.metrics
    for rep in range(ctx.reps):
        for tool in ctx.order(rep):
            if ctx.should_skip("logging", tool):
                continue
            workdir = ctx.fresh("logging", tool)
            params = ctx.params(
                tool, metrics=sizes.metrics, steps=sizes.steps, budget_s=sizes.log_budget_s
            )
            result = ctx.call("logging", tool, "log", workdir, params)
            if not result.ok:
                ctx.note_all(LOG_KEYS, tool, result.problem)
                continue
            _record(ctx, tool, result.data, target)


def _record(ctx: Context, tool: Tool, data: dict[str, Any], target: int) -> None:
    for mode, key in (("call", "log.call"), ("batch", "log.batch"), ("log_batch", "log.log_batch")):
        part = data.get(mode)
        if not part:
            continue
        values = int(part["values"])
        ctx.results.add(
            key,
            tool.name,
            part["seconds"] / max(1, values) * 1e6,
            done=values,
            of=target,
            cap_note="values logged in each repetition's time cap; the µs per value is the "
            "mean over those",
        )
    call = data.get("call", {})
    if "finish_s" in call:
        done = int(call["values"])
        ctx.results.add(
            "log.finish",
            tool.name,
            call["finish_s"] * 1e3,
            unequal=done < target,
            done=done,
            of=target,
            cap_note="values: the run finished held only what its capped logging loop logged",
        )
    if tool.name == RUNYARD and "call" in data:
        per_call = data["call"]["seconds"] / max(1, int(data["call"]["values"])) * 1e6
        ctx.results.add("log.batch", tool.name, per_call, RUNYARD_BATCH)


# -- durability -------------------------------------------------------------------------


def run_durability(ctx: Context) -> None:
    for rep in range(ctx.reps):
        for tool in ctx.order(rep):
            kill = _kill_once(ctx, tool, rep)
            ctx.results.kills.append(kill)
            ctx.log(
                f"durability {tool.name:<8} reported {kill.get('reported')} found "
                f"{kill.get('found')} {kill.get('problem', '')}"
            )


def _kill_once(ctx: Context, tool: Tool, rep: int) -> dict[str, Any]:
    workdir = ctx.fresh("durability", tool)
    params = ctx.params(tool, every=DURABLE_EVERY.get(tool.name, 100))
    kill: dict[str, Any] = {"tool": tool.name, "rep": rep + 1, "every": params["every"]}
    side = workdir / "count.txt"
    with (workdir / "durable.log").open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            tool.command("durable", workdir, params),
            cwd=workdir,
            env=procs.child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            if not _wait_logging(proc, side, workdir, deadline_s=180.0):
                kill["problem"] = "error: logging did not start (see durable.log)"
                return kill
            delay = ctx.rng.uniform(*ctx.sizes.kill_window_s)
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)  # the logging process only, as the OOM killer would
            proc.wait(timeout=30)
            kill["kill_after_s"] = round(delay, 3)
            kill["reported"] = int(side.read_text(encoding="utf-8") or 0)
            # The tool's helper processes (W&B's service) may still be writing: give them
            # time to finish what they received, as they would after a real crash.
            if not procs.wait_group_gone(proc.pid, 30.0):
                procs.stop_group(proc, grace_s=1.0, sig=signal.SIGKILL)
        finally:
            if proc.poll() is None:
                procs.stop_group(proc, grace_s=1.0, sig=signal.SIGKILL)
    result = ctx.call("durability", tool, "count", workdir, ctx.params(tool))
    if not result.ok:
        kill["problem"] = result.problem
        return kill
    kill["found"] = int(result.data["found"])
    kill["counted"] = result.data.get("counted", "")
    kill["lost"] = max(0, kill["reported"] - kill["found"])
    return kill


def _wait_logging(
    proc: subprocess.Popen[Any], side: Path, workdir: Path, deadline_s: float
) -> bool:
    """Waits until the driver has started its run and reported a first count."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        if (
            (workdir / "state.json").exists()
            and side.exists()
            and side.read_text(encoding="utf-8") not in ("", "0")
        ):
            return True
        time.sleep(0.02)
    return False
