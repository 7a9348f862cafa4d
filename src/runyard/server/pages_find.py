"""``GET /go?q=...``: the search box of the error pages. A run id opens that run, an
experiment name (or id) its runs; anything else is a 404 page saying what was tried."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import RedirectResponse

from runyard.errors import ExperimentNotFoundError, RunNotFoundError, ValidationError
from runyard.server.deps import StoreDep

router = APIRouter(include_in_schema=False)


@router.get("/go")
def find(store: StoreDep, q: str = "") -> RedirectResponse:
    """Redirects to the run or experiment ``q`` names."""
    text = q.strip()
    if not text:
        raise ValidationError("type a run id or an experiment name to search for")
    with contextlib.suppress(RunNotFoundError):
        run = store.get_run(text)
        return RedirectResponse(f"/runs/{quote(run.run_id, safe='')}", status_code=303)
    experiment = store.get_experiment_by_name(text)
    if experiment is None:
        with contextlib.suppress(ExperimentNotFoundError):
            experiment = store.get_experiment(text)
    if experiment is None:
        raise RunNotFoundError(
            f"no run has the id {text!r} and no experiment is called {text!r}; the "
            "experiments list shows every experiment"
        )
    return RedirectResponse(
        f"/experiments/{quote(experiment.experiment_id, safe='')}", status_code=303
    )
