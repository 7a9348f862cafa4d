"""What every group of HttpStore calls shares: a body model out, an answer model in."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from runyard.remote.client import HttpClient

M = TypeVar("M", bound=BaseModel)


def path_part(text: str) -> str:
    """A path parameter, escaped (``/`` kept, for file paths and metric names)."""
    return quote(text, safe="/")


class WireCalls:
    """Requests whose bodies and answers are :mod:`runyard.wire` models."""

    _http: HttpClient

    def _get(self, answer: type[M], path: str, **params: Any) -> M:
        body = self._http.request("GET", path, params=params, idempotent=True).body
        return answer.model_validate_json(body)

    def _send(
        self,
        method: str,
        path: str,
        body: BaseModel | None,
        answer: type[M],
        *,
        idempotent: bool = True,
    ) -> M:
        """``idempotent``: whether repeating the request after a broken connection is
        harmless (see :mod:`runyard.remote.client`)."""
        reply = self._http.request(method, path, model=body, idempotent=idempotent)
        return answer.model_validate_json(reply.body)

    def _send_only(
        self, method: str, path: str, body: BaseModel | None, *, idempotent: bool = True
    ) -> None:
        self._http.request(method, path, model=body, idempotent=idempotent)
