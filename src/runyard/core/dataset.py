"""``Dataset`` (the SDK-v1 ``azureml.core.Dataset``): files in a datastore, versioned.

``Dataset.File.from_files(path=(datastore, 'datasets/cifar10'))`` names files;
``Dataset.Tabular.from_delimited_files(...)`` / ``from_parquet_files(...)`` names
tables. ``dataset.register(ws, name)`` records an immutable, content-addressed
version (per-file sha256): registering unchanged files again returns the same
version and moves nothing. ``dataset.as_named_input('input').as_mount()`` in a
ScriptRunConfig's arguments becomes a local path in the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runyard.assets import datasets as _ds
from runyard.assets.datastores import DatastoreSpec
from runyard.core.datastore import DataPath, Datastore
from runyard.core.file_dataset import (
    AbstractDataset,
    DatasetConsumptionConfig,
    FileDataset,
    MountContext,
)
from runyard.core.partition_format import PartitionFormat
from runyard.core.tabular_dataset import TabularDataset
from runyard.entities import DatasetVersion
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace

__all__ = [
    "AbstractDataset",
    "Dataset",
    "DatasetConsumptionConfig",
    "FileDataset",
    "MountContext",
    "TabularDataset",
]

PathArg = Any  # (datastore, path), a DataPath, or a list of them


def _one_path(item: Any) -> tuple[DatastoreSpec, list[str]]:
    if isinstance(item, DataPath):
        return item.datastore.spec, [item.path_on_datastore]
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Datastore):
        paths = [item[1]] if isinstance(item[1], str) else list(item[1])
        return item[0].spec, paths
    raise ValidationError(
        f"a dataset path must be (datastore, 'path'), a DataPath or a list of them, got "
        f"{item!r}; upload local files first with datastore.upload(src_dir, target_path)"
    )


def _definition(path: PathArg, tabular: Mapping[str, Any] | None = None) -> dict[str, Any]:
    items = path if isinstance(path, list) else [path]
    spec: DatastoreSpec | None = None
    paths: list[str] = []
    for item in items:
        item_spec, item_paths = _one_path(item)
        if spec is not None and item_spec != spec:
            raise ValidationError("every path of one dataset must be in the same datastore")
        spec = item_spec
        paths.extend(item_paths)
    if spec is None:
        raise ValidationError("a dataset needs at least one path")
    return _ds.make_definition(spec, paths, tabular)


def _wrap(workspace: Workspace, version: DatasetVersion) -> AbstractDataset:
    cls: type[AbstractDataset] = TabularDataset if version.kind == "tabular" else FileDataset
    return cls(version.definition, workspace=workspace, registration=version)


class _FileFactory:
    @staticmethod
    def from_files(
        path: PathArg,
        validate: bool = True,
        partition_format: str | None = None,
        is_file: bool = False,
    ) -> FileDataset:
        """Files at ``(datastore, 'folder')``, ``(datastore, 'a/**/*.png')`` or a list."""
        dataset = FileDataset(_definition(path))
        if validate:
            _ds.list_files(dataset.definition)  # a path that matches nothing fails now
        return dataset


class _TabularFactory:
    @staticmethod
    def from_delimited_files(
        path: PathArg,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types: Mapping[str, Any] | None = None,
        separator: str = ",",
        header: bool | str = True,
        partition_format: str | None = None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
    ) -> TabularDataset:
        tabular = {
            "format": "delimited",
            "separator": separator,
            "header": bool(header) and header != "no_header",
            "encoding": encoding,
        }
        return _tabular(path, tabular, validate, include_path, partition_format)

    @staticmethod
    def from_parquet_files(
        path: PathArg,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: Mapping[str, Any] | None = None,
        partition_format: str | None = None,
    ) -> TabularDataset:
        return _tabular(path, {"format": "parquet"}, validate, include_path, partition_format)


def _tabular(
    path: PathArg,
    tabular: dict[str, Any],
    validate: bool,
    include_path: bool,
    partition_format: str | None,
) -> TabularDataset:
    """``include_path`` adds a ``Path`` column (each row's file in the datastore);
    ``partition_format`` a column per ``{name}`` of it (see core.partition_format)."""
    parts = PartitionFormat.parse(partition_format) if partition_format is not None else None
    # Only when set: a definition's hash names its version, and older ones lack them.
    if include_path:
        tabular["include_path"] = True
    if partition_format is not None:
        tabular["partition_format"] = partition_format
    dataset = TabularDataset(_definition(path, tabular))
    if validate:  # every path matches a file, and every file the format
        for _name, store_path, _size in _ds.list_files(dataset.definition):
            if parts is not None:
                parts.values(store_path)
    return dataset


class Dataset:
    """``Dataset.File`` and ``Dataset.Tabular`` make datasets; ``get_by_name``,
    ``get_by_id`` and ``get_all`` find registered ones."""

    File = _FileFactory
    Tabular = _TabularFactory

    @staticmethod
    def get_by_name(workspace: Workspace, name: str, version: int | str = "latest") -> Any:
        """The version (default the latest): a FileDataset or a TabularDataset."""
        wanted = None if version in ("latest", None) else int(version)
        return _wrap(workspace, workspace.store.get_dataset(name, wanted))

    @staticmethod
    def get_by_id(workspace: Workspace, id: str) -> Any:
        """A FileDataset or TabularDataset by its version's id."""
        return _wrap(workspace, workspace.store.get_dataset_by_id(id))

    @staticmethod
    def get_all(workspace: Workspace) -> dict[str, Any]:
        """The latest version of every registered dataset, by name."""
        latest: dict[str, DatasetVersion] = {}
        for v in workspace.store.list_datasets():
            latest[v.name] = v
        return {n: _wrap(workspace, v) for n, v in sorted(latest.items())}

    @staticmethod
    def list_versions(workspace: Workspace, name: str) -> list[DatasetVersion]:
        """Every version of ``name``, oldest first."""
        return workspace.store.list_datasets(name)
