"""The experiment half of :class:`runyard.mlflow.store.RunyardMlflowStore`.

MLflow's experiments are the workspace's; MLflow's default experiment (id ``0``,
"Default") is the workspace's experiment named ``Default``, made on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlflow.entities import Experiment as MlflowExperiment
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.utils.search_utils import SearchExperimentsUtils

from runyard.mlflow import entities as convert
from runyard.mlflow.errors import mlflow_errors
from runyard.workspace.mlflow_uri import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace
    from runyard.entities import Experiment


def lifecycle(view_type: int) -> str:
    """The store's lifecycle for an MLflow ViewType."""
    return {ViewType.ACTIVE_ONLY: "active", ViewType.DELETED_ONLY: "deleted"}.get(view_type, "all")


class Experiments:
    """Experiments: found by id or name, created, searched."""

    if TYPE_CHECKING:

        @property
        def workspace(self) -> Workspace: ...

    _default: str | None = None

    def _experiment(self, experiment_id: str) -> Experiment:
        store = self.workspace.store
        with mlflow_errors():
            if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
                return store.get_or_create_experiment(DEFAULT_EXPERIMENT_NAME)
            return store.get_experiment(str(experiment_id))

    def _mlflow_experiment(self, entity: Experiment) -> MlflowExperiment:
        default = entity.name == DEFAULT_EXPERIMENT_NAME
        return convert.experiment(entity, str(self.workspace.artifact_root), default=default)

    def _default_id(self) -> str | None:
        """The Runyard id of the workspace's "Default" (MLflow's 0), once there is one."""
        if self._default is None:
            found = self.workspace.store.get_experiment_by_name(DEFAULT_EXPERIMENT_NAME)
            self._default = None if found is None else found.experiment_id
        return self._default

    def get_experiment(self, experiment_id: str) -> MlflowExperiment:
        return self._mlflow_experiment(self._experiment(experiment_id))

    def get_experiment_by_name(self, experiment_name: str) -> MlflowExperiment | None:
        with mlflow_errors():
            found = self.workspace.store.get_experiment_by_name(experiment_name)
        return None if found is None else self._mlflow_experiment(found)

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Any = None
    ) -> str:
        store = self.workspace.store
        with mlflow_errors():
            if store.get_experiment_by_name(name) is not None:
                raise MlflowException(
                    f"Experiment {name!r} already exists", error_code=RESOURCE_ALREADY_EXISTS
                )
            made = store.get_or_create_experiment(name)
            if tags:
                store.set_experiment_tags(made.experiment_id, {t.key: t.value for t in tags})
            return made.experiment_id

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[MlflowExperiment]:
        with mlflow_errors():
            found = [
                self._mlflow_experiment(s.experiment)
                for s in self.workspace.store.list_experiments(lifecycle(view_type))
            ]
        found = SearchExperimentsUtils.filter(found, filter_string)
        found = SearchExperimentsUtils.sort(found, order_by or ["creation_time DESC"])
        page, token = SearchExperimentsUtils.paginate(found, page_token, max_results)
        return PagedList(page, token)

    def delete_experiment(self, experiment_id: str) -> None:
        """A soft delete (Runyard's ``experiments delete``): restore undoes it."""
        with mlflow_errors():
            self.workspace.store.delete_experiment(self._experiment(experiment_id).experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        with mlflow_errors():
            self.workspace.store.restore_experiment(self._experiment(experiment_id).experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        with mlflow_errors():
            target = self._experiment(experiment_id).experiment_id
            self.workspace.store.rename_experiment(target, new_name)
        if target == self._default:
            self._default = None  # "Default" (MLflow's 0) is found by name again

    def link_traces_to_run(self, trace_ids: list[str], run_id: str) -> None:
        raise MlflowException(
            "Runyard keeps no MLflow traces; log the run's metrics, params and files",
            error_code=INVALID_PARAMETER_VALUE,
        )

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        with mlflow_errors():
            target = self._experiment(experiment_id).experiment_id
            self.workspace.store.set_experiment_tags(target, {tag.key: str(tag.value)})

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with mlflow_errors():
            target = self._experiment(experiment_id)
            if key not in target.tags:  # as MLflow's own stores answer
                raise MlflowException(
                    f"No tag with name: {key} in experiment with id {experiment_id}",
                    error_code=RESOURCE_DOES_NOT_EXIST,
                )
            self.workspace.store.remove_experiment_tags(target.experiment_id, [key])
