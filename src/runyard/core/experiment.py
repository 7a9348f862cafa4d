"""``Experiment``: a named group of runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from runyard.config import validate_resource_name
from runyard.entities import RunKind, RunQuery
from runyard.errors import ConfigError, ValidationError
from runyard.tracking import validation as check

if TYPE_CHECKING:
    from runyard.core.run import Run
    from runyard.core.script_run_config import ScriptRunConfig
    from runyard.core.workspace import Workspace
    from runyard.entities import Experiment as ExperimentEntity

_R_co = TypeVar("_R_co", covariant=True)
# The SDK's view types (azureml's ViewType values) and the store's lifecycles.
_NAMES = ("ActiveOnly", "ArchivedOnly", "All")
_VIEW_TYPES = {"activeonly": "active", "archivedonly": "deleted", "all": "all"}


class SelfSubmitting(Protocol[_R_co]):
    """A config that submits itself (``HyperDriveConfig``): ``experiment.submit`` hands
    it over and returns its kind of run, so core needs not know the config."""

    def _submit_to(self, experiment: Experiment, tags: Mapping[str, str] | None) -> _R_co: ...


class Experiment:
    """``Experiment(workspace=ws, name="day1-experiment-train")``; created on first use."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        from runyard.core.workspace import Workspace

        if not isinstance(workspace, Workspace):
            raise ValidationError(
                f"Experiment needs a Workspace, got {type(workspace).__name__}; "
                "use Workspace.from_config()"
            )
        try:
            validate_resource_name("experiment", name)
        except ConfigError as exc:  # a name given in code is bad input, not bad config
            raise ValidationError(str(exc)) from None
        self.workspace = workspace
        self.name = name
        self._entity = workspace.store.get_or_create_experiment(name)

    @classmethod
    def _of(cls, workspace: Workspace, entity: ExperimentEntity) -> Experiment:
        experiment = cls.__new__(cls)
        experiment.workspace, experiment.name, experiment._entity = workspace, entity.name, entity
        return experiment

    @property
    def id(self) -> str:
        return self._entity.experiment_id

    def start_logging(
        self,
        display_name: str | None = None,
        *,
        system_metrics: bool | None = None,
        **_: object,
    ) -> Run:
        """Starts an interactive run logged by this process (as in a notebook).
        ``system_metrics=True`` (or ``RUNYARD_SYSTEM_METRICS=1``) samples this process's
        CPU, memory, I/O and GPUs under ``system/...`` until the run ends
        (docs/system-metrics.md)."""
        from runyard.core.run import Run
        from runyard.sysmetrics.offline import start_offline

        run = Run._start_interactive(
            self.workspace, self.id, kind=RunKind.INTERACTIVE, display_name=display_name or ""
        )
        journal = self.workspace.artifact_root / "runs" / run.id / "journal.bin"
        try:
            sampler = start_offline(journal, system_metrics)
        except Exception:
            run.fail("system metrics could not start")
            raise
        if sampler is not None:  # stopped by run.complete()/fail(), before the last ingest
            vars(run).setdefault("_on_finish", []).append(sampler.stop)
        return run

    @overload
    def submit(self, config: ScriptRunConfig, tags: Mapping[str, str] | None = None) -> Run: ...

    @overload
    def submit(
        self, config: SelfSubmitting[_R_co], tags: Mapping[str, str] | None = None
    ) -> _R_co: ...

    def submit(
        self,
        config: ScriptRunConfig | SelfSubmitting[object],
        tags: Mapping[str, str] | None = None,
    ) -> object:
        """Snapshots the source folder and queues the script on its compute target. A
        config that submits itself (``HyperDriveConfig``) returns its own kind of run."""
        if hasattr(config, "_submit_to"):
            return config._submit_to(self, tags)
        from runyard.core.submit import submit

        return submit(self, config, tags=tags)

    def get_runs(
        self,
        type: str | None = None,
        tags: str | Mapping[str, str] | None = None,
        properties: str | Mapping[str, str] | None = None,
        include_children: bool = False,
    ) -> Iterator[Run]:
        """The experiment's runs, newest first. ``tags`` and ``properties`` are a name
        (the run has it) or a dict (the run has each with that value), as in the SDK."""
        from runyard.core.run import Run

        exact = dict(tags) if isinstance(tags, Mapping) else {}
        # An archived experiment's runs are read as they were (those deleted one by one
        # stay out), as the SDK lists an archived experiment's runs.
        lifecycle = "all" if self.archived_time is not None else "active"
        offset = 0
        while True:
            page = self.workspace.store.search_runs(
                RunQuery(
                    experiment_id=self.id, tags=exact, limit=500, offset=offset, lifecycle=lifecycle
                )
            )
            for info in page.runs:
                if info.deleted_at is not None:
                    continue
                if not include_children and info.parent_run_id:
                    continue
                if type is not None and info.kind.value != type:
                    continue
                if not (_has(info.tags, tags) and _has(info.properties, properties)):
                    continue
                yield Run(self.workspace.store, info, workspace=self.workspace)
            offset += len(page.runs)
            if not page.runs or offset >= page.total:
                return

    @classmethod
    def list(
        cls,
        workspace: Workspace,
        experiment_name: str | None = None,
        view_type: str = "ActiveOnly",
        tags: object = None,
    ) -> list[Experiment]:
        """The workspace's experiments: ``view_type`` "ActiveOnly" (default),
        "ArchivedOnly" or "All", as in the SDK (whose reference spells them
        "ACTIVE_ONLY", "ARCHIVED_ONLY" and "ALL" too); ``experiment_name`` keeps that
        one; ``tags`` a tag name, or a dict of tags, that each must have."""
        lifecycle = _VIEW_TYPES.get(str(view_type).replace("_", "").lower())
        if lifecycle is None:
            raise ValidationError(f"view_type {view_type!r} is not one of {', '.join(_NAMES)}")
        if tags is not None and not isinstance(tags, str | Mapping):
            raise ValidationError("Experiment.list: tags is a tag name or a dict of tags")
        found = workspace.store.list_experiments(lifecycle)
        # Made from what the store listed, not looked up again one name at a time.
        return [
            cls._of(workspace, s.experiment)
            for s in found
            if experiment_name in (None, s.experiment.name) and _has(s.experiment.tags, tags)
        ]

    @staticmethod
    def delete(workspace: Workspace, experiment_id: str) -> None:
        """Deletes the experiment and all its runs for good (their metrics, files and
        folders; registered models keep theirs). A ConflictError while one of its runs
        has not ended. (:meth:`archive` is the delete that can be undone.)"""
        store = workspace.store
        store.delete_experiment(experiment_id)  # checks that every run has ended
        store.purge_deleted(experiment_ids=[experiment_id])

    # -- tags --------------------------------------------------------------------------

    @property
    def tags(self) -> dict[str, str]:
        """The experiment's tags (as last read: :meth:`refresh` reads them again)."""
        return dict(self._entity.tags)

    def tag(self, key: str, value: str | None = None) -> None:
        """Tags the experiment with ``key`` (and ``value``, "" when None)."""
        self.set_tags({key: "" if value is None else value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Adds or changes tags; tags not named stay as they are."""
        self._entity = self.workspace.store.set_experiment_tags(self.id, check.tags(tags))

    def remove_tags(self, tags: Iterable[str] | str) -> None:
        """Removes the named tags (names the experiment lacks are skipped)."""
        names = [tags] if isinstance(tags, str) else list(tags)
        self._entity = self.workspace.store.remove_experiment_tags(self.id, names)

    def refresh(self) -> None:
        """Reads the experiment again (tags, archived state) from the store."""
        self._entity = self.workspace.store.get_experiment(self.id)
        self.name = self._entity.name

    @property
    def archived_time(self) -> str | None:
        """When the experiment was archived (ISO 8601, UTC), or None while active."""
        deleted = self.workspace.store.get_experiment(self.id).deleted_at
        if deleted is None:
            return None
        return datetime.fromtimestamp(deleted, tz=timezone.utc).isoformat()

    def archive(self) -> None:
        """Archives the experiment: it and its runs leave the lists (the studio, ``runs
        list``, ``Experiment.list``) until :meth:`reactivate`; nothing is removed. A
        ConflictError while one of its runs has not ended."""
        self._entity = self.workspace.store.delete_experiment(self.id)

    def reactivate(self, new_name: str | None = None) -> None:
        """Undoes :meth:`archive`; with ``new_name``, under that name (a ConflictError,
        and nothing changed, when another experiment has it)."""
        store = self.workspace.store
        if new_name is not None and new_name != self.name:
            self._entity = store.rename_experiment(self.id, new_name)  # checks the name
            self.name = new_name
        self._entity = store.restore_experiment(self.id)

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r}, workspace={self.workspace.name!r})"


def _has(values: Mapping[str, str], wanted: str | Mapping[str, str] | None) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted in values
    return all(values.get(k) == v for k, v in wanted.items())
