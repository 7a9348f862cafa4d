"""Storage: metadata and metrics behind one interface chosen by URI, and run files."""

from __future__ import annotations

from pathlib import Path

from runyard.errors import ConfigError
from runyard.store.artifacts import ArtifactRepository, LocalArtifactRepository
from runyard.store.base import Store

__all__ = ["ArtifactRepository", "LocalArtifactRepository", "Store", "open_store"]


def open_store(uri: str, artifact_root: Path | None = None, token: str | None = None) -> Store:
    """Opens the store named by ``uri``: ``sqlite:///...``, ``postgresql://...``, or
    ``http(s)://...`` (a Runyard server). SQL stores keep run files under
    ``artifact_root``; an HTTP store keeps them on the server."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("sqlite", "postgresql", "postgres"):
        if artifact_root is None:
            raise ConfigError(f"opening {uri!r} needs an artifact root folder for run files")
        from runyard.store.sql import SqlStore

        return SqlStore(uri, LocalArtifactRepository(artifact_root))
    if scheme in ("http", "https"):
        from runyard.store.http import HttpStore

        return HttpStore(uri, token=token)
    raise ConfigError(
        f"unsupported tracking URI {uri!r}; use sqlite:///PATH, postgresql://... "
        "or http(s)://HOST:PORT of a Runyard studio"
    )
