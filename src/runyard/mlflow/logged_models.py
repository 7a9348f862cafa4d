"""MLflow 3's logged models, kept in their run: what ``mlflow.<flavor>.log_model`` makes.

A logged model is a folder of its source run's files (``model/MLmodel``,
``model/model.pkl`` ... as the cloud shows them, so ``run.register_model(model_path=
"model")`` finds it) and a record beside the run's other files,
``.mlflow/models/MODEL_ID.json``. The model id carries its run id
(``m-HEX-RUN_ID``), so ``models:/MODEL_ID`` is found without a search.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlflow.entities import LoggedModel, LoggedModelStatus, Metric, RunTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.entities.paged_list import PagedList
from mlflow.utils.search_utils import SearchLoggedModelsUtils

from runyard.errors import NotFoundError
from runyard.workspace.mlflow_uri import artifact_uri, parse_artifact_uri

if TYPE_CHECKING:
    from mlflow.entities import LoggedModelParameter, LoggedModelTag
    from mlflow.entities import Run as MlflowRun

    from runyard.core.run import Run
    from runyard.store.artifacts import ArtifactRepository

RECORDS = ".mlflow/models"
MODELS_TAG = "runyard.mlflow.models"  # the run's logged models (ids, JSON), for searches
_HISTORY_TAG = "mlflow.log-model.history"  # the tag MLflow's own stores keep


def _record_path(model_id: str) -> str:
    return f"{RECORDS}/{model_id}.json"


def run_of(model_id: str) -> str:
    """The run a model id names (``m-HEX-RUN_ID``)."""
    prefix, _, rest = model_id.partition("-")
    _, _, run_id = rest.partition("-")
    if prefix != "m" or not run_id:
        raise MlflowException(
            f"{model_id!r} is not a Runyard logged model id (m-HEX-RUN_ID)",
            error_code=RESOURCE_DOES_NOT_EXIST,
        )
    return run_id


class LoggedModels:
    """The logged-model half of :class:`runyard.mlflow.store.RunyardMlflowStore`."""

    if TYPE_CHECKING:

        def _handle(self, run_id: str) -> Run: ...
        def _artifacts(self, run_id: str) -> ArtifactRepository: ...
        def get_run(self, run_id: str) -> MlflowRun: ...
        def _all_runs(self, experiment_ids: Sequence[str]) -> list[MlflowRun]: ...
        def log_batch(
            self, run_id: str, metrics: Sequence[Any], params: Sequence[Any], tags: Sequence[Any]
        ) -> None: ...

    _models: dict[str, LoggedModel]

    def _written(self) -> dict[str, LoggedModel]:
        # Read-your-writes inside a submitted run, whose uploads the runner copies later.
        if not hasattr(self, "_models"):
            self._models = {}
        return self._models

    def _save(self, model: LoggedModel) -> LoggedModel:
        assert model.source_run_id is not None
        data = model.to_dictionary()
        data["metrics"] = [m.to_dictionary() for m in model.metrics or ()]
        record = json.dumps(data, sort_keys=True).encode()
        self._handle(model.source_run_id).upload_file(
            _record_path(model.model_id), io.BytesIO(record)
        )
        self._written()[model.model_id] = model
        return model

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: list[LoggedModelTag] | None = None,
        params: list[LoggedModelParameter] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        if not source_run_id:
            raise MlflowException(
                "a Runyard logged model is kept in its run's files: log the model inside "
                "mlflow.start_run() (or pass run_id=)",
                error_code=INVALID_PARAMETER_VALUE,
            )
        run = self.get_run(source_run_id)
        name = name or "model"
        now = int(time.time() * 1000)
        model = LoggedModel(
            experiment_id=run.info.experiment_id or str(experiment_id),
            model_id=f"m-{uuid.uuid4().hex[:16]}-{source_run_id}",
            name=name,
            artifact_location=artifact_uri(source_run_id, name),
            creation_timestamp=now,
            last_updated_timestamp=now,
            model_type=model_type,
            source_run_id=source_run_id,
            status=LoggedModelStatus.PENDING,
            tags={t.key: t.value for t in tags or ()},
            params={p.key: p.value for p in params or ()},
        )
        self._save(model)
        known = json.loads(run.data.tags.get(MODELS_TAG, "[]"))
        self.log_batch(
            source_run_id, [], [], [RunTag(MODELS_TAG, json.dumps([*known, model.model_id]))]
        )
        return model

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        written = self._written().get(model_id)
        if written is not None:
            return written
        run_id = run_of(model_id)
        try:
            data = json.loads(self._artifacts(run_id).read_bytes(run_id, _record_path(model_id)))
        except NotFoundError:
            raise MlflowException(
                f"no logged model {model_id} in run {run_id}", error_code=RESOURCE_DOES_NOT_EXIST
            ) from None
        metrics = [Metric(**m) for m in data.pop("metrics", None) or ()]
        return LoggedModel(**data, metrics=metrics or None)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """The logged models of the experiments' runs (found through each run's
        ``runyard.mlflow.models`` tag), filtered, sorted and paged as MLflow's stores do."""
        models = [
            self.get_logged_model(model_id)
            for run in self._all_runs(experiment_ids)
            for model_id in json.loads(run.data.tags.get(MODELS_TAG, "[]"))
        ]
        models = SearchLoggedModelsUtils.filter_logged_models(models, filter_string, datasets)
        models = SearchLoggedModelsUtils.sort(models, order_by)
        page, token = SearchLoggedModelsUtils.paginate(models, page_token, max_results or 100)
        return PagedList(page, token)

    def model_folders(self, run_id: str) -> list[str]:
        """The folders of the run's files that hold its logged models."""
        tags = self.get_run(run_id).data.tags
        return [
            parse_artifact_uri(self.get_logged_model(model_id).artifact_location)[1]
            for model_id in json.loads(tags.get(MODELS_TAG, "[]"))
        ]

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        model = self.get_logged_model(model_id)
        model.status = status
        model.last_updated_timestamp = int(time.time() * 1000)
        return self._save(model)

    def set_logged_model_tags(self, model_id: str, tags: list[LoggedModelTag]) -> None:
        model = self.get_logged_model(model_id)
        for tag in tags:
            model._add_tag(tag)
        self._save(model)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        model = self.get_logged_model(model_id)
        if key not in model.tags:
            raise MlflowException(
                f"logged model {model_id} has no tag {key!r}", error_code=RESOURCE_DOES_NOT_EXIST
            )
        del model._tags[key]
        self._save(model)

    def _link_metrics(self, metrics: Sequence[Metric]) -> None:
        """Metrics MLflow gives with a ``model_id`` are the model's too: kept in the
        model's record (the run's store decides whether they are new run values)."""
        by_model: dict[str, list[Metric]] = {}
        for metric in metrics:
            by_model.setdefault(str(metric.model_id), []).append(metric)
        for model_id, linked in by_model.items():
            model = self.get_logged_model(model_id)
            model.metrics = [*(model.metrics or ()), *linked]
            self._save(model)

    def log_outputs(self, run_id: str, models: list[Any]) -> None:
        """Which logged models the run produced: their records are in its files."""
        for output in models:
            if run_of(output.model_id) != run_id:
                raise MlflowException(
                    f"logged model {output.model_id} belongs to run {run_of(output.model_id)}, "
                    f"not {run_id}",
                    error_code=INVALID_PARAMETER_VALUE,
                )

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """Appends the model's summary to the run's ``mlflow.log-model.history`` tag, as
        MLflow's own stores do."""
        tags = self.get_run(run_id).data.tags
        history = json.loads(tags.get(_HISTORY_TAG, "[]"))
        history.append(mlflow_model.get_tags_dict())
        self.log_batch(run_id, [], [], [RunTag(_HISTORY_TAG, json.dumps(history))])
