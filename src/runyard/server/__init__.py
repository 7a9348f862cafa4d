"""The studio: a REST API under ``/api/`` and web pages over one :class:`Store`.

``create_app`` builds the ASGI application; ``serve`` runs it with uvicorn. Importing
this package is cheap: FastAPI and Jinja2 load only when an app is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from runyard.server.binding import check_bind, is_loopback_host, serve

if TYPE_CHECKING:
    from fastapi import FastAPI

    from runyard.store.base import Store

__all__ = ["check_bind", "create_app", "is_loopback_host", "serve"]


def create_app(
    store: Store,
    *,
    token: str,
    require_token_for_reads: bool = False,
    workspace_name: str = "",
    rerun: Callable[[str], str] | None = None,
) -> FastAPI:
    """The studio application over ``store``.

    Writes (any method but GET/HEAD/OPTIONS) always need ``Authorization: Bearer
    <token>``. Reads are open to loopback clients unless ``require_token_for_reads``;
    a browser may pass ``?token=`` once, which sets an HttpOnly cookie. ``rerun``
    (run id -> new run id) serves ``POST /api/runs/{id}/rerun``; the server cannot
    submit runs itself (``runyard studio`` passes one over its workspace).
    """
    from runyard.server.app import build_app

    return build_app(
        store,
        token=token,
        require_token_for_reads=require_token_for_reads,
        workspace_name=workspace_name,
        rerun=rerun,
    )
