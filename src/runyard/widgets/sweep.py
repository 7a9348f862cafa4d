"""The widget's sweep view: for a sweep's parent run, ``RunDetails(hd_run).show()``
adds the trials table (best primary metric first, with parameters and why each ended),
every trial's primary metric on one chart and parallel coordinates of parameters to the
metric: the studio's sweep page in a notebook cell (the same view and SVG charts,
:mod:`runyard.sweeps.view` and :mod:`runyard.sweeps.plots`)."""

from __future__ import annotations

from html import escape
from typing import Any

from runyard.entities import RunInfo
from runyard.store.base import Store
from runyard.sweeps.plots import curves_svg, parallel_svg
from runyard.sweeps.view import change_key, is_sweep, sweep_view

# Rows sent to the widget (a notebook cell is no place for a 1,000-trial table; the
# studio's page shows them all).
MAX_ROWS = 50


def sweep_state(store: Store, info: RunInfo) -> dict[str, Any] | None:
    """The sweep part of the widget state, or None when ``info`` is not a sweep."""
    if not is_sweep(info):
        return None
    view = sweep_view(store, info.run_id)
    rows = [
        {
            "run_id": r["run_id"],
            "trial": r["trial"],
            "outcome": r["outcome"],
            "metric": r["best_primary_metric"],
            "intervals": r["intervals"],
            "parameters": {k: r["hyperparameters"].get(k) for k in view["parameters"]},
            "end_reason": r["end_reason"],
        }
        for r in view["rows"][:MAX_ROWS]
    ]
    return {
        "metric": view["metric"],
        "goal": view["goal"],
        "parameters": view["parameters"],
        "planned": view["sweep"]["planned"],
        "total": len(view["rows"]),
        "ended_because": view["sweep"]["ended_because"],
        "rows": rows,
        "curves_svg": curves_svg(view),
        "parallel_svg": parallel_svg(view),
    }


def sweep_key(store: Store, info: RunInfo) -> tuple[int, ...]:
    """What the watch compares for a sweep: its and its trials' change counters."""
    return change_key(store, info.run_id) if is_sweep(info) else (info.change_seq,)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return escape(f"{value:.6g}" if isinstance(value, float) else str(value))


def sweep_snapshot_html(sweep: dict[str, Any]) -> str:
    """The sweep view as static HTML (the SVGs are the plots module's, escaped there)."""
    metric = escape(str(sweep["metric"]))
    head = "".join(f"<th>{escape(str(p))}</th>" for p in sweep["parameters"])
    rows = []
    for r in sweep["rows"]:
        params = "".join(f"<td>{_cell(r['parameters'].get(p))}</td>" for p in sweep["parameters"])
        value = "never logged" if r["outcome"] == "no metric" else _cell(r["metric"])
        rows.append(
            f'<tr data-run="{escape(r["run_id"])}"><td>{int(r["trial"])}</td>'
            f"<td>{escape(r['outcome'])}</td><td>{value}</td>{params}"
            f"<td>{escape(r['end_reason'])}</td></tr>"
        )
    ended = sweep["ended_because"]
    return (
        f'<div class="ry-sweep"><div><b>{int(sweep["total"])}/{int(sweep["planned"])} trials'
        f"</b> &middot; {escape(sweep['goal'])} {metric}"
        f"{' &middot; ended because: ' + escape(ended) if ended else ''}</div>"
        f'<div style="display:flex;flex-wrap:wrap;gap:12px">{sweep["curves_svg"]}'
        f"{sweep['parallel_svg']}</div>"
        f'<table class="ry-trials"><thead><tr><th>trial</th><th>outcome</th><th>{metric}</th>'
        f"{head}<th>why it ended</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
