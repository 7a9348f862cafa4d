"""``GET /api/session``: what the studio's pages need to act. The access token comes
back only to a request that carried it (the HttpOnly cookie ``?token=`` set, or the
header), so a page opened without the token can read but not write, and a page on
another site cannot read the answer at all (no CORS, SameSite=Strict cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

router = APIRouter(prefix="/api", include_in_schema=False)


@router.get("/session")
def session(request: Request) -> JSONResponse:
    """``{"write_token": "..."}``, or null when this request showed no token."""
    token = getattr(request.state, "write_token", None)
    return JSONResponse({"write_token": token}, headers={"Cache-Control": "no-store"})
