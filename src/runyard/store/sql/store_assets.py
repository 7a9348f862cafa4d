"""The asset half of ``SqlStore``: datasets, models, their aliases and the runs'
lineage links, each method one transaction like the rest of the store (its ``_tx``)."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.engine import Connection

from runyard.entities import AliasEvent, DatasetVersion, Manifest, ModelVersion, RunDatasetLink
from runyard.store.sql import assets as assets_mod
from runyard.store.sql import models as models_mod


class SqlAssets(abc.ABC):
    """Mixed into SqlStore, which gives it ``_tx``."""

    @abc.abstractmethod
    def _tx(self, action: str, *, write: bool) -> AbstractContextManager[Connection]: ...

    def register_dataset(
        self,
        name: str,
        *,
        kind: str,
        definition: Mapping[str, Any],
        manifest: Manifest,
        content_hash: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        create_new_version: bool = False,
        run_id: str | None = None,
    ) -> DatasetVersion:
        with self._tx("register a dataset", write=True) as conn:
            return assets_mod.register_dataset(
                conn,
                name,
                kind=kind,
                definition=definition,
                manifest=manifest,
                content_hash=content_hash,
                description=description,
                tags=tags,
                create_new_version=create_new_version,
                run_id=run_id,
            )

    def get_dataset(self, name: str, version: int | None = None) -> DatasetVersion:
        with self._tx("read a dataset", write=False) as conn:
            return assets_mod.get_dataset(conn, name, version)

    def get_dataset_by_id(self, dataset_id: str) -> DatasetVersion:
        with self._tx("read a dataset", write=False) as conn:
            return assets_mod.get_dataset_by_id(conn, dataset_id)

    def list_datasets(self, name: str | None = None) -> list[DatasetVersion]:
        with self._tx("list datasets", write=False) as conn:
            return assets_mod.list_datasets(conn, name)

    def register_model(
        self,
        name: str,
        *,
        manifest: Manifest,
        content_hash: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        run_id: str | None = None,
        dataset_ids: Sequence[str] = (),
    ) -> ModelVersion:
        with self._tx("register a model", write=True) as conn:
            return models_mod.register_model(
                conn,
                name,
                manifest=manifest,
                content_hash=content_hash,
                description=description,
                tags=tags,
                properties=properties,
                run_id=run_id,
                dataset_ids=dataset_ids,
            )

    def get_model(
        self, name: str, version: int | None = None, *, alias: str | None = None
    ) -> ModelVersion:
        with self._tx("read a model", write=False) as conn:
            return models_mod.get_model(conn, name, version, alias)

    def list_models(
        self, name: str | None = None, tags: Mapping[str, str | None] | None = None
    ) -> list[ModelVersion]:
        with self._tx("list models", write=False) as conn:
            return models_mod.list_models(conn, name, tags)

    def update_model(
        self,
        name: str,
        version: int,
        *,
        add_tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        add_properties: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        with self._tx("update a model", write=True) as conn:
            return models_mod.update_model(
                conn,
                name,
                version,
                add_tags=add_tags,
                remove_tags=remove_tags,
                add_properties=add_properties,
            )

    def set_model_alias(
        self, name: str, alias: str, version: int | None, actor: str = ""
    ) -> AliasEvent:
        with self._tx("set a model alias", write=True) as conn:
            return models_mod.set_alias(conn, name, alias, version, actor)

    def get_model_alias_history(
        self, name: str, alias: str | None = None, as_of: float | None = None
    ) -> list[AliasEvent]:
        with self._tx("read a model's alias history", write=False) as conn:
            return models_mod.alias_history(conn, name, alias, as_of)

    def add_run_dataset(
        self,
        run_id: str,
        direction: str,
        name: str,
        dataset_id: str | None = None,
        source: Mapping[str, Any] | None = None,
    ) -> RunDatasetLink:
        with self._tx("record a run's dataset", write=True) as conn:
            return assets_mod.add_run_dataset(
                conn, run_id, direction, name, dataset_id, source or {}
            )

    def get_run_datasets(self, run_id: str) -> list[RunDatasetLink]:
        with self._tx("read a run's datasets", write=False) as conn:
            return assets_mod.get_run_datasets(conn, run_id)

    def get_dataset_runs(self, dataset_id: str) -> list[RunDatasetLink]:
        with self._tx("read a dataset's runs", write=False) as conn:
            return assets_mod.get_dataset_runs(conn, dataset_id)
