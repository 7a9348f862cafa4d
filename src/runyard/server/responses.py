"""The API's one JSON answer: a :mod:`runyard.wire` model, serialised by pydantic.

Routes return ``answer(model)`` (and declare ``response_model=`` for the OpenAPI
schema), so FastAPI does not validate and serialise the answer a second time."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response


class WireJSON(JSONResponse):
    """Compact JSON of a wire model (its values are encoded already: no NaN in it).
    A JSONResponse, so that FastAPI puts the route's response model in the schema."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if not isinstance(content, BaseModel):
            raise TypeError(f"the API answers wire models, not {type(content).__name__}")
        return content.model_dump_json().encode("utf-8")


def answer(model: BaseModel, status_code: int = 200) -> WireJSON:
    return WireJSON(model, status_code=status_code)


def no_content() -> Response:
    return Response(status_code=204)
