"""The two kinds of wire model: a request body refuses fields it does not know (a typo
is a 400, not a silent default); an answer ignores them, so an older client can read a
newer server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    """A request body."""

    model_config = ConfigDict(extra="forbid")


class Answer(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="ignore")
