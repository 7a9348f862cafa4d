"""Issue 20's rows in ``make bench``'s report: each figure this run measured for Runyard,
its goal, the best peer measured in the same run, and whether Runyard meets the goal and
leads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.workloads import charts
from benchmarks.workloads.config import LABELS, RUNYARD
from benchmarks.workloads.results import BY_KEY, Results


@dataclass(frozen=True)
class Goal:
    key: str  # a Measure's key
    goal: float  # in the measure's unit; lower is better
    row: str


GOALS: tuple[Goal, ...] = (
    Goal("log.finish", 5, "end the run (`run.complete()` after the logging workload)"),
    Goal("runs.create", 2, "create a run and end it (5 tags, 3 metrics, `complete()`)"),
    Goal("runs.cli", 150, "`runyard runs list --sort metric:acc`, fresh process"),
    Goal("log.call", 0.6, "`run.log`, one call per value"),
    Goal("submit.rss", 40, "the runner's peak RSS on a one-line submitted run"),
)
COLD_BUILD_GOAL_S = 15.0  # the curated PyTorch environment, built cold (perf_rows only)
NOT_HERE = (
    f"The cold build of the curated PyTorch environment (goal {COLD_BUILD_GOAL_S:g} s) takes "
    "tens of seconds a try and is not part of `make bench`: "
    "`python -m benchmarks.perf_rows --with-build`."
)


def goal_of(key: str) -> float:
    """The goal of the row measured as ``key`` (perf_rows measures the same rows alone)."""
    return next(g.goal for g in GOALS if g.key == key)


def _best_peer(results: Results, key: str, tools: Sequence[str]) -> tuple[str, float] | None:
    found = []
    for tool in tools:
        cell = results.cells.get(key, {}).get(tool)
        median = cell.median() if cell is not None and tool != RUNYARD else None
        if median is not None and median > 0:
            found.append((median, tool))
    if not found:
        return None
    median, tool = min(found)
    return tool, median


def verdicts(results: Results) -> list[tuple[Goal, float, bool]]:
    """(goal, Runyard's median, met) for each goal row this run measured."""
    out = []
    for goal in GOALS:
        cell = results.cells.get(goal.key, {}).get(RUNYARD)
        median = cell.median() if cell is not None else None
        if median is not None:
            out.append((goal, median, median <= goal.goal))
    return out


def section(results: Results, tools: Sequence[str]) -> list[str]:
    rows = verdicts(results)
    out = [
        "## 7. Issue 20's goals",
        "",
        "Each row as measured above in this run, against its goal; the best peer is the "
        "fastest peer's median in the same row of this run (— where no peer has that row: "
        "a fresh-process CLI or a runner process).",
        "",
        "| row | Runyard | goal | meets goal | best peer here | Runyard leads |",
        "|---|---|---|---|---|---|",
    ]
    for goal, ours, met in rows:
        unit = BY_KEY[goal.key].unit
        best = _best_peer(results, goal.key, tools)
        peer, leads = "—", "—"
        if best is not None:
            tool, theirs = best
            peer = f"{LABELS.get(tool, tool)} {charts.fmt(theirs)} {unit}"
            unequal = results.cells[goal.key][tool].unequal
            leads = ("yes" if ours < theirs else "**no**") + (" †" if unequal else "")
        out.append(
            f"| {goal.row} | {charts.fmt(ours)} {unit} | ≤ {goal.goal:g} {unit} | "
            f"{'yes' if met else '**no**'} | {peer} | {leads} |"
        )
    if not rows:
        out.append("| *not run (`--only`)* | | | | | |")
    out += ["", NOT_HERE, ""]
    return out


def summary_line(results: Results) -> list[str]:
    rows = verdicts(results)
    if not rows:
        return []
    missed = [g.row for g, _, met in rows if not met]
    text = f"Issue 20's goals (section 7): {len(rows) - len(missed)} of {len(rows)} rows met"
    return [text + (f"; not met: {'; '.join(missed)}." if missed else "."), ""]
