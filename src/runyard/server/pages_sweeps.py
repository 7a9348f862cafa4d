"""The studio's sweep page (``/sweeps/RUN_ID``): the trials sorted by the primary metric
with their parameters and why each ended, every trial's primary metric on one chart
(stopped trials marked where they were stopped), parallel coordinates of parameters to
the metric and a one-parameter-at-a-time importance. The charts are SVG drawn by
:mod:`runyard.sweeps.plots`, the same as in the notebook widget; while the sweep runs
``static/sweep.js`` re-reads ``/api/sweeps/RUN_ID/view`` when its trials change."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse

from runyard.errors import ValidationError
from runyard.server.deps import StoreDep
from runyard.server.pages import render
from runyard.store.base import Store
from runyard.sweeps.plots import curves_svg, parallel_svg
from runyard.sweeps.view import change_key, is_sweep, sweep_view
from runyard.wire import encode_any

router = APIRouter(include_in_schema=False)

# How long a view request waits for the sweep to change before answering unchanged
# (a long poll: one cheap counter read per tick, the view read only when it moved).
WAIT_S = 20.0
TICK_S = 0.25


def _view(store: Store, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    if not is_sweep(run):
        raise ValidationError(
            f"run {run_id} is not a sweep (no sweep in its definition); open /runs/{run_id}"
        )
    view = sweep_view(store, run_id)
    return {
        "view": view,
        "curves_svg": curves_svg(view),
        "parallel_svg": parallel_svg(view),
        "change_key": list(change_key(store, run_id)),
    }


@router.get("/sweeps/{run_id}", response_class=HTMLResponse)
def sweep_page(request: Request, store: StoreDep, run_id: str) -> HTMLResponse:
    data = _view(store, run_id)
    view = data["view"]
    experiment = store.get_experiment(view["sweep"]["experiment_id"])
    return render(
        request,
        "sweep.html",
        experiment=experiment,
        view=view,
        curves_svg=data["curves_svg"],
        parallel_svg=data["parallel_svg"],
        client_data={"run_id": run_id, "change_key": data["change_key"]},
    )


@router.get("/api/sweeps/{run_id}/view")
async def sweep_view_api(
    request: Request, store: StoreDep, run_id: str, after: str = "", wait: float = 0.0
) -> JSONResponse:
    """The sweep's view; with ``after`` (the ``change_key`` last seen, comma-separated)
    and ``wait`` seconds, answers once it differs or the wait is over."""
    seen = [int(p) for p in after.split(",") if p.strip().lstrip("-").isdigit()]
    deadline = asyncio.get_running_loop().time() + min(max(wait, 0.0), WAIT_S)
    while seen and asyncio.get_running_loop().time() < deadline:
        if await request.is_disconnected():
            break  # the page went away: end the wait (and let a server stop quickly)
        key = await asyncio.to_thread(change_key, store, run_id)
        if list(key) != seen:
            break
        await asyncio.sleep(TICK_S)
    data = await asyncio.to_thread(_view, store, run_id)
    # The table and importance parts come rendered by the page's own (autoescaping)
    # template, so the page and its updates cannot drift apart.
    parts = render(request, "_sweep_parts.html", part="all", view=data["view"])
    data["parts_html"] = bytes(parts.body).decode()
    return JSONResponse(encode_any(data))
