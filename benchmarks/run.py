"""``make bench``: Runyard against MLflow, W&B, Aim and TensorBoard, here, in one command.

    .venv/bin/python -m benchmarks.run [--reps 3] [--scale 1] [--only logging,read]
                                       [--peers mlflow,wandb,aim] [--caps 1] [--keep]

Installs each peer into its own virtual environment (``benchmarks/.cache/venvs``),
runs every workload through each tool's public API in subprocesses, tools taking turns,
and writes ``docs/benchmarks.md`` with one chart per workload under ``docs/benchmarks/``.
Its section 7 sets issue 20's rows against their goals and the best peer of the same
run; ``python -m benchmarks.perf_rows`` measures those rows for Runyard alone (and the
cold PyTorch build, which ``make bench`` leaves out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from benchmarks.workloads import data_work, logging_work, report, server_work, startup_work
from benchmarks.workloads.config import (
    DOC_PATH,
    DURABLE_EVERY,
    PEERS,
    RESULTS_PATH,
    VENV_DIR,
    WORKLOADS,
    Sizes,
)
from benchmarks.workloads.context import Context
from benchmarks.workloads.results import Results
from benchmarks.workloads.tools import Tool, peer_tool, runyard_tool

STEPS: dict[str, Callable[[Context], None]] = {
    "logging": logging_work.run_logging,
    "durability": logging_work.run_durability,
    "startup": startup_work.run_startup,
    "submit": startup_work.run_submit,
    "server": server_work.run_server,
}


def _names(raw: str, allowed: Sequence[str], what: str) -> list[str]:
    names = [n.strip() for n in raw.split(",") if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {', '.join(unknown)} (known: {', '.join(allowed)})"
        )
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--reps", type=int, default=3, help="repetitions of each workload (default 3)"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiplies every size (steps, series lengths, runs); default 1",
    )
    parser.add_argument(
        "--caps",
        type=float,
        default=1.0,
        help="multiplies the time caps on slow loops; 0 removes them (hours for MLflow)",
    )
    parser.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help=f"comma-separated workloads (default all: {','.join(WORKLOADS)})",
    )
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="comma-separated peers (default: all of them; 'none' for Runyard alone)",
    )
    parser.add_argument("--no-install", action="store_true", help="use peer venvs as they are")
    parser.add_argument("--out", type=Path, default=DOC_PATH, help="the Markdown file to write")
    parser.add_argument(
        "--charts", type=Path, default=None, help="chart folder (default: beside --out)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS_PATH, help="raw results JSON")
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the document from --results"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folders")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    args = parser.parse_args(argv)
    try:
        args.only = _names(args.only, WORKLOADS, "workload")
        args.peers = _names(args.peers, PEERS, "peer")
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if args.reps < 1 or args.scale <= 0:
        parser.error("--reps must be >= 1 and --scale > 0")
    if args.charts is None:
        args.charts = args.out.parent / args.out.stem
    return args


def _tools(args: argparse.Namespace, log: Callable[[str], None]) -> list[Tool]:
    tools = [runyard_tool()]
    for name in args.peers:
        tools.append(peer_tool(name, log, install=not args.no_install))
    for tool in tools:
        log(f"{tool.name}: {tool.version or '?'} {tool.problem}")
    return tools


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    mem = next(
        (
            line.split()[1]
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), {int(mem) / 1024 / 1024:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(args: argparse.Namespace) -> Results:
    results = Results()
    sizes = Sizes.scaled(args.scale, args.caps)
    ctx = Context(
        tools=[], sizes=sizes, reps=args.reps, results=results, keep=args.keep, seed=args.seed
    )
    results.meta.update(
        date=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        machine=_machine(),
        load_start=_load(),
        reps=args.reps,
        scale=args.scale,
        caps=args.caps,
        sizes=asdict(sizes),
        only=args.only,
        durable_every=DURABLE_EVERY,
    )
    started = time.perf_counter()
    try:
        ctx.tools = _tools(args, ctx.log)
        results.meta["tools_order"] = [t.name for t in ctx.tools]
        for tool in ctx.tools:
            where = (
                "the project's .venv"
                if tool.name == "runyard"
                else f"{VENV_DIR.name}/{tool.name} (pip)"
            )
            results.tools[tool.name] = {
                "version": tool.version,
                "problem": tool.problem,
                "where": where,
            }
        for workload in args.only:
            ctx.log(f"== {workload}")
            try:
                _run_workload(ctx, workload, args.only)
            except Exception:  # one broken workload must not cost the others' numbers
                ctx.log(f"{workload}: harness error\n{traceback.format_exc()}")
                results.meta.setdefault("harness_errors", []).append(
                    f"{workload}: {traceback.format_exc(limit=1).strip().splitlines()[-1]}"
                )
        _note_unusable(ctx)
    finally:
        ctx.cleanup()
    results.meta["elapsed_s"] = time.perf_counter() - started
    results.meta["load_end"] = _load()
    return results


def _run_workload(ctx: Context, workload: str, only: Sequence[str]) -> None:
    if workload not in ("read", "runs"):
        STEPS[workload](ctx)
    elif workload == "read" or "read" not in only:  # one pass serves both
        data_work.run_read_and_runs(ctx, do_read="read" in only, do_runs="runs" in only)


def _note_unusable(ctx: Context) -> None:
    """Peers that could not be installed or started get their reason in every row."""
    from benchmarks.workloads.results import MEASURES

    for tool in ctx.tools:
        if tool.problem:
            for m in MEASURES:
                if m.key in ctx.results.cells:
                    ctx.results.note(m.key, tool.name, f"n/a: {tool.problem}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_only:
        results = Results.load(args.results)
    else:
        results = measure(args)
        results.save(args.results)
    report.write(results, args.out, args.charts)
    print(
        f"wrote {args.out} and charts in {args.charts} "
        f"({results.meta.get('elapsed_s', 0) / 60:.1f} min)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
