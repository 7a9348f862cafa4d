"""The widget's static HTML snapshot: what a notebook shows without a kernel (nbconvert,
a repository viewer). Inline SVG, no script; every string from the run is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from runyard.widgets.sweep import sweep_snapshot_html

WIDTH, HEIGHT, PAD = 320, 120, 6


def _polyline(steps: list[int], values: list[float | None]) -> str:
    """An SVG path of the points (a None value breaks the line)."""
    points = [(s, v) for s, v in zip(steps, values, strict=False) if v is not None]
    if not points:
        return ""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    xspan = (x1 - x0) or 1
    yspan = (y1 - y0) or 1
    parts: list[str] = []
    pen_down = False
    for step, value in zip(steps, values, strict=False):
        if value is None:
            pen_down = False
            continue
        x = PAD + (step - x0) / xspan * (WIDTH - 2 * PAD)
        y = HEIGHT - PAD - (value - y0) / yspan * (HEIGHT - 2 * PAD)
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
    return " ".join(parts)


def _chart(chart: dict[str, Any]) -> str:
    key = escape(str(chart["key"]))
    last = escape(str(chart["last"]))
    head = f'<div class="ry-chart-title"><b>{key}</b> <span>last {last}'
    head += f" &middot; {int(chart['count'])} points</span></div>"
    path = _polyline(chart.get("steps", []), chart.get("values", []))
    if not path:
        return f'<div class="ry-chart">{head}</div>'
    svg = (
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{key}"><path d="{path}" fill="none" stroke="#2f6fdf" '
        'stroke-width="1.5"/></svg>'
    )
    return f'<div class="ry-chart">{head}{svg}</div>'


def snapshot_html(state: dict[str, Any]) -> str:
    """The snapshot of one widget state, as a self-contained HTML fragment."""
    run = state["run"]
    title = escape(f"{run['display_name']} (run {run['number']})")
    status = escape(str(run["status"]))
    error = f'<div class="ry-error">{escape(run["error"])}</div>' if run["error"] else ""
    charts = "".join(_chart(c) for c in state["metrics"]) or "<p>No metrics logged.</p>"
    log = escape(state["log"]) if state["log"] else "(no driver log)"
    sweep = sweep_snapshot_html(state["sweep"]) if state.get("sweep") else ""
    return (
        '<div class="runyard-run-details runyard-snapshot" '
        'style="font-family:sans-serif;font-size:13px">'
        f'<div><b>{title}</b> &mdash; status <span class="ry-status">{status}</span> '
        f"<small>(snapshot; run id {escape(run['run_id'])})</small></div>{error}{sweep}"
        f'<div style="display:flex;flex-wrap:wrap;gap:12px">{charts}</div>'
        "<details open><summary>Driver log (tail)</summary>"
        f'<pre style="max-height:200px;overflow:auto">{log}</pre></details></div>'
    )
