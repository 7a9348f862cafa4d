"""MLflow's model registry on a workspace (``mlflow.model_registry_store`` entry point).

``mlflow.register_model("runs:/RUN/model", "diabetes")`` registers the run's files as the
next version of the workspace's model ``diabetes``, exactly as the SDK's
``run.register_model(model_name="diabetes", model_path="model")`` does: one registry,
read by the SDK's ``Model``, the studio's model pages and MLflow alike. Versions are
immutable; aliases (``@champion``) are the workspace's model aliases, with their
history. A registered model exists once it has a version (Runyard keeps versions, not
empty names), and stages are not kept: MLflow deprecated them for aliases.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.entities.model_registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils

from runyard.entities import ModelVersion as RunyardVersion
from runyard.mlflow.errors import mlflow_errors
from runyard.workspace.mlflow_uri import ARTIFACT_SCHEME, parse_artifact_uri

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def version_entity(found: RunyardVersion) -> ModelVersion:
    """An MLflow model version: its source is the run folder it was registered from,
    where the workspace knows it."""
    source = found.properties.get("mlflow.source", "")
    return ModelVersion(
        name=found.name,
        version=str(found.version),
        creation_timestamp=_ms(found.created_at),
        last_updated_timestamp=_ms(found.created_at),
        description=found.description or None,
        current_stage="None",
        source=source or None,
        run_id=found.run_id,
        tags=[ModelVersionTag(k, v) for k, v in sorted(found.tags.items())],
        aliases=list(found.aliases),
    )


class RunyardRegistryStore(AbstractStore):
    """The model registry of the workspace a ``runyard:`` URI names."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__()
        self.store_uri = store_uri or "runyard:"

    @property
    def _tracking(self) -> Any:
        from runyard.mlflow.artifacts import _store

        return _store(self.store_uri)

    @property
    def workspace(self) -> Workspace:
        return self._tracking.workspace  # type: ignore[no-any-return]

    def _versions(self, name: str) -> list[RunyardVersion]:
        with mlflow_errors():
            return sorted(self.workspace.store.list_models(name), key=lambda v: v.version)

    def _version(self, name: str, version: str | int) -> RunyardVersion:
        with mlflow_errors():
            return self.workspace.store.get_model(name, int(version))

    def _registered(self, name: str) -> RegisteredModel:
        versions = self._versions(name)
        if not versions:
            raise MlflowException(
                f"Registered model {name!r} not found: it has no version; register one with "
                "mlflow.register_model(...)",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        return RegisteredModel(
            name=name,
            creation_timestamp=_ms(versions[0].created_at),
            last_updated_timestamp=_ms(versions[-1].created_at),
            latest_versions=[version_entity(versions[-1])],
            aliases=[RegisteredModelAlias(a, str(v.version)) for v in versions for a in v.aliases],
        )

    # -- registered models ----------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: Any = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        if self._versions(name):
            raise MlflowException(
                f"Registered model {name!r} already exists", error_code=RESOURCE_ALREADY_EXISTS
            )
        return RegisteredModel(name=name, description=description)  # kept with its first version

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._registered(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        with mlflow_errors():
            names = sorted({v.name for v in self.workspace.store.list_models()})
        found = SearchModelUtils.filter([self._registered(n) for n in names], filter_string)
        found = SearchModelUtils.sort(found, order_by or ["name ASC"])
        page, token = SearchModelUtils.paginate(found, page_token, max_results or 100)
        return PagedList(page, token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        versions = self._versions(name)
        if not versions or (stages and "None" not in stages):
            return []  # no stages are kept: every version is in stage "None"
        return [version_entity(versions[-1])]

    # -- versions ------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: list[ModelVersionTag] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        from runyard.core.model import Model
        from runyard.core.run import Run

        given = {t.key: t.value for t in tags or ()}
        props = {"mlflow.source": source}
        where = self._run_folder(source)
        with mlflow_errors():
            if local_model_path is not None or where is None:
                path = local_model_path or _local_path(source)
                model = Model.register(self.workspace, path, name, given, props, description)
            else:
                run = Run.get(self.workspace, where[0])
                options = {"tags": given, "properties": props, "description": description}
                model = run.register_model(name, where[1], **options)
            return version_entity(self._version(name, model.version))

    def _run_folder(self, source: str) -> tuple[str, str] | None:
        """(run id, folder) of a source among a run's files, else None."""
        if source.startswith("models:/m-"):
            source = self._tracking.get_logged_model(source[len("models:/") :]).artifact_location
        if source.startswith(f"{ARTIFACT_SCHEME}:"):
            return parse_artifact_uri(source)
        return None

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        return version_entity(self._version(name, version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        with mlflow_errors():
            found = [version_entity(v) for v in self.workspace.store.list_models()]
        found = SearchModelVersionUtils.filter(found, filter_string)
        found = SearchModelVersionUtils.sort(found, order_by or ["name ASC", "version_number DESC"])
        page, token = SearchModelVersionUtils.paginate(found, page_token, max_results or 10_000)
        return PagedList(page, token)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """A local folder holding the version's files (downloaded once, sha256-checked)."""
        from runyard.config import cache_dir
        from runyard.core.model import Model

        found = self._version(name, version)
        # By content: versions of one name in two workspaces differ, equal files do not.
        target = cache_dir() / "mlflow-models" / found.content_hash
        with mlflow_errors():
            model = Model(self.workspace, _version=found)
            path = Path(model.download(target, exist_ok=True))
        if path.is_dir() and not (path / "MLmodel").is_file():
            inner = [p for p in path.iterdir() if (p / "MLmodel").is_file()]
            path = inner[0] if inner else path
        return str(path)

    def update_model_version(self, name: str, version: str, description: str) -> ModelVersion:
        raise MlflowException(
            f"model {name} version {version} is kept as registered: its description cannot "
            "change; register a new version with the description",
            error_code=INVALID_PARAMETER_VALUE,
        )

    def set_model_version_tag(self, name: str, version: str, tag: ModelVersionTag) -> None:
        with mlflow_errors():
            self.workspace.store.update_model(name, int(version), add_tags={tag.key: tag.value})

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        with mlflow_errors():
            self.workspace.store.update_model(name, int(version), remove_tags=[key])

    # -- aliases -------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        with mlflow_errors():
            self.workspace.store.set_model_alias(name, alias, int(version), actor="mlflow")

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        with mlflow_errors():
            self.workspace.store.set_model_alias(name, alias, None, actor="mlflow")

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with mlflow_errors():
            return version_entity(self.workspace.store.get_model(name, alias=alias))


def _local_path(source: str) -> str:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(source)
    if parts.scheme in ("", "file"):
        return unquote(parts.path) if parts.scheme else source
    raise MlflowException(
        f"cannot register {source!r}: give a run's model (runs:/RUN_ID/PATH or models:/ID) "
        "or a local folder",
        error_code=INVALID_PARAMETER_VALUE,
    )
