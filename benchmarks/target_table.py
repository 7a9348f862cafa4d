"""What the single-tool benchmarks (`*_bench.py`) report: one row per figure, with the
issue's target and whether it was met."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    target: str
    ok: bool


def print_table(results: list[Result]) -> None:
    width = max(len(r.name) for r in results)
    unit_w = max(4, *(len(r.unit) for r in results))
    target_w = max(6, *(len(r.target) for r in results))
    print(f"{'benchmark':<{width}}  {'value':>14}  {'unit':<{unit_w}}  {'target':<{target_w}}  ok")
    for r in results:
        value = f"{r.value:,.0f}" if abs(r.value) >= 1000 else f"{r.value:,.2f}"
        mark = "yes" if r.ok else "NO"
        print(f"{r.name:<{width}}  {value:>14}  {r.unit:<{unit_w}}  {r.target:<{target_w}}  {mark}")
