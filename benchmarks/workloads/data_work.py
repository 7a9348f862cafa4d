"""Workloads 3 and 4: reading long metric histories, and many runs (created once per
tool, then listed sorted by a metric in every repetition). One populated store per tool
also serves the server workload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.workloads import procs
from benchmarks.workloads.config import RUNYARD
from benchmarks.workloads.context import Context
from benchmarks.workloads.tools import Tool

READ_KEYS = ["read.short", "read.long", "read.store.short", "read.store.long"]
RUNS_KEYS = ["runs.create", "runs.top100", "runs.all", "runs.cli"]


def dataset(ctx: Context, tool: Tool) -> tuple[Path, dict[str, Any]] | None:
    """The tool's populated store, made on first use; None (with notes) if it failed."""
    if tool.name in ctx.datasets:
        return ctx.datasets[tool.name]
    sizes = ctx.sizes
    workdir = ctx.fresh("populate", tool)
    params = ctx.params(
        tool,
        series=sizes.series,
        runs=sizes.runs,
        params=sizes.params,
        create_budget_s=sizes.create_budget_s,
        series_budget_s=sizes.series_budget_s,
    )
    result = ctx.call("populate", tool, "populate", workdir, params, timeout_s=1800.0)
    if not result.ok:
        ctx.note_all(READ_KEYS + RUNS_KEYS, tool, result.problem)
        return None
    data = result.data
    created = int(data["runs"])
    remark = (
        ""
        if created >= sizes.runs
        else (f"time cap: {created:,} of {sizes.runs:,} runs created in {data['create_s']:.0f} s")
    )
    if created:
        ctx.results.add(
            "runs.create",
            tool.name,
            data["create_s"] / created * 1e3,
            remark or "created once (not repeated)",
        )
    ctx.datasets[tool.name] = (workdir, data)
    return ctx.datasets[tool.name]


def run_read_and_runs(ctx: Context, do_read: bool = True, do_runs: bool = True) -> None:
    tools = ctx.order(0)
    for tool in tools:  # populate every store first, outside the timed repetitions
        dataset(ctx, tool)
    for rep in range(ctx.reps):
        for tool in ctx.order(rep):
            if tool.name not in ctx.datasets or ctx.should_skip("read", tool):
                continue
            workdir, data = ctx.datasets[tool.name]
            params = ctx.params(tool, series=ctx.sizes.series, runs=ctx.sizes.runs)
            result = ctx.call("read", tool, "query", workdir, params)
            if not result.ok:
                ctx.note_all(
                    (READ_KEYS if do_read else []) + (RUNS_KEYS if do_runs else []),
                    tool,
                    result.problem,
                )
                continue
            if do_read:
                _record_reads(ctx, tool, result.data, data)
            if do_runs:
                _record_lists(ctx, tool, result.data, data)
                if tool.name == RUNYARD:
                    _runyard_cli_list(ctx, tool, workdir)


def _record_reads(ctx: Context, tool: Tool, got: dict[str, Any], populated: dict[str, Any]) -> None:
    for name, target in ctx.sizes.series.items():
        for prefix, key in (("sdk", f"read.{name}"), ("store", f"read.store.{name}")):
            part = got.get(f"{prefix}:{name}")
            if part is None:
                continue
            points = int(part["points"])
            remark = ""
            if points < target:
                how = populated.get("series", {}).get(name, points)
                remark = (
                    f"only {points:,} of {target:,} points were stored within the "
                    f"populate time cap ({how:,} logged); read time for those"
                )
            elif populated.get("loaded_by", {}).get(name, "").startswith("sqlite"):
                remark = (
                    "series loaded with SQL INSERTs into MLflow's metrics table after the "
                    "first 1,000 points (log_batch would take minutes); read via MlflowClient"
                )
            unequal = points < target
            ctx.results.add(key, tool.name, float(part["seconds"]) * 1e3, remark, unequal=unequal)


def _record_lists(ctx: Context, tool: Tool, got: dict[str, Any], populated: dict[str, Any]) -> None:
    created = int(populated.get("runs", 0))
    for label, key in (("top100", "runs.top100"), ("all", "runs.all")):
        part = got.get(f"list:{label}")
        if part is None:
            continue
        remark = "" if created >= ctx.sizes.runs else f"over the {created:,} runs created"
        if tool.name == "aim":
            remark = (
                "Aim's query cannot sort: all runs' acc fetched with query_metrics and "
                "sorted in Python (one query serves both rows)" + (f"; {remark}" if remark else "")
            )
        unequal = created < ctx.sizes.runs or tool.name == "aim"
        ctx.results.add(key, tool.name, float(part["seconds"]) * 1e3, remark, unequal=unequal)


def _runyard_cli_list(ctx: Context, tool: Tool, workdir: Path) -> None:
    cmd = [
        str(tool.bin_dir / "runyard"),
        "-w",
        str(workdir / "ws"),
        "runs",
        "list",
        "-e",
        "many",
        "--sort",
        "metric:acc",
        "--limit",
        "100",
        "--json",
    ]
    watched = procs.Watched(cmd, cwd=workdir)
    seconds = watched.wait_exit(120.0)
    if seconds is None or watched.proc.returncode != 0:
        ctx.results.note("runs.cli", tool.name, f"error: {watched.tail()}")
        return
    ctx.results.add("runs.cli", tool.name, seconds * 1e3)
