"""The one place where errors become HTTP answers, by the error table of
:mod:`runyard.wire.errors` (which the HTTP client reads back with).

API responses carry ``{"error": {"type": "RunNotFoundError", "message": "..."}}``;
pages get a small HTML page with the same message. A traceback never reaches a client:
anything unexpected is logged here and answered with a generic 500.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response

from runyard.errors import RunyardError
from runyard.wire import ErrorOut, code_for_status, kind_of

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("runyard.server")

GENERIC_500 = "internal server error; the studio's log has the details"


def wants_html(path: str) -> bool:
    return not (path.startswith("/api/") or path == "/api" or path.startswith("/static/"))


def error_response(path: str, status: int, kind: str, message: str) -> Response:
    """An error answer: JSON under ``/api/``, a plain HTML page elsewhere."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if wants_html(path):
        from runyard.server.error_pages import render_error_page

        body = render_error_page(status, kind, message, path)
        return HTMLResponse(body, status_code=status, headers=headers)
    body = ErrorOut.of(kind, message).model_dump_json()
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def response_for(path: str, exc: RunyardError) -> Response:
    kind = kind_of(exc)
    return error_response(path, kind.status, kind.code, str(exc))


def _describe_validation(errors: Any) -> str:
    parts = []
    for err in list(errors)[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc) if loc else "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _runyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RunyardError)
    return response_for(request.url.path, exc)


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    from fastapi.exceptions import RequestValidationError

    assert isinstance(exc, RequestValidationError)
    return error_response(
        request.url.path, 400, "ValidationError", _describe_validation(exc.errors())
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    kind = code_for_status(status)
    message = exc.detail if isinstance(exc.detail, str) else kind
    if status == 404 and message == "Not Found":
        message = f"no such page or endpoint: {request.url.path}"
    return error_response(request.url.path, status, kind, message)


def install(app: FastAPI) -> None:
    """Registers the handlers and the catch-all on ``app``."""
    from fastapi.exceptions import RequestValidationError

    app.add_exception_handler(RunyardError, _runyard_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


class CatchAllMiddleware:
    """Turns any unexpected exception into a generic 500 and logs its traceback.

    Starlette's own last-resort handler re-raises after answering; this one does not,
    so the traceback is logged once, here, and nothing of it leaves the server.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            return  # the client left mid-request: nobody to answer, nothing to log
        except Exception as exc:  # the catch-all: the client must never see this
            path = scope.get("path", "")
            if isinstance(exc, RunyardError) and not started:
                await response_for(path, exc)(scope, receive, send)
                return
            logger.exception("unhandled error serving %s %s", scope.get("method"), path)
            if not started:
                response = error_response(path, 500, "InternalServerError", GENERIC_500)
                await response(scope, receive, send)
