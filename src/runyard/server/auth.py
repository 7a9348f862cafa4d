"""Access control and browser hardening, as one ASGI middleware.

The model (see docs/studio.md):

- Writes (any method but GET/HEAD/OPTIONS) always need ``Authorization: Bearer <token>``.
  A cookie is never enough for a write, so a page on another site cannot make the
  browser write on the user's behalf.
- Reads need the token (header, cookie, or ``?token=``) when ``require_token_for_reads``
  is set, which ``serve`` does for any non-loopback bind. Otherwise reads are open, but
  only to requests addressed to a loopback name (``Host: localhost`` / ``127.0.0.1``),
  which defeats DNS rebinding.
- ``?token=`` on a page sets an HttpOnly, SameSite=Strict cookie and redirects to the
  same URL without the token, so it does not linger in the address bar or history.
- Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import MutableHeaders
from starlette.responses import RedirectResponse, Response

from runyard.errors import AuthError
from runyard.server.binding import is_loopback_host
from runyard.server.errors import response_for, wants_html

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "runyard_token"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Scripts, styles and images come from the studio itself only; no inline script runs,
# so even a string that slipped past escaping could not execute.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class TokenAuthMiddleware:
    """Checks the access token per the module's rules and adds security headers."""

    def __init__(self, app: ASGIApp, *, token: str, require_token_for_reads: bool) -> None:
        if not token:
            raise ValueError("the studio needs a non-empty access token")
        self.app = app
        self._token = token.encode()
        self._require_for_reads = require_token_for_reads

    def _valid(self, candidate: str | None) -> bool:
        if candidate is None:
            return False
        return hmac.compare_digest(candidate.encode(), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = _headers(scope)
        send = _with_security_headers(send)
        if path.startswith("/static/"):
            # Our own JS/CSS and vendored uPlot: nothing secret, and pages need them
            # to render even the "token needed" page.
            await self.app(scope, receive, send)
            return

        auth = headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        query_token = next((v for k, v in query if k == "token"), None)
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is as good as none
            cookie = SimpleCookie()
        cookie_token = cookie[COOKIE_NAME].value if COOKIE_NAME in cookie else None

        def refuse(message: str) -> Response:
            return response_for(path, AuthError(message))

        if scope["method"] not in READ_METHODS:
            if not self._valid(bearer):
                what = "a wrong" if bearer else "no"
                await refuse(
                    f"this write carried {what} access token; send the studio's token as "
                    "'Authorization: Bearer <token>' (it is printed when the studio starts)"
                )(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return

        for given, where in ((bearer, "Authorization header"), (query_token, "?token=")):
            if given is not None and not self._valid(given):
                await refuse(f"the access token in the {where} is wrong")(scope, receive, send)
                return
        authed = self._valid(bearer) or self._valid(query_token) or self._valid(cookie_token)
        if not authed:
            if self._require_for_reads:
                await refuse(
                    "this studio needs its access token: open the URL it printed at start "
                    "(ending in ?token=...) or send 'Authorization: Bearer <token>'"
                )(scope, receive, send)
                return
            host = _host_name(headers.get("host", "localhost"))
            if not is_loopback_host(host):
                await refuse(
                    f"reads without the access token are answered only at localhost or "
                    f"127.0.0.1, not at {host!r}; use a loopback address or pass ?token="
                )(scope, receive, send)
                return

        if authed:
            # A request that showed the token may learn it back (GET /api/session), so
            # the studio's own pages can send it with their writes.
            scope.setdefault("state", {})["write_token"] = self._token.decode()
        if self._valid(query_token) and cookie_token != query_token:
            secure = "; Secure" if scope.get("scheme") == "https" else ""
            set_cookie = f"{COOKIE_NAME}={query_token}; HttpOnly; SameSite=Strict; Path=/{secure}"
            if wants_html(path) and scope["method"] == "GET":
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                redirect = RedirectResponse(path + (f"?{rest}" if rest else ""), 303)
                redirect.headers.append("set-cookie", set_cookie)
                await redirect(scope, receive, send)
                return
            send = _with_header(send, "set-cookie", set_cookie)
        await self.app(scope, receive, send)


def _with_header(send: Send, name: str, value: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).append(name, value)
        await send(message)

    return wrapped


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.setdefault("x-content-type-options", "nosniff")
            headers.setdefault("x-frame-options", "DENY")
            headers.setdefault("referrer-policy", "no-referrer")
            headers.setdefault("content-security-policy", PAGE_CSP)
        await send(message)

    return wrapped
