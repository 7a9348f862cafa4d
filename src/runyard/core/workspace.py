"""The workspace: a folder with ``.runyard/config.json``, its store and run files."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.config import (
    CONFIG_DIRNAME,
    CONFIG_FILENAME,
    DEFAULT_ARTIFACT_DIRNAME,
    DEFAULT_DB_FILENAME,
    WorkspaceConfig,
    validate_resource_name,
)
from runyard.entities import ComputeTargetConfig
from runyard.errors import ConfigError, ConflictError
from runyard.store.base import Store
from runyard.workspace import find_config, read_config, resolve_paths, write_config
from runyard.workspace.targets import DEFAULT_LOCAL_TARGET as LOCAL_TARGET

if TYPE_CHECKING:
    from runyard.core.compute_target import ComputeTarget
    from runyard.core.environment import Environment
    from runyard.core.experiment import Experiment

log = logging.getLogger(__name__)

class Workspace:
    """A Runyard workspace. Find one with :meth:`from_config`, make one with
    :meth:`create` (or ``runyard init``)."""

    def __init__(self, config_path: Path, config: WorkspaceConfig) -> None:
        self.config_path = Path(config_path).resolve()
        self.config = config
        self._store: Store | None = None

    # -- finding and creating ----------------------------------------------------------

    @classmethod
    def from_config(cls, path: str | Path | None = None) -> Workspace:
        """Finds the workspace config by walking up from ``path`` (a folder or a config
        file; default: the current folder), as the tutorial's SDK does."""
        if path is not None and Path(path).is_file():
            config_path = Path(path)
        else:
            config_path = find_config(Path(path) if path is not None else None)
        return cls(config_path, read_config(config_path))

    @classmethod
    def create(
        cls,
        path: str | Path = ".",
        name: str | None = None,
        *,
        tracking_uri: str | None = None,
        exist_ok: bool = True,
        force: bool = False,
    ) -> Workspace:
        """Creates ``PATH/.runyard/config.json`` with an embedded SQLite store beside it.

        An existing workspace is returned as it is (``exist_ok``), unless ``force``
        rewrites a config that cannot be read.
        """
        root = Path(path).resolve()
        if root.exists() and not root.is_dir():
            raise ConfigError(f"{root} is a file; give a folder for the workspace")
        config_path = root / CONFIG_DIRNAME / CONFIG_FILENAME
        if config_path.exists() and not force:
            if not exist_ok:
                raise ConflictError(f"a workspace already exists at {config_path}")
            return cls.from_config(config_path)
        ws_name = name if name is not None else (root.name or "workspace")
        if name is None:
            ws_name = "".join(c if c.isalnum() or c in "_.-" else "-" for c in ws_name)
            ws_name = ws_name.lstrip(".-") or "workspace"
        validate_resource_name("workspace", ws_name)
        config = WorkspaceConfig(
            name=ws_name,
            tracking_uri=tracking_uri or f"sqlite:///{DEFAULT_DB_FILENAME}",
            artifact_root=DEFAULT_ARTIFACT_DIRNAME,
            compute_targets={"local": LOCAL_TARGET},
        )
        write_config(config_path, config)
        (config_path.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        ws = cls(config_path, config)
        ws.store  # noqa: B018 - creates the database now, so errors show at init
        return ws

    # -- what it holds -----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def root(self) -> Path:
        """The project folder that holds ``.runyard``."""
        return self.config_path.parent.parent

    @property
    def tracking_uri(self) -> str:
        return resolve_paths(self.config, self.config_path.parent)[0]

    @property
    def artifact_root(self) -> Path:
        return resolve_paths(self.config, self.config_path.parent)[1]

    @property
    def store(self) -> Store:
        """The workspace's store, opened on first use. Opening it also finishes runs
        whose process died: their journals are ingested and they are marked Failed."""
        if self._store is None:
            from runyard.store import open_store

            uri, root = resolve_paths(self.config, self.config_path.parent)
            self._store = open_store(uri, artifact_root=root)
            self._reap()
        return self._store

    def _reap(self) -> None:
        from runyard.compute.local import reap_and_refill

        assert self._store is not None
        reaped = reap_and_refill(self._store, self.config_path)
        if reaped:
            log.info("finished %d run(s) whose process had died: %s", len(reaped), reaped)

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        from runyard.core.compute_target import ComputeTarget

        targets = {"local": LOCAL_TARGET, **self.config.compute_targets}
        return {name: ComputeTarget(self, cfg) for name, cfg in sorted(targets.items())}

    def compute_target_config(self, name: str) -> ComputeTargetConfig:
        from runyard.errors import ComputeTargetNotFoundError

        targets = {"local": LOCAL_TARGET, **self.config.compute_targets}
        if name not in targets:
            known = ", ".join(sorted(targets))
            raise ComputeTargetNotFoundError(
                f"compute target {name!r} does not exist in workspace {self.name!r} "
                f"(it has: {known}). Create it with `runyard compute create {name} "
                "--type local --max-concurrent-runs 2` or ComputeTarget.create(...)"
            )
        return targets[name]

    def add_compute_target(self, target: ComputeTargetConfig) -> None:
        """Adds or replaces a named compute target in the config file."""
        validate_resource_name("compute target", target.name)
        fresh = read_config(self.config_path)
        targets = dict(fresh.compute_targets)
        targets[target.name] = target
        self.config = replace(fresh, compute_targets=targets)
        write_config(self.config_path, self.config)

    def remove_compute_target(self, name: str) -> None:
        fresh = read_config(self.config_path)
        targets = {k: v for k, v in fresh.compute_targets.items() if k != name}
        self.config = replace(fresh, compute_targets=targets)
        write_config(self.config_path, self.config)

    def set_studio_url(self, url: str) -> None:
        fresh = read_config(self.config_path)
        self.config = replace(fresh, studio_url=url.rstrip("/"))
        write_config(self.config_path, self.config)

    @property
    def environments(self) -> Mapping[str, Environment]:
        """Registered environments by name (latest versions), as in the tutorial SDK."""
        from runyard.core.environment import Environment

        return Environment.list(self)

    @property
    def experiments(self) -> dict[str, Experiment]:
        from runyard.core.experiment import Experiment

        return {
            s.experiment.name: Experiment(self, s.experiment.name)
            for s in self.store.list_experiments()
        }

    def get_details(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "configPath": str(self.config_path),
            "trackingUri": self.tracking_uri,
            "artifactRoot": str(self.artifact_root),
            "studioUrl": self.config.studio_url,
            "computeTargets": sorted(self.compute_targets),
        }

    def portal_url(self, run_id: str) -> str:
        return f"{self.config.studio_url.rstrip('/')}/runs/{run_id}"

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __repr__(self) -> str:
        return f"Workspace(name={self.name!r}, path={str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.config_path == self.config_path

    def __hash__(self) -> int:
        return hash(self.config_path)

    def to_json(self) -> str:
        return json.dumps(self.get_details())
