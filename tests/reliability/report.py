"""Writes the generated parts of docs/reliability.md: the bad-input catalogue (from
``bad_inputs.py``) and the measured figures (from the JSON lines the suite appends to
``$RUNYARD_RELIABILITY_RESULTS``).

    RUNYARD_RELIABILITY_RESULTS=/tmp/soak.jsonl make soak
    .venv/bin/python -m tests.reliability.report /tmp/soak.jsonl

Without a results file only the catalogue is rewritten. Each part lives between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers; the prose around them is
written by hand.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tests.reliability.bad_inputs import CATALOGUE

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
SURFACES = {
    "python": "Python API",
    "config": "config files",
    "environment": "environment specs",
    "cli": "CLI",
    "rest": "REST API",
}


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def catalogue() -> str:
    rows = []
    for row in sorted(CATALOGUE, key=lambda r: list(SURFACES).index(r.surface)):
        says = "; ".join(f"“{s}”" for s in row.says) or "—"
        status = "passes (found a bug, fixed)" if row.fixed else "passes"
        rows.append((f"`{row.id}`", SURFACES[row.surface], row.given, row.expect, says, status))
    counts = {s: sum(1 for r in CATALOGUE if r.surface == s) for s in SURFACES}
    fixed = sum(1 for r in CATALOGUE if r.fixed)
    summary = (
        f"{len(CATALOGUE)} bad inputs ("
        + ", ".join(f"{n} {SURFACES[s]}" for s, n in counts.items())
        + f"); all get the right error; {fixed} of them found bugs, fixed since."
    )
    header = ("row", "surface", "bad input", "gets", "message names", "today")
    return summary + "\n\n" + table(header, rows)


def slowest(by_request: dict[str, int]) -> str:
    if not by_request:
        return ""
    request, ms = max(by_request.items(), key=lambda kv: kv[1])
    return f"{request} ({ms} ms)"


def figures(results: list[dict[str, Any]]) -> str:
    loads = [r for r in results if r["test"] == "load"]
    parts = []
    if loads:
        parts.append(
            table(
                (
                    "backend",
                    "runs × points",
                    "logged",
                    "stored",
                    "final statuses",
                    "wall (s)",
                    "studio requests",
                    "median / p99 / max (ms)",
                    "slowest request",
                    "machine",
                    "when",
                ),
                [
                    (
                        r["backend"],
                        f"{r['runs']} × {r['points_per_run']:,}",
                        f"{r['points_logged']:,}",
                        f"{r['points_stored']:,}",
                        ", ".join(f"{k} {v}" for k, v in r["statuses"].items()),
                        r["wall_s"],
                        f"{r['studio_requests']} ({r['studio_failures']} failed)",
                        f"{r['latency_median_ms']} / {r['latency_p99_ms']} / {r['latency_max_ms']}",
                        slowest(r.get("slowest_ms", {})),
                        r.get("machine", ""),
                        r["when"],
                    )
                    for r in loads
                ],
            )
        )
    others = [r for r in results if r["test"] != "load"]
    if others:
        rows = []
        for r in others:
            shown = {k: v for k, v in r.items() if k not in ("test", "when")}
            rows.append((r["test"], "; ".join(f"{k} = {v}" for k, v in shown.items()), r["when"]))
        parts.append(table(("fault", "measured", "when"), rows))
    return "\n\n".join(parts)


def summary(results: list[dict[str, Any]]) -> str:
    """The two numbers the suite must reach, added up over every recorded result."""
    lost = sum(int(r.get("points_lost", 0)) for r in results)
    stuck = sum(int(r.get("runs_not_terminal", 0)) for r in results)
    stored = sum(int(r.get("points_stored", 0)) for r in results)
    return (
        f"**Points lost: {lost}. Runs left in a non-terminal status: {stuck}.** "
        f"({len(results)} results, {stored:,} points stored and checked one by one.)"
    )


def replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOCS} has no <!-- {name}:start/end --> markers")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv: list[str]) -> int:
    text = DOCS.read_text(encoding="utf-8")
    text = replace(text, "catalogue", catalogue())
    results = []
    for name in argv:
        results += [json.loads(line) for line in Path(name).read_text().splitlines() if line]
    if results:
        text = replace(text, "figures", figures(results) + "\n\n" + summary(results))
    DOCS.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS} ({len(CATALOGUE)} catalogue rows, {len(results)} results)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
