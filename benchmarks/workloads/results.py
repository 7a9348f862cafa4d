"""What the suite measured: samples per (measure, tool), notes that replace or qualify
a number, the durability kills, and facts about the machine. Saved as JSON, so the
document can be rendered again without measuring (``--render-only``)."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Measure:
    key: str
    workload: str
    label: str
    unit: str  # "µs", "ms", "s"
    runyard_only: bool = False
    peer_only: str = ""  # a measure only one peer has (MLflow's log_batch)


# The rows of the document, in order. Values are stored in the row's unit.
MEASURES: tuple[Measure, ...] = (
    Measure("log.call", "logging", "one call per value", "µs"),
    Measure("log.batch", "logging", "one batched call per step (3 values)", "µs"),
    Measure(
        "log.log_batch",
        "logging",
        "MLflow log_batch, 1,000 values a call",
        "µs",
        peer_only="mlflow",
    ),
    Measure("log.finish", "logging", "finish the run (flush, close)", "ms"),
    Measure("read.short", "read", "full history, {short} points (SDK)", "ms"),
    Measure("read.long", "read", "full history, {long} points (SDK)", "ms"),
    Measure(
        "read.store.short",
        "read",
        "store.get_metric_series, {short} points",
        "ms",
        runyard_only=True,
    ),
    Measure(
        "read.store.long", "read", "store.get_metric_series, {long} points", "ms", runyard_only=True
    ),
    Measure("runs.create", "runs", "create one run (5 params, 3 metrics)", "ms"),
    Measure("runs.top100", "runs", "100 best runs by acc, sorted", "ms"),
    Measure("runs.all", "runs", "all runs sorted by acc", "ms"),
    Measure(
        "runs.cli",
        "runs",
        "`runyard runs list --sort metric:acc` (fresh process)",
        "ms",
        runyard_only=True,
    ),
    Measure("start.ready", "startup", "import + start a run + first log (fresh process)", "ms"),
    Measure("start.exit", "startup", "the same, until the process has exited", "ms"),
    Measure("submit.first", "startup", "submit to local compute → first output line", "ms"),
    Measure(
        "submit.rss",
        "startup",
        "the runner's peak RSS (that submitted run)",
        "MB",
        runyard_only=True,
    ),
    Measure("server.ready", "server", "start → first API answer", "ms"),
    Measure("server.short", "server", "full history, {short} points, over HTTP", "ms"),
    Measure("server.sampled", "server", "{long}-point metric down-sampled to 200, over HTTP", "ms"),
    Measure("server.runs", "server", "runs search sorted by acc, first 100, over HTTP", "ms"),
)
BY_KEY = {m.key: m for m in MEASURES}


@dataclass
class Cell:
    samples: list[float] = field(default_factory=list)
    note: str = ""  # replaces the number when there are no samples ("n/a: ...")
    remarks: list[str] = field(default_factory=list)  # qualify the number (footnotes)
    # Under a time cap: how much each sample did, of how much, and what the number is.
    done: list[int] = field(default_factory=list)
    of: int = 0
    cap_note: str = ""
    unequal: bool = False  # the peer did less or other work than Runyard in this row

    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def cap_text(self) -> str:
        """'time cap: 777–812 of 60,000 values; ...', or '' if never capped."""
        if not self.done or min(self.done) >= self.of:
            return ""
        lo, hi = min(self.done), max(self.done)
        span = f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"
        return f"time cap: {span} of {self.of:,} {self.cap_note}"


@dataclass
class Results:
    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    kills: list[dict[str, Any]] = field(default_factory=list)
    tools: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> version, problem
    meta: dict[str, Any] = field(default_factory=dict)

    def cell(self, key: str, tool: str) -> Cell:
        return self.cells.setdefault(key, {}).setdefault(tool, Cell())

    def add(
        self,
        key: str,
        tool: str,
        value: float,
        remark: str = "",
        *,
        unequal: bool = False,
        done: int | None = None,
        of: int = 0,
        cap_note: str = "",
    ) -> None:
        """One sample. ``done``/``of``/``cap_note`` describe a time-capped sample
        ("values; the µs per value is the mean over those")."""
        cell = self.cell(key, tool)
        cell.samples.append(value)
        if remark and remark not in cell.remarks:
            cell.remarks.append(remark)
        cell.unequal = cell.unequal or unequal
        if done is not None:
            cell.done.append(done)
            cell.of, cell.cap_note = of, cap_note

    def note(self, key: str, tool: str, text: str) -> None:
        """Records why there is no number; the first reason is kept."""
        cell = self.cell(key, tool)
        if not cell.note:
            cell.note = text

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Results:
        raw = json.loads(path.read_text(encoding="utf-8"))
        cells = {k: {t: Cell(**c) for t, c in per.items()} for k, per in raw["cells"].items()}
        return cls(cells=cells, kills=raw["kills"], tools=raw["tools"], meta=raw["meta"])
