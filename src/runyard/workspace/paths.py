"""Where a workspace's store and files are: its config's relative paths made absolute."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from runyard.config import WorkspaceConfig
from runyard.entities import ComputeTargetConfig
from runyard.errors import WorkspaceNotFoundError
from runyard.workspace.files import read_config
from runyard.workspace.targets import find_target

SNAPSHOTS_DIRNAME = "snapshots"


def resolve_paths(config: WorkspaceConfig, config_dir: Path) -> tuple[str, Path]:
    """The tracking URI and artifact root with relative paths made absolute
    (relative to the ``.runyard`` folder)."""
    return _resolve(config.tracking_uri, config.artifact_root, Path(config_dir).absolute())


# Once per process and paths: resolving walks each path's parts (a realpath), and every
# new run asks for its journal's folder.
@functools.lru_cache(maxsize=64)
def _resolve(uri: str, artifact_root: str, config_dir: Path) -> tuple[str, Path]:
    prefix = "sqlite:///"
    if uri.startswith(prefix):
        db_path = Path(uri[len(prefix) :])
        if not db_path.is_absolute():
            uri = prefix + str((config_dir / db_path).resolve())
    root = Path(artifact_root)
    if not root.is_absolute():
        root = (config_dir / root).resolve()
    return uri, root


def check_store_exists(uri: str, config_path: Path) -> None:
    """Only ``runyard init`` (Workspace.create) creates a store: opening a workspace whose
    SQLite database is missing (a typo in tracking_uri, a moved file) is an error, not a
    fresh empty database. Every path that opens a workspace's store calls this first."""
    if not uri.startswith("sqlite:///") or uri in ("sqlite:///", "sqlite:///:memory:"):
        return
    path = Path(uri[len("sqlite:///") :].split("?", 1)[0])
    if not path.exists():
        raise WorkspaceNotFoundError(
            f"the workspace's database {path} does not exist (tracking_uri in "
            f"{config_path}); check the path, or create a workspace with `runyard init`"
        )


@dataclass(frozen=True)
class ResolvedWorkspace:
    """A workspace config read from ``config_path``, with its paths resolved."""

    config_path: Path
    config: WorkspaceConfig
    tracking_uri: str
    artifact_root: Path

    @classmethod
    def load(cls, config_path: Path) -> ResolvedWorkspace:
        """Reads the config file (ConfigError, WorkspaceNotFoundError)."""
        path = Path(config_path).resolve()
        return cls.of(path, read_config(path))

    @classmethod
    def of(cls, config_path: Path, config: WorkspaceConfig) -> ResolvedWorkspace:
        uri, root = resolve_paths(config, config_path.parent)
        return cls(config_path, config, uri, root)

    def check_store(self) -> None:
        """WorkspaceNotFoundError naming `runyard init` if its SQLite database is missing
        (see :func:`check_store_exists`); call it before opening the store."""
        check_store_exists(self.tracking_uri, self.config_path)

    @property
    def snapshots(self) -> Path:
        """The content-addressed snapshot store's folder."""
        return self.artifact_root / SNAPSHOTS_DIRNAME

    def target(self, name: str) -> ComputeTargetConfig | None:
        """The named compute target, or None when the config does not have it."""
        return find_target(self.config, name)
