"""The workspace: a folder with ``.runyard/config.json``, its store and run files.

The SDK-v1 ways in work too: ``Workspace.create(name, subscription_id=,
resource_group=, location=)`` makes one in the current folder, ``Workspace.get(name)``
and ``Workspace(subscription_id, resource_group, workspace_name)`` find it by name
(see :mod:`runyard.core.workspace_lookup`), and ``ws.write_config(path=)`` leaves a
pointer to it that ``from_config`` follows.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.config import (
    CONFIG_DIRNAME,
    CONFIG_FILENAME,
    DEFAULT_ARTIFACT_DIRNAME,
    DEFAULT_DB_FILENAME,
    LOCAL_LABEL,
    WorkspaceConfig,
    validate_resource_name,
)
from runyard.core import store_opening
from runyard.core import workspace_lookup as lookup
from runyard.core.notices import notice
from runyard.entities import ComputeTargetConfig
from runyard.errors import ConfigError, ConflictError, RunyardError, WorkspaceNotFoundError
from runyard.store.base import Store
from runyard.store.reading import RunsReader
from runyard.workspace import find_config, read_config, resolve_paths, write_config
from runyard.workspace.targets import DEFAULT_LOCAL_TARGET as LOCAL_TARGET

if TYPE_CHECKING:
    from runyard.core.compute_target import ComputeTarget
    from runyard.core.datastore import Datastore
    from runyard.core.environment import EnvironmentDict
    from runyard.core.experiment import Experiment

log = logging.getLogger(__name__)


class _Unset:
    """Tells "not given" from an explicit None (``Workspace.create``'s ``name``)."""

    def __repr__(self) -> str:
        return "<not given>"


_UNSET: Any = _Unset()


class Workspace:
    """A Runyard workspace. Find one with :meth:`from_config`, make one with
    :meth:`create` (or ``runyard init``)."""

    def __init__(
        self,
        subscription_id: str | Path,
        resource_group: str | WorkspaceConfig | None = None,
        workspace_name: str | None = None,
        auth: object = None,
        **_sdk: Any,
    ) -> None:
        """``Workspace(config_path, config)``, or the SDK's
        ``Workspace(subscription_id, resource_group, workspace_name)``, which finds the
        workspace of that name (WorkspaceNotFoundError when there is none)."""
        if isinstance(resource_group, WorkspaceConfig):
            config_path, config = Path(subscription_id), resource_group
        else:
            if not workspace_name:
                raise ConfigError(
                    "Workspace(subscription_id, resource_group, workspace_name) needs the "
                    "workspace_name; or use Workspace.from_config()"
                )
            config_path = lookup.find_named(
                workspace_name, str(subscription_id), resource_group or None
            )
            config = read_config(config_path)
        self.config_path = Path(config_path).resolve()
        self.config = config
        self._store: Store | None = None
        self._may_create = False  # only create() makes a new database

    # -- finding and creating ----------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        path: str | Path | None = None,
        auth: object = None,
        _logger: object = None,
        _file_name: str | None = None,
    ) -> Workspace:
        """Finds the workspace config by walking up from ``path`` (a folder or a config
        file; default: the current folder), as the tutorial's SDK does; inside a
        submitted run, the run's workspace when no config is found above."""
        if path is not None and Path(path).is_file():
            config_path = Path(path)
        elif _file_name:
            name = lookup.config_file_name(_file_name)
            found = lookup.find_config_named(Path(path) if path else Path.cwd(), name)
            if found is None:
                raise WorkspaceNotFoundError(
                    f"no {CONFIG_DIRNAME}/{name} in {path or Path.cwd()} or its parents; "
                    f"write one with ws.write_config(file_name={name!r})"
                )
            config_path = found
        else:
            try:
                config_path = find_config(Path(path) if path is not None else None)
            except WorkspaceNotFoundError:
                mine = lookup.run_workspace_config()
                if mine is None or path is not None:
                    raise
                config_path = mine
        config_path = lookup.follow_pointer(config_path)
        return cls(config_path, read_config(config_path))

    @classmethod
    def get(
        cls,
        name: str,
        auth: object = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        **_sdk: Any,
    ) -> Workspace:
        """The workspace called ``name`` (the run's own, or one in the current folder
        or above), as the SDK's ``Workspace.get``. Raises WorkspaceNotFoundError."""
        config_path = lookup.find_named(name, subscription_id, resource_group)
        return cls(config_path, read_config(config_path))

    @classmethod
    def create(
        cls,
        path: str | Path = ".",
        name: str | None = _UNSET,
        *,
        tracking_uri: str | None = None,
        exist_ok: bool | None = None,
        force: bool = False,
        auth: object = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        create_resource_group: bool = True,
        show_output: bool = True,
        **cloud_only: Any,
    ) -> Workspace:
        """Creates ``PATH/.runyard/config.json`` with an embedded SQLite store beside it.

        An existing workspace is returned as it is (``exist_ok``, default True), unless
        ``force`` rewrites a config that cannot be read. The SDK's form,
        ``Workspace.create(name, subscription_id=, resource_group=, location=,
        exist_ok=False)``, makes the workspace in the current folder and records the
        labels (``ws.subscription_id`` ...); an existing one of that name is an error
        unless ``exist_ok=True``, as in the SDK.
        """
        if name is _UNSET:
            sdk_form = lookup.is_sdk_name(path, subscription_id, resource_group)
            if sdk_form:
                name, path = str(path), "."
        else:  # Workspace.create(name="ws", subscription_id=...): the SDK's keywords
            sdk_form = subscription_id is not None or resource_group is not None
        if sdk_form:
            exist_ok = bool(exist_ok)
            if cloud_only:
                notice(
                    f"Workspace.create: {', '.join(sorted(cloud_only))} have no local "
                    "meaning; not used",
                    key="Workspace.create:" + ",".join(sorted(cloud_only)),
                )
        if name is _UNSET:
            name = None
        exist_ok = True if exist_ok is None else exist_ok
        labels = {
            "subscription_id": subscription_id or LOCAL_LABEL,
            "resource_group": resource_group or LOCAL_LABEL,
            "location": location or LOCAL_LABEL,
        }
        root = Path(path).resolve()
        if root.exists() and not root.is_dir():
            raise ConfigError(f"{root} is a file; give a folder for the workspace")
        config_path = root / CONFIG_DIRNAME / CONFIG_FILENAME
        if config_path.exists() and not force:
            if not exist_ok:
                raise ConflictError(
                    f"a workspace already exists at {config_path}; pass exist_ok=True to "
                    "use it, or create the new one in another folder"
                )
            existing = cls.from_config(config_path)
            if sdk_form and existing.name != name:
                raise ConflictError(
                    f"{root} already holds workspace {existing.name!r}, and a folder holds "
                    f"one workspace: create {name!r} from another folder, or use "
                    f"Workspace.get({existing.name!r})"
                )
            return existing
        ws_name = name if name is not None else lookup.name_of_folder(root)
        validate_resource_name("workspace", ws_name)
        config = WorkspaceConfig(
            name=ws_name,
            tracking_uri=tracking_uri or f"sqlite:///{DEFAULT_DB_FILENAME}",
            artifact_root=DEFAULT_ARTIFACT_DIRNAME,
            compute_targets={"local": LOCAL_TARGET},
            subscription_id=labels["subscription_id"],
            resource_group=labels["resource_group"],
            location=labels["location"],
        )
        write_config(config_path, config)
        (config_path.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        ws = cls(config_path, config)
        ws._may_create = True
        ws.store  # noqa: B018 - creates the database now, so errors show at init
        return ws

    # -- what it holds -----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def subscription_id(self) -> str:
        """The SDK label recorded at create (``"local"`` when none was given)."""
        return self.config.subscription_id

    @property
    def resource_group(self) -> str:
        """The SDK label recorded at create (``"local"`` when none was given)."""
        return self.config.resource_group

    @property
    def location(self) -> str:
        """The SDK label recorded at create (``"local"`` when none was given)."""
        return self.config.location

    def write_config(self, path: str | Path | None = None, file_name: str | None = None) -> None:
        """As the SDK's: writes ``PATH/.runyard/FILE_NAME`` (default: the current
        folder, ``config.json``) so that ``Workspace.from_config()`` run there or below
        finds this workspace. In the workspace's own folder there is nothing to write."""
        lookup.write_pointer(
            self.config_path,
            Path(path) if path is not None else Path.cwd(),
            lookup.config_file_name(file_name),
            {
                "workspace_name": self.name,
                "subscription_id": self.subscription_id,
                "resource_group": self.resource_group,
            },
        )

    def use_ray_cluster(self, address: str, **options: Any) -> None:
        """Names the Ray cluster (job submission address) that ``AmlCompute`` targets
        created from now on run on; ``options`` as for RayCompute (``server_url``)."""
        if not isinstance(address, str) or not address.strip():
            raise ConfigError("use_ray_cluster() needs an address such as http://127.0.0.1:8265")
        fresh = read_config(self.config_path)
        cluster = {"address": address.strip(), "options": dict(options)}
        self.config = replace(fresh, ray_cluster=cluster)
        write_config(self.config_path, self.config)

    @property
    def root(self) -> Path:
        """The project folder that holds ``.runyard``."""
        return self.config_path.parent.parent

    @property
    def tracking_uri(self) -> str:
        return resolve_paths(self.config, self.config_path.parent)[0]

    def get_mlflow_tracking_uri(self) -> str:
        """The URI for ``mlflow.set_tracking_uri``: MLflow's API then reads and writes
        this workspace's experiments and runs (docs/mlflow.md; the ``mlflow`` extra)."""
        from runyard.workspace.mlflow_uri import tracking_uri

        return tracking_uri(self.config_path)

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
            if not self._may_create:
                lookup.check_store_exists(uri, self.config_path)
            self._store = open_store(uri, artifact_root=root)
            try:
                store_opening.housekeep(self._store, self.config_path)
            except (OSError, RunyardError) as exc:
                # Housekeeping (a read-only artifact folder, a full disk) must never
                # break the command that opened the store: it is retried next time.
                log.warning("could not finish runs whose process died: %s", exc)
        return self._store

    @contextlib.contextmanager
    def runs_reader(self) -> Iterator[RunsReader]:
        """What a runs list reads: the store, or where it is not open yet and opening
        it would change nothing, a reader of its SQLite file (``core.store_opening``)."""
        reader = store_opening.lean_reader(self.tracking_uri) if self._store is None else None
        with reader if reader is not None else contextlib.nullcontext(self.store) as found:
            yield found

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
    def environments(self) -> EnvironmentDict:
        """Registered and curated environments by name (latest versions), as in the
        SDK; an SDK curated name (``AzureML-PyTorch-1.6-CPU``) gives the closest
        curated environment, with a notice."""
        from runyard.core.environment import Environment

        return Environment.list(self)

    def get_default_datastore(self) -> Datastore:
        """The workspace's own datastore: a folder under its artifact root."""
        from runyard.core.datastore import Datastore

        return Datastore(self)

    @property
    def datastores(self) -> dict[str, Datastore]:
        from runyard.core.datastore import Datastore

        return Datastore.list(self)

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
            "subscriptionId": self.subscription_id,
            "resourceGroup": self.resource_group,
            "location": self.location,
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
