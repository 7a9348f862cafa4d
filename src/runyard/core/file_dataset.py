"""File datasets (``runyard.data.FileDataset``), what every dataset shares, and a
dataset bound to a run (``DatasetConsumptionConfig``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from runyard.assets import datasets as _ds
from runyard.assets.datastores import DatastoreSpec
from runyard.assets.inputs import InputBinding, check_input_name
from runyard.entities import DatasetVersion

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace

__all__ = ["AbstractDataset", "DatasetConsumptionConfig", "FileDataset", "MountContext"]

D = TypeVar("D", bound="AbstractDataset")


def cache_root() -> Path:
    from runyard.config import cache_dir

    return cache_dir() / "datasets"


class AbstractDataset:
    """What file and tabular datasets share: a definition and, once registered, a
    name and version."""

    kind = "file"

    def __init__(
        self,
        definition: Mapping[str, Any],
        *,
        workspace: Workspace | None = None,
        registration: DatasetVersion | None = None,
    ) -> None:
        self.definition = dict(definition)
        self._workspace = workspace
        self._registration = registration

    # -- identity -----------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        return self._registration.name if self._registration else None

    @property
    def version(self) -> int | None:
        return self._registration.version if self._registration else None

    @property
    def id(self) -> str | None:
        return self._registration.dataset_id if self._registration else None

    @property
    def description(self) -> str:
        return self._registration.description if self._registration else ""

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._registration.tags) if self._registration else {}

    @property
    def content_hash(self) -> str | None:
        return self._registration.content_hash if self._registration else None

    def _label(self) -> str:
        if self._registration is None:
            return "unregistered dataset"
        return f"{self._registration.name}:{self._registration.version}"

    # -- registering --------------------------------------------------------------------

    def register(
        self: D,
        workspace: Workspace,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        create_new_version: bool = False,
    ) -> D:
        """Records this dataset as a version of ``name``: the same files again give
        the version already there; other files need ``create_new_version=True``."""
        manifest, _ = _ds.manifest_of(self.definition, cache_root())
        version = workspace.store.register_dataset(
            name,
            kind=self.kind,
            definition=self.definition,
            manifest=manifest,
            content_hash=_ds.definition_hash(self.definition, manifest),
            description=description or "",
            tags=dict(tags or {}),
            create_new_version=create_new_version,
        )
        return type(self)(version.definition, workspace=workspace, registration=version)

    # -- reading ------------------------------------------------------------------------

    def _expected(self) -> Mapping[str, Sequence[Any]] | None:
        if self._registration is None:
            return None
        if not self._registration.manifest and self._workspace is not None:
            self._registration = self._workspace.store.get_dataset_by_id(
                self._registration.dataset_id
            )
        return self._registration.manifest

    def _folder(self, scratch: Path) -> Path:
        return _ds.materialize(
            self.definition, self._expected(), self._label(), cache_root(), scratch
        )

    def _names(self) -> list[str]:
        expected = self._expected()
        if expected is not None:
            return sorted(expected)
        return [name for name, _, _ in _ds.list_files(self.definition)]

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(name, self)

    def __repr__(self) -> str:
        where = ", ".join(self.definition["paths"])
        store = self.definition["datastore"]["name"]
        return f"{type(self).__name__}({self._label()}, {store}: {where})"


class MountContext:
    """``dataset.mount()``: ``mount_point`` is a local folder of the files, valid
    between ``start()`` and ``stop()`` (or inside ``with``)."""

    def __init__(self, dataset: AbstractDataset, mount_point: str | Path | None) -> None:
        self._dataset = dataset
        self._given = Path(mount_point) if mount_point is not None else None
        self._scratch: Path | None = None
        self.mount_point = ""

    def start(self) -> None:
        self._scratch = self._given or Path(tempfile.mkdtemp(prefix="runyard-mount-"))
        self.mount_point = str(self._dataset._folder(self._scratch))

    def stop(self) -> None:
        if self._scratch is not None and self._given is None:
            shutil.rmtree(self._scratch, ignore_errors=True)  # links or cached copies only
        self._scratch = None

    def __enter__(self) -> MountContext:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FileDataset(AbstractDataset):
    """Files in a datastore (``runyard.data.FileDataset``)."""

    kind = "file"

    def to_path(self) -> list[str]:
        """The files' paths inside the dataset, each starting with ``/``, as the SDK's."""
        return [f"/{name}" for name in self._names()]

    def download(self, target_path: str | Path | None = None, overwrite: bool = False) -> list[str]:
        """Copies the files into ``target_path`` (default: a new temporary folder),
        checking each against the registered hash; returns their local paths."""
        from runyard.assets.backends import open_backend

        target = Path(target_path) if target_path is not None else Path(tempfile.mkdtemp())
        spec = DatastoreSpec.from_dict(self.definition["datastore"])
        expected = self._expected()
        if spec.kind != "file":
            folder = self._folder(target)
            return [str(folder / n) for n in self._names()]
        files = _ds.list_files(self.definition)
        if expected is not None:
            files = [f for f in files if f[0] in expected]
            missing = set(expected) - {f[0] for f in files}
            if missing:
                _ds.check_unchanged(self._label(), expected, {})
        done = _ds.download_files(open_backend(spec), files, target, expected, overwrite)
        return [str(p) for p in done]

    def mount(self, mount_point: str | Path | None = None, **_options: Any) -> MountContext:
        """A context whose ``mount_point`` holds the files: the datastore's own folder
        for a local datastore (nothing copied), else the per-machine cache."""
        return MountContext(self, mount_point)

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self.as_named_input(_default_input_name(self)).as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self.as_named_input(_default_input_name(self)).as_download(path_on_compute)


def _default_input_name(dataset: AbstractDataset) -> str:
    base = dataset.name or "input"
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in base)
    return safe if safe[:1].isalpha() or safe[:1] == "_" else f"d_{safe}"


class DatasetConsumptionConfig(InputBinding):
    """A dataset bound to a run under ``name`` (``runyard.data.DatasetConsumptionConfig``)."""

    def __init__(
        self,
        name: str,
        dataset: AbstractDataset,
        mode: str = "mount",
        path_on_compute: str | None = None,
    ) -> None:
        self.name = check_input_name(name)
        self.dataset = dataset
        self.mode = mode
        self.path_on_compute = path_on_compute

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)

    def input_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "path_on_compute": self.path_on_compute,
            "dataset": {
                "id": self.dataset.id,
                "name": self.dataset.name,
                "version": self.dataset.version,
                "kind": self.dataset.kind,
                "definition": self.dataset.definition,
                "content_hash": self.dataset.content_hash,
            },
        }

    def __str__(self) -> str:
        return f"DatasetConsumptionConfig:{self.name}"

    def __repr__(self) -> str:
        return f"DatasetConsumptionConfig({self.name!r}, {self.dataset!r}, mode={self.mode!r})"
