"""Storage: metadata and metrics behind one interface chosen by URI (through
:mod:`runyard.store.registry`), and run files."""

from __future__ import annotations

from runyard.store.artifacts import ArtifactRepository, LocalArtifactRepository
from runyard.store.base import Store
from runyard.store.registry import open_store

__all__ = ["ArtifactRepository", "LocalArtifactRepository", "Store", "open_store"]
