"""Which store serves which URI: scheme -> ``"module:Class"``.

Implementations are named by import path, not imported, so the store layer never
imports what sits above it (``runyard.remote`` speaks to a server through
``runyard.wire``) and opening a SQLite store never loads httpx. A new engine is one
line here: one that keeps run files on this machine is listed in ``LOCAL_FILES`` too
and is built as ``Class(uri, LocalArtifactRepository(artifact_root))``; any other as
``Class(uri, token=token)``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from runyard.config import ENV_TOKEN, use_client_site
from runyard.errors import ConfigError
from runyard.store.base import Store

STORES: dict[str, str] = {
    "sqlite": "runyard.store.sql.store:SqlStore",
    "postgresql": "runyard.store.sql.store:SqlStore",
    "postgres": "runyard.store.sql.store:SqlStore",
    "http": "runyard.remote.store:HttpStore",
    "https": "runyard.remote.store:HttpStore",
}
# Stores whose run files live on this machine, under an artifact root.
LOCAL_FILES = frozenset({"sqlite", "postgresql", "postgres"})


def scheme_of(uri: str) -> str:
    """``sqlite``, ``postgresql``, ``http`` ...; a driver suffix (``+psycopg``) dropped."""
    return uri.split(":", 1)[0].split("+", 1)[0].lower()


def store_class(uri: str) -> type[Store]:
    """The Store class registered for ``uri``'s scheme (imported on first use)."""
    scheme = scheme_of(uri)
    target = STORES.get(scheme) if "://" in uri else None
    if target is None:
        raise ConfigError(
            f"unsupported tracking URI {uri!r}; use sqlite:///PATH, postgresql://... "
            "or http(s)://HOST:PORT of a Runyard studio"
        )
    module_name, _, class_name = target.partition(":")
    use_client_site()  # in a run's own environment: SQLAlchemy or httpx from the runner's
    cls: type[Store] = getattr(importlib.import_module(module_name), class_name)
    return cls


def open_store(uri: str, artifact_root: Path | None = None, token: str | None = None) -> Store:
    """Opens the store named by ``uri``: ``sqlite:///...``, ``postgresql://...``, or
    ``http(s)://...`` (a Runyard server). SQL stores keep run files under
    ``artifact_root``; an HTTP store keeps them on the server (and takes ``token``)."""
    cls: Any = store_class(uri)  # the two constructor shapes of the module docstring
    if scheme_of(uri) in LOCAL_FILES:
        if artifact_root is None:
            raise ConfigError(f"opening {uri!r} needs an artifact root folder for run files")
        from runyard.store.artifacts import LocalArtifactRepository

        store: Store = cls(uri, LocalArtifactRepository(artifact_root))
    else:
        # A workspace whose tracking_uri is a server writes with $RUNYARD_TOKEN (the
        # studio's token, as a Ray job or a remote runner is given it).
        store = cls(uri, token=token or os.environ.get(ENV_TOKEN))
    return store
