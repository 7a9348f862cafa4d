"""``mlflow gc`` on a Runyard workspace: the hooks MLflow's command looks for on a
tracking store, over :meth:`runyard.store.base.Store.purge_deleted` (what ``runyard gc``
does). A purged run goes with its files, so the artifact repository's
``delete_artifacts``, which ``mlflow gc`` calls first, leaves them to the purge."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from runyard.mlflow.errors import mlflow_errors

if TYPE_CHECKING:
    from runyard.core.workspace import Workspace
    from runyard.entities import Experiment


class Purging:
    """``_get_deleted_runs``, ``_hard_delete_run`` and ``_hard_delete_experiment``."""

    if TYPE_CHECKING:

        @property
        def workspace(self) -> Workspace: ...

        def _experiment(self, experiment_id: str) -> Experiment: ...

    def _get_deleted_runs(self, older_than: int = 0) -> list[str]:
        """Ids of the deleted runs (those of deleted experiments included) deleted at
        least ``older_than`` milliseconds ago."""
        before = time.time() - older_than / 1000 if older_than else None
        with mlflow_errors():
            plan = self.workspace.store.purge_deleted(deleted_before=before, dry_run=True)
        return list(plan.run_ids)

    def _hard_delete_run(self, run_id: str) -> None:
        with mlflow_errors():
            self.workspace.store.purge_deleted(run_ids=[run_id])

    def _hard_delete_experiment(self, experiment_id: str) -> None:
        with mlflow_errors():
            target = self._experiment(experiment_id).experiment_id  # "0": Default
            self.workspace.store.purge_deleted(experiment_ids=[target])
