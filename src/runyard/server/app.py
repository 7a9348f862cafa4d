"""Wires the studio together: routers, static files, error handling, access control."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from runyard.server import (
    api_assets,
    api_files,
    api_read,
    api_snapshots,
    api_write,
    errors,
    pages,
    streams,
)
from runyard.server.auth import TokenAuthMiddleware
from runyard.store.base import Store

STATIC = Path(__file__).parent / "static"


def build_app(
    store: Store,
    *,
    token: str,
    require_token_for_reads: bool = False,
    workspace_name: str = "",
) -> FastAPI:
    """See :func:`runyard.server.create_app`."""
    app = FastAPI(
        title="Runyard studio",
        summary="Experiments, runs, metrics and files of one Runyard workspace.",
        version="1",
        openapi_url="/api/openapi.json",
        # The interactive docs pages load their scripts from a CDN; the studio loads
        # nothing from outside, so only the schema is served.
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.workspace_name = workspace_name
    errors.install(app)
    app.include_router(streams.router)
    app.include_router(api_files.router)
    app.include_router(api_snapshots.router)
    app.include_router(api_read.router)
    app.include_router(api_write.router)
    app.include_router(api_assets.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Added last = outermost: the catch-all sees everything, auth runs inside it.
    app.add_middleware(
        TokenAuthMiddleware, token=token, require_token_for_reads=require_token_for_reads
    )
    app.add_middleware(errors.CatchAllMiddleware)
    return app
