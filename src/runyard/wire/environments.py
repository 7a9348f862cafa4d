"""Registered environments on the wire (specs are JSON with non-finite floats tagged)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runyard.entities import EnvironmentRecord
from runyard.wire.base import Answer, Body
from runyard.wire.values import decode_any, encode_any

__all__ = [
    "EnvironmentIn",
    "EnvironmentOut",
    "EnvironmentsOut",
]


class EnvironmentIn(Body):
    """``POST /api/environments``."""

    name: str
    spec: dict[str, Any]
    spec_hash: str

    @classmethod
    def of(cls, name: str, spec: Mapping[str, Any], spec_hash: str) -> EnvironmentIn:
        return cls(name=name, spec=encode_any(dict(spec)), spec_hash=spec_hash)

    def decoded_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = decode_any(self.spec)
        return spec


class EnvironmentOut(Answer):
    name: str
    version: int
    spec: dict[str, Any]
    spec_hash: str
    created_at: float

    @classmethod
    def of(cls, env: EnvironmentRecord) -> EnvironmentOut:
        return cls(
            name=env.name,
            version=env.version,
            spec=encode_any(env.spec),
            spec_hash=env.spec_hash,
            created_at=env.created_at,
        )

    def to_entity(self) -> EnvironmentRecord:
        return EnvironmentRecord(
            name=self.name,
            version=self.version,
            spec=decode_any(self.spec),
            spec_hash=self.spec_hash,
            created_at=self.created_at,
        )


class EnvironmentsOut(Answer):
    """``GET /api/environments``."""

    environments: list[EnvironmentOut]

    @classmethod
    def of(cls, envs: Sequence[EnvironmentRecord]) -> EnvironmentsOut:
        return cls(environments=[EnvironmentOut.of(e) for e in envs])
