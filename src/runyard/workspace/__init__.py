"""Workspace files: the config file, the paths it names, the compute targets it has
(always ``local``), and who owns a run (``pid@host``).

A low layer shared by ``core``, ``compute``, ``runner`` and ``cli``: it imports only
``entities``, ``errors`` and ``config``, and opens no store (callers hand
:attr:`ResolvedWorkspace.tracking_uri` to :func:`runyard.store.open_store`).
"""

from __future__ import annotations

from runyard.workspace.files import find_config, read_config, write_config
from runyard.workspace.paths import ResolvedWorkspace, check_store_exists, resolve_paths
from runyard.workspace.targets import (
    DEFAULT_LOCAL_TARGET,
    all_targets,
    cancel_grace_s,
    find_target,
)

__all__ = [
    "DEFAULT_LOCAL_TARGET",
    "ResolvedWorkspace",
    "all_targets",
    "cancel_grace_s",
    "check_store_exists",
    "find_config",
    "find_target",
    "read_config",
    "resolve_paths",
    "write_config",
]
