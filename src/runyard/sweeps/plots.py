"""A sweep's two charts as inline SVG, drawn from :func:`runyard.sweeps.view.sweep_view`:
every trial's primary metric on one chart (a stopped trial ends in a red cross where the
policy stopped it), and parallel coordinates of the parameters to the metric.

One renderer for the studio's sweep page, the notebook widget and its static snapshot.
Every string from a run is escaped here; each line carries a ``<title>`` (the hover
text) and ``data-run`` for the page's script. No script in the SVG."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

W, H = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 28
COLORS = {
    "completed": "#2f6fdf",
    "stopped by policy": "#d08a1e",
    "failed": "#c0392b",
    "canceled": "#8a8a8a",
    "no metric": "#8a8a8a",
    "running": "#2a9d5c",
}


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi == lo:
        return [lo]
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def _svg(kind: str, body: str, label: str) -> str:
    return (
        f'<svg class="sweep-{kind}" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'role="img" aria-label="{escape(label)}" style="max-width:100%;height:auto">'
        f'<rect width="{W}" height="{H}" fill="none"/>{body}</svg>'
    )


def _empty(kind: str, text: str) -> str:
    body = f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" fill="#888">{escape(text)}</text>'
    return _svg(kind, body, text)


def curves_svg(view: Mapping[str, Any]) -> str:
    """Every trial's primary metric against its step; stopped trials marked."""
    curves: Sequence[Mapping[str, Any]] = view["curves"]
    metric = str(view["metric"])
    points = [
        (s, v)
        for c in curves
        for s, v in zip(c["steps"], c["values"], strict=False)
        if v is not None
    ]
    if not points:
        return _empty("curves", f"no trial has logged {metric} yet")
    x0, x1 = float(min(p[0] for p in points)), float(max(p[0] for p in points))
    y0, y1 = float(min(p[1] for p in points)), float(max(p[1] for p in points))
    xs, ys = (x1 - x0) or 1, (y1 - y0) or 1

    def px(step: float) -> float:
        return LEFT + (step - x0) / xs * (W - LEFT - RIGHT)

    def py(value: float) -> float:
        return H - BOTTOM - (value - y0) / ys * (H - TOP - BOTTOM)

    outcomes = {r["run_id"]: r["outcome"] for r in view["rows"]}
    best = view["rows"][0]["run_id"] if view["rows"] else ""
    parts = [_axes(x0, x1, y0, y1, px, py, metric)]
    for curve in curves:
        run_id = str(curve["run_id"])
        status = outcomes.get(run_id, "")
        d, down = [], False
        for step, value in zip(curve["steps"], curve["values"], strict=False):
            if value is None:
                down = False
                continue
            d.append(f"{'L' if down else 'M'}{px(step):.1f},{py(value):.1f}")
            down = True
        if not d:
            continue
        width = 2.5 if run_id == best else 1.3
        title = escape(f"trial {curve['trial']} ({run_id}): {status}")
        parts.append(
            f'<path d="{" ".join(d)}" fill="none" stroke="{COLORS.get(status, "#2a9d5c")}" '
            f'stroke-width="{width}" stroke-opacity="0.85" data-run="{escape(run_id)}" '
            f'data-outcome="{escape(status)}"><title>{title}</title></path>'
        )
        stop = curve.get("stopped_at")
        if stop and stop.get("value") is not None:
            cx, cy = px(stop["step"]), py(stop["value"])
            parts.append(
                f'<path class="stop-mark" d="M{cx - 4:.1f},{cy - 4:.1f}L{cx + 4:.1f},{cy + 4:.1f}'
                f'M{cx - 4:.1f},{cy + 4:.1f}L{cx + 4:.1f},{cy - 4:.1f}" stroke="#c0392b" '
                f'stroke-width="2" data-run="{escape(run_id)}"><title>{title} at step '
                f"{escape(str(stop['step']))}</title></path>"
            )
    return _svg("curves", "".join(parts), f"{metric} of every trial")


def _axes(x0: float, x1: float, y0: float, y1: float, px: Any, py: Any, metric: str) -> str:
    out = [
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#999"/>',
    ]
    for t in _ticks(y0, y1):
        out.append(
            f'<text x="{LEFT - 4}" y="{py(t) + 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="currentColor">{_fmt(t)}</text>'
        )
    for t in _ticks(x0, x1):
        out.append(
            f'<text x="{px(t):.1f}" y="{H - BOTTOM + 14}" text-anchor="middle" font-size="10" '
            f'fill="currentColor">{_fmt(t)}</text>'
        )
    out.append(
        f'<text x="{W - RIGHT}" y="{H - 2}" text-anchor="end" font-size="10" '
        f'fill="currentColor">step &#8594; ({escape(metric)})</text>'
    )
    return "".join(out)


class _Axis:
    """One vertical axis: numeric (linear, or log when every value is > 0 and they span
    more than 100x) or categorical (values evenly spaced, in first-seen order)."""

    def __init__(self, name: str, values: Sequence[Any]) -> None:
        self.name = name
        present = [v for v in values if v is not None]
        self.numeric = bool(present) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in present
        )
        self.log = False
        self.categories: list[str] = []
        if self.numeric:
            nums = [float(v) for v in present]
            self.lo, self.hi = min(nums), max(nums)
            self.log = self.lo > 0 and self.hi / self.lo > 100
        else:
            self.categories = list(dict.fromkeys(repr(v) for v in present))
            self.lo, self.hi = 0.0, float(max(1, len(self.categories) - 1))

    def _t(self, x: float) -> float:
        return math.log10(x) if self.log else x

    def frac(self, value: Any) -> float | None:
        """Where ``value`` sits on the axis, 0 (bottom) to 1 (top)."""
        if value is None:
            return None
        if not self.numeric:
            if len(self.categories) == 1:
                return 0.5
            return self.categories.index(repr(value)) / (len(self.categories) - 1)
        span = self._t(self.hi) - self._t(self.lo)
        return 0.5 if span == 0 else (self._t(float(value)) - self._t(self.lo)) / span

    def labels(self) -> list[tuple[float, str]]:
        if not self.numeric:
            n = len(self.categories)
            return [(i / (n - 1) if n > 1 else 0.5, c) for i, c in enumerate(self.categories)]
        if self.hi == self.lo:
            return [(0.5, _fmt(self.lo))]
        return [(0.0, _fmt(self.lo)), (1.0, _fmt(self.hi))]


def parallel_svg(view: Mapping[str, Any]) -> str:
    """One line per trial through its parameter values to its best primary metric,
    coloured from worst (light) to best (dark blue); stopped trials dashed."""
    metric = str(view["metric"])
    rows = [r for r in view["rows"] if r["best_primary_metric"] is not None]
    names = list(view["parameters"])
    if not rows:
        return _empty("parallel", f"no trial has logged {metric} yet")
    axes = [_Axis(n, [r["hyperparameters"].get(n) for r in rows]) for n in names]
    axes.append(_Axis(metric, [r["best_primary_metric"] for r in rows]))
    step = (W - LEFT - RIGHT) / max(1, len(axes) - 1)
    xs = [LEFT + i * step for i in range(len(axes))] if len(axes) > 1 else [W / 2]
    top, bottom = TOP + 14, H - BOTTOM

    def y(frac: float) -> float:
        return bottom - frac * (bottom - top)

    parts = []
    for x, axis in zip(xs, axes, strict=True):
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#999"/>')
        anchor = "start" if x == xs[0] else ("end" if x == xs[-1] else "middle")
        parts.append(
            f'<text x="{x:.1f}" y="{TOP + 4}" text-anchor="{anchor}" font-size="11" '
            f'font-weight="bold" fill="currentColor">{escape(axis.name)}'
            f"{' (log)' if axis.log else ''}</text>"
        )
        for frac, label in axis.labels():
            parts.append(
                f'<text x="{x + 3:.1f}" y="{y(frac) + 4:.1f}" font-size="10" '
                f'fill="currentColor">{escape(label)}</text>'
            )
    metric_axis = axes[-1]
    maximize = view["goal"] == "maximize"
    for row in reversed(rows):  # best drawn last, on top
        good = metric_axis.frac(row["best_primary_metric"]) or 0.0
        good = good if maximize else 1 - good
        values = [row["hyperparameters"].get(n) for n in names] + [row["best_primary_metric"]]
        pts = [
            (x, y(f))
            for x, axis, v in zip(xs, axes, values, strict=True)
            if (f := axis.frac(v)) is not None
        ]
        d = "".join(f"{'L' if i else 'M'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(pts))
        light = int(200 - 160 * good)
        dash = ' stroke-dasharray="4 3"' if row["outcome"] == "stopped by policy" else ""
        title = escape(
            f"trial {row['trial']} ({row['run_id']}): {metric} {_fmt(row['best_primary_metric'])}"
            f", {row['outcome']}"
        )
        parts.append(
            f'<path d="{d}" fill="none" stroke="rgb({light},{light + 20},255)" '
            f'stroke-width="1.6"{dash} data-run="{escape(str(row["run_id"]))}">'
            f"<title>{title}</title></path>"
        )
    return _svg("parallel", "".join(parts), f"parameters to {metric}")
