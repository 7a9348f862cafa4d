"""Wires the studio together: routers, static files, error handling, access control."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.server import (
    api_assets,
    api_files,
    api_read,
    api_session,
    api_snapshots,
    api_write,
    errors,
    pages,
    pages_assets,
    pages_find,
    pages_sweeps,
    streams,
)
from runyard.server.auth import TokenAuthMiddleware
from runyard.store.base import Store

STATIC = Path(__file__).parent / "static"

# JSON bodies are parsed whole in memory, so they are capped (docs/limits.md); file and
# blob uploads stream and keep their own per-route limits.
MAX_JSON_BODY = 64 * 1024 * 1024


def _too_large(limit: int) -> str:
    return (
        f"a JSON request body is limited to {limit} bytes ({limit // (1024 * 1024)} MiB) "
        "by the studio; send smaller batches"
    )


class BodyLimitMiddleware:
    """Answers 413 to a JSON body over ``limit`` bytes, before it is read into memory:
    at once from its Content-Length, else as soon as the streamed bytes pass it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_JSON_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        if b"json" not in headers.get(b"content-type", b"").lower():
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            answer = errors.error_response(
                scope.get("path", ""), 413, "RequestTooLarge", _too_large(self.limit)
            )
            await answer(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, detail=_too_large(self.limit))
            return message

        await self.app(scope, limited, send)


def build_app(
    store: Store,
    *,
    token: str,
    require_token_for_reads: bool = False,
    workspace_name: str = "",
    rerun: Callable[[str], str] | None = None,
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
    app.state.rerun = rerun
    errors.install(app)
    app.include_router(streams.router)
    app.include_router(api_files.router)
    app.include_router(api_snapshots.router)
    app.include_router(api_read.router)
    app.include_router(api_session.router)
    app.include_router(api_write.router)
    app.include_router(api_assets.router)
    app.include_router(pages.router)
    app.include_router(pages_find.router)
    app.include_router(pages_sweeps.router)
    app.include_router(pages_assets.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Added last = outermost: the catch-all sees everything, auth runs inside it.
    app.add_middleware(
        TokenAuthMiddleware, token=token, require_token_for_reads=require_token_for_reads
    )
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(errors.CatchAllMiddleware)
    return app
