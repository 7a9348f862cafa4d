"""``Datastore`` (the SDK-v1 ``azureml.core.Datastore``): a named place for files.

``ws.get_default_datastore()`` is a folder under the workspace (``workspaceblobstore``);
``Datastore.register_s3(...)`` and ``Datastore.register_azure_blob_container(...)`` add
remote ones. ``datastore.upload(src_dir, target_path)`` copies a folder in, and
``datastore.path('datasets/cifar10')`` names a place in it (a ``DataReference``), which
``Dataset.File.from_files`` and a run's arguments accept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.assets import secrets
from runyard.assets.backends import Backend, open_backend
from runyard.assets.datastores import (
    DEFAULT_DATASTORE,
    DatastoreRegistry,
    DatastoreSpec,
    clean_path,
)
from runyard.assets.inputs import InputBinding
from runyard.assets.transfer import download as _download
from runyard.assets.transfer import tree_files
from runyard.assets.transfer import upload as _upload
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace

__all__ = ["DataPath", "DataReference", "Datastore"]

_TYPES = {"file": "Local", "s3": "S3", "az": "AzureBlob", "gs": "GoogleCloudStorage"}


def registry(workspace: Workspace) -> DatastoreRegistry:
    return DatastoreRegistry(workspace.config_path.parent, workspace.artifact_root)


class Datastore:
    """A workspace's datastore. ``Datastore(ws, name)`` or ``Datastore.get(ws, name)``
    finds a registered one; ``Datastore(ws)`` is the default."""

    def __init__(
        self, workspace: Workspace, name: str | None = None, *, _spec: DatastoreSpec | None = None
    ) -> None:
        self.workspace = workspace
        self.spec = _spec or registry(workspace).get(name or DEFAULT_DATASTORE)

    # -- finding and registering -------------------------------------------------------

    @staticmethod
    def get(workspace: Workspace, datastore_name: str) -> Datastore:
        """Raises DatastoreNotFoundError naming the registered ones."""
        return Datastore(workspace, datastore_name)

    @staticmethod
    def get_default(workspace: Workspace) -> Datastore:
        return Datastore(workspace)

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Datastore]:
        return {s.name: Datastore(workspace, _spec=s) for s in registry(workspace).list()}

    @staticmethod
    def register_s3(
        workspace: Workspace,
        datastore_name: str,
        bucket_name: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        overwrite: bool = False,
        skip_validation: bool = False,
    ) -> Datastore:
        """An S3 bucket (or an S3-compatible service at ``endpoint_url``). Keys given
        here go to the 0600 secrets file, never the registry; without them the
        standard AWS environment variables and profiles are used."""
        url = f"s3://{_bucket(bucket_name)}/{clean_path(prefix)}".rstrip("/")
        options = {"endpoint_url": endpoint_url, "region": region}
        credentials = {"key": access_key_id, "secret": secret_access_key}
        return _register(
            workspace, datastore_name, "s3", url, options, credentials, overwrite, skip_validation
        )

    @staticmethod
    def register_azure_blob_container(
        workspace: Workspace,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> Datastore:
        """An Azure Blob container (``az://``, through adlfs). The SAS token or account
        key goes to the 0600 secrets file, never the registry."""
        url = f"az://{_bucket(container_name)}"
        options: dict[str, str | None] = {"account_name": account_name, "endpoint": endpoint}
        if protocol:
            options["protocol"] = protocol
        credentials = {"sas_token": sas_token, "account_key": account_key}
        return _register(
            workspace,
            datastore_name,
            "az",
            url,
            options,
            credentials,
            overwrite,
            skip_validation,
            create=create_if_not_exists,
        )

    def unregister(self) -> None:
        registry(self.workspace).unregister(self.name)
        secrets.forget(self.name)

    # -- what it is ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def datastore_type(self) -> str:
        return _TYPES.get(self.spec.kind, self.spec.kind)

    @property
    def container_name(self) -> str:
        """The bucket or container (the folder's name for the local datastore)."""
        if self.spec.kind == "file":
            return Path(self.spec.url).name
        return self.spec.url.split("://", 1)[1].split("/", 1)[0]

    @property
    def account_name(self) -> str | None:
        return self.spec.options.get("account_name")

    def backend(self) -> Backend:
        return open_backend(self.spec)

    # -- moving files -------------------------------------------------------------------

    def upload(
        self,
        src_dir: str | Path,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Copies every file under ``src_dir`` to ``target_path``. Without
        ``overwrite``, files already there are kept (a rerun sends only the rest)."""
        files = tree_files(Path(src_dir))
        _upload(
            self.backend(), files, target_path, overwrite=overwrite, show_progress=show_progress
        )
        return self.path(target_path)

    def upload_files(
        self,
        files: Iterable[str | Path],
        relative_root: str | Path | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Copies the files, named by their path below ``relative_root`` (default:
        their common folder), to ``target_path``."""
        paths = [Path(f).expanduser().resolve() for f in files]
        if not paths:
            raise ValidationError("upload_files needs at least one file")
        if relative_root is None:
            import os

            root = Path(os.path.commonpath([str(p.parent) for p in paths]))
        else:
            root = Path(relative_root).expanduser().resolve()
        pairs = []
        for p in paths:
            if not p.is_relative_to(root):
                raise ValidationError(f"{p} is not under relative_root {root}")
            pairs.append((p.relative_to(root).as_posix(), p))
        _upload(
            self.backend(), pairs, target_path, overwrite=overwrite, show_progress=show_progress
        )
        return self.path(target_path)

    def download(
        self,
        target_path: str | Path,
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Copies the files under ``prefix`` into ``target_path``; returns how many."""
        done = _download(
            self.backend(),
            Path(target_path),
            prefix,
            overwrite=overwrite,
            show_progress=show_progress,
        )
        return done.files

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        return DataReference(self, path or "", data_reference_name)

    def as_mount(self) -> DataReference:
        return self.path().as_mount()

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        return self.path().as_download(path_on_compute)

    def __repr__(self) -> str:
        return f"Datastore(name={self.name!r}, type={self.datastore_type!r}, url={self.spec.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Datastore) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash((self.spec.name, self.spec.url))


def _bucket(name: str) -> str:
    if not isinstance(name, str) or not re.match(r"^[a-z0-9][a-z0-9.\-_]{1,254}$", name):
        raise ValidationError(
            f"bucket or container name {name!r} must be lowercase letters, digits, '.', '-' or '_'"
        )
    return name


def _register(
    workspace: Workspace,
    name: str,
    kind: str,
    url: str,
    options: Mapping[str, str | None],
    credentials: Mapping[str, str | None],
    overwrite: bool,
    skip_validation: bool,
    *,
    create: bool = False,
) -> Datastore:
    spec = DatastoreSpec(name, kind, url, {k: v for k, v in options.items() if v})
    given = {k: v for k, v in credentials.items() if v}
    if create:
        from runyard.assets.remote import create_container

        create_container(spec, given or None)
    if not skip_validation:
        from runyard.assets.remote import check_access

        check_access(spec, given or None)
    spec = registry(workspace).register(spec, overwrite=overwrite)
    if given:
        secrets.save(name, given)
    return Datastore(workspace, _spec=spec)


class DataPath:
    """A path in a datastore (``runyard.data.datapath.DataPath``)."""

    def __init__(
        self,
        datastore: Datastore | None = None,
        path_on_datastore: str | None = None,
        name: str | None = None,
    ) -> None:
        if datastore is None:
            raise ValidationError("DataPath needs a datastore: DataPath(datastore, 'path')")
        self.datastore = datastore
        self.path_on_datastore = clean_path(path_on_datastore or "")
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.datastore.name!r}, {self.path_on_datastore!r})"


class DataReference(DataPath, InputBinding):
    """``datastore.path(...)``: a datastore path that can also be a run input
    (``.as_mount()``, ``.as_download()``), as SDK v1's data references."""

    def __init__(
        self,
        datastore: Datastore | None = None,
        path_on_datastore: str | None = None,
        data_reference_name: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
    ) -> None:
        super().__init__(datastore, path_on_datastore, data_reference_name)
        self.mode = mode
        self.path_on_compute = path_on_compute

    @property
    def data_reference_name(self) -> str:
        if self.name:
            return self.name
        safe = re.sub(r"[^A-Za-z0-9_]", "_", f"{self.datastore.name}_{self.path_on_datastore}")
        return safe if safe[:1].isalpha() else f"d_{safe}"

    def as_mount(self) -> DataReference:
        return DataReference(self.datastore, self.path_on_datastore, self.name, "mount")

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        return DataReference(
            self.datastore, self.path_on_datastore, self.name, "download", path_on_compute
        )

    def input_record(self) -> dict[str, Any]:
        from runyard.assets.datasets import make_definition

        return {
            "name": self.data_reference_name,
            "mode": self.mode,
            "path_on_compute": self.path_on_compute,
            "dataset": {
                "id": None,
                "name": None,
                "version": None,
                "kind": "file",
                "definition": make_definition(self.datastore.spec, [self.path_on_datastore]),
            },
        }

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"
