"""``azureml.data.output_dataset_config``: a folder a run writes, uploaded to a
datastore when the run ends and, with ``register_on_complete``, registered as a
dataset version the run made (lineage: run -> output)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.assets.datastores import clean_path
from runyard.assets.inputs import InputBinding, check_input_name
from runyard.core.datastore import DataPath, Datastore
from runyard.errors import ValidationError

__all__ = ["OutputFileDatasetConfig"]


class OutputFileDatasetConfig(InputBinding):
    """``OutputFileDatasetConfig(name='prepared', destination=(datastore, 'out/{run-id}'))``
    in a ScriptRunConfig's arguments: the script gets a local folder to write in."""

    def __init__(
        self,
        name: str | None = None,
        destination: tuple[Datastore, str] | DataPath | None = None,
        source: str | None = None,
        partition_format: str | None = None,
    ) -> None:
        self.name = check_input_name(name or "output")
        if isinstance(destination, DataPath):
            destination = (destination.datastore, destination.path_on_datastore)
        if destination is None or not isinstance(destination[0], Datastore):
            raise ValidationError(
                "OutputFileDatasetConfig needs destination=(datastore, 'path/{run-id}'), e.g. "
                "(ws.get_default_datastore(), 'outputs/prepared/{run-id}')"
            )
        self.destination = (destination[0], clean_path(destination[1].replace("{run-id}", "RUNID")))
        self._template = destination[1]
        self.source = source
        self.mode = "mount"
        self.overwrite = False
        self.registration: dict[str, Any] | None = None

    def _copy(self, **changes: Any) -> OutputFileDatasetConfig:
        out = OutputFileDatasetConfig(self.name, (self.destination[0], self._template), self.source)
        out.mode, out.overwrite, out.registration = self.mode, self.overwrite, self.registration
        for key, value in changes.items():
            setattr(out, key, value)
        return out

    def as_mount(self) -> OutputFileDatasetConfig:
        return self._copy(mode="mount")

    def as_upload(
        self, overwrite: bool = False, source_globs: Any = None
    ) -> OutputFileDatasetConfig:
        return self._copy(mode="upload", overwrite=overwrite)

    def register_on_complete(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> OutputFileDatasetConfig:
        return self._copy(
            registration={"name": name, "description": description or "", "tags": dict(tags or {})}
        )

    def input_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": "output",
            "path_on_compute": self.source,
            "output": {
                "datastore": self.destination[0].spec.as_dict(),
                "path": self._template,
                "overwrite": self.overwrite,
                "register": self.registration,
            },
        }

    def __str__(self) -> str:
        return f"DatasetConsumptionConfig:{self.name}"
