"""The transport under :class:`runyard.remote.HttpStore`: one keep-alive httpx client,
retries with exponential back-off, and the server's errors mapped back to ours through
the error table of :mod:`runyard.wire.errors`.

Retry rules. A request that certainly never reached the server (the connection was
refused or timed out) and a 503 (the server's store failed, so its transaction rolled
back) are retried for every call. A request that may have reached the server before the
connection broke is retried only when the caller says repeating it is harmless
(``idempotent=True``); otherwise it raises :class:`AmbiguousRequestError`, and the
caller decides (``append_metrics`` re-reads the journal offset, for instance).
Retrying stops after ``retry_for`` seconds in all.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from runyard.errors import RunyardError, StoreError
from runyard.store import settle
from runyard.wire import ErrorOut, exception_for

DEFAULT_RETRY_FOR_S = 60.0
_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 2.0

# Not sent at all: safe to repeat whatever the request was.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class AmbiguousRequestError(StoreError):
    """The connection broke after a non-idempotent request may have been processed."""


def error_from_response(resp: httpx.Response) -> RunyardError:
    """Our error for a server's error answer, keeping its message."""
    try:
        detail = ErrorOut.model_validate_json(resp.content).error
        code, message = detail.type, detail.message
    except ValueError:  # not our error shape: a proxy's page, say
        code, message = "", resp.text[:500] or resp.reason_phrase
    exc = exception_for(code, message)
    if type(exc) is StoreError and resp.status_code == 500:
        exc = StoreError(f"the Runyard server failed ({message})")
    return exc


# -- transport ----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes


class HttpClient:
    """A keep-alive client for one Runyard server, with the retry rules above."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        timeout: float = 60.0,
        retry_for: float = DEFAULT_RETRY_FOR_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry_for = retry_for
        headers = {"User-Agent": "runyard-httpstore"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        model: BaseModel | None = None,
        content: bytes | Callable[[], Iterator[bytes]] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool,
        retry_for: float | None = None,
        save_to: Path | None = None,
    ) -> Answer:
        """Sends a request to ``/api`` + ``path`` (with ``model`` as its JSON body, or
        the raw bytes of ``content``); returns a 2xx answer or raises the server's error
        as ours (StoreError when the server stays unreachable).

        ``content`` may be a function returning a fresh iterator of chunks (a file
        streamed from disk, started again on a retry); with ``save_to`` the answer's
        body is streamed into that file instead of memory."""
        settle.wait()  # the runs this thread ended in the background land first
        budget = self.retry_for if retry_for is None else retry_for
        deadline = time.monotonic() + budget
        data = content
        headers: dict[str, str] = {}
        if model is not None:
            data = model.model_dump_json().encode()
            headers["Content-Type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        backoff = _FIRST_BACKOFF_S
        attempts = 0
        while True:
            attempts += 1
            problem: str
            try:
                body = data() if callable(data) else data
                request = self._client.build_request(
                    method, "/api" + path, content=body, params=query, headers=headers
                )
                resp = self._client.send(request, stream=True)
                try:
                    if resp.status_code < 300 and save_to is not None:
                        _save(resp, save_to)
                        return Answer(resp.status_code, b"")
                    resp.read()
                finally:
                    resp.close()
            except _NOT_SENT as exc:
                problem = f"cannot connect: {exc or type(exc).__name__}"
            except httpx.TransportError as exc:
                problem = f"the connection broke: {exc or type(exc).__name__}"
                if not idempotent:
                    raise AmbiguousRequestError(
                        f"{method} {path} to {self.base_url}: {problem}; it may or may not "
                        "have been applied"
                    ) from None
            else:
                if resp.status_code < 300:
                    return Answer(resp.status_code, resp.content)
                if resp.status_code != 503:
                    raise error_from_response(resp)
                problem = f"the server is unavailable: {error_from_response(resp)}"
            wait = min(backoff, deadline - time.monotonic())
            if wait <= 0:
                raise StoreError(
                    f"{method} {path}: the Runyard server at {self.base_url} did not answer "
                    f"for {budget:g} s ({attempts} attempts; last: {problem}). Is "
                    "`runyard studio` running there, and reachable from this machine?"
                )
            time.sleep(wait * (0.75 + random.random() / 2))
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def close(self) -> None:
        settle.wait_all()  # a run finishing in the background still sends here
        self._client.close()


def _save(resp: httpx.Response, target: Path) -> None:
    """Streams a body into ``target`` atomically (a broken download leaves nothing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{time.monotonic_ns()}.part")
    try:
        with open(tmp, "wb") as out:
            for chunk in resp.iter_bytes(1 << 20):
                out.write(chunk)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
