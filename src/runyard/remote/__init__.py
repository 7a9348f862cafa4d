"""A Runyard server as a store: the HTTP client side of the REST API.

:class:`HttpStore` implements :class:`runyard.store.base.Store` on the server's routes,
speaking :mod:`runyard.wire`; it is what a runner on another machine (a Ray node)
writes to. ``open_store("http(s)://...")`` opens one (the store registry names it by
import path, so the store layer never imports this package).
"""

from __future__ import annotations

from runyard.remote.artifacts import HttpArtifactRepository, HttpSnapshots
from runyard.remote.client import AmbiguousRequestError, HttpClient
from runyard.remote.store import HttpStore

__all__ = [
    "AmbiguousRequestError",
    "HttpArtifactRepository",
    "HttpClient",
    "HttpSnapshots",
    "HttpStore",
]
