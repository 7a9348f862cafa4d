"""The state one suite run shares: tools, sizes, results, fresh folders, the order in
which tools take turns, and the bookkeeping around each driver call."""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.workloads import procs
from benchmarks.workloads.config import CACHE_DIR, CHECK_EVERY, RUNYARD, Sizes
from benchmarks.workloads.results import Results
from benchmarks.workloads.tools import Tool

DRIVER_TIMEOUT_S = 600.0


@dataclass
class Context:
    tools: list[Tool]
    sizes: Sizes
    reps: int
    results: Results
    keep: bool = False
    seed: int = 0
    started: float = field(default_factory=time.perf_counter)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="runyard-bench-")))
    datasets: dict[str, tuple[Path, dict[str, Any]]] = field(default_factory=dict)
    _slow: set[tuple[str, str]] = field(default_factory=set)
    _count: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # -- bookkeeping ------------------------------------------------------------------

    def log(self, message: str) -> None:
        print(
            f"[{time.perf_counter() - self.started:7.1f}s] {message}", file=sys.stderr, flush=True
        )

    def order(self, rep: int) -> list[Tool]:
        """Tools take turns, and the first one changes every repetition, so that a
        warm page cache or a busy neighbour does not always favour the same tool."""
        usable = [t for t in self.tools if not t.problem]
        if not usable:
            return []
        shift = rep % len(usable)
        return usable[shift:] + usable[:shift]

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    def fresh(self, workload: str, tool: Tool) -> Path:
        """A new, empty folder for one tool's turn at one workload."""
        self._count += 1
        path = self.root / f"{self._count:03d}-{workload}-{tool.name}"
        path.mkdir(parents=True)
        return path

    def params(self, tool: Tool, **extra: Any) -> dict[str, Any]:
        template = CACHE_DIR / "templates" / f"mlflow-{tool.version}.db"
        return {"check_every": CHECK_EVERY.get(tool.name, 1), "template": str(template), **extra}

    def should_skip(self, workload: str, tool: Tool) -> bool:
        return (workload, tool.name) in self._slow

    def call(
        self,
        workload: str,
        tool: Tool,
        driver_workload: str,
        workdir: Path,
        params: dict[str, Any],
        timeout_s: float = DRIVER_TIMEOUT_S,
    ) -> procs.DriverResult:
        """Runs one driver call; marks (workload, tool) as not to be repeated when it
        was slower than ``sizes.slow_s``."""
        result = procs.run_driver(
            tool.command(driver_workload, workdir, params),
            timeout_s=timeout_s,
            cwd=workdir,
            log_path=workdir / f"{driver_workload}.log",
        )
        self.log(
            f"{workload:<10} {tool.name:<8} {driver_workload:<13} {result.seconds:6.1f} s"
            + ("" if result.ok else f"  {result.problem[:120]}")
        )
        self.mark_if_slow(workload, tool, result.seconds)
        return result

    def mark_if_slow(self, workload: str, tool: Tool, seconds: float) -> None:
        """A turn slower than ``sizes.slow_s`` is not repeated: one such number costs
        more of the suite's time than its repetition would tell."""
        if seconds > self.sizes.slow_s:
            self._slow.add((workload, tool.name))

    def note_all(self, keys: list[str], tool: Tool, text: str) -> None:
        for key in keys:
            self.results.note(key, tool.name, text)

    def pending_or(self, tool: Tool, problem: str) -> str:
        """Runyard's submit and studio paths are still being written by others: a
        failure there reads 'pending' rather than 'error'."""
        if tool.name == RUNYARD and problem.startswith("error"):
            return "pending (" + problem.removeprefix("error: ") + ")"
        return problem

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
