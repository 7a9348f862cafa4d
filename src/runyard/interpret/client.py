"""``ExplanationClient``: explanations stored as files of a run.

Each upload is a folder ``explanation/<id>/`` of the run: interpret-community's own
serialisation (``save_explanation``: one JSON file per field) and ``runyard.json``, what
``list_model_explanations`` answers (id, comment, time, raw or engineered, global or local).
Files go through the run's public file calls, so an explanation uploaded from a submitted
script arrives as the script's other files do, and a download works from any process
that can read the run.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.errors import NotFoundError, ValidationError
from runyard.interpret import top_k as top_k_mod

if TYPE_CHECKING:
    from runyard.core.run import Run
    from runyard.core.workspace import Workspace

PREFIX = "explanation/"
META = "runyard.json"
_INSTALL = "pip install 'runyard[interpret]' (interpret-community)"


def _serialiser() -> Any:
    try:
        from interpret_community.explanation import explanation
    except ImportError as exc:
        raise ImportError(
            f"explanations are saved by interpret-community, which is not installed: {_INSTALL}"
        ) from exc
    return explanation


class ExplanationClient:
    """Uploads, lists and downloads a run's model explanations (``azureml.interpret``)."""

    def __init__(self, run: Run, datastore_name: str | None = None) -> None:
        self._run = run
        # The cloud keeps explanations in a datastore; here they are the run's files.
        self.datastore_name = datastore_name

    @classmethod
    def from_run(cls, run: Run, datastore_name: str | None = None) -> ExplanationClient:
        """The client of ``run`` (an interactive run, ``Run.get_context()``, or one read back)."""
        return cls(run, datastore_name)

    @classmethod
    def from_run_id(
        cls,
        workspace: Workspace,
        experiment_name: str,
        run_id: str,
        datastore_name: str | None = None,
    ) -> ExplanationClient:
        """The client of the run ``run_id`` of ``experiment_name`` in ``workspace``."""
        from runyard.core.run import Run

        run = Run.get(workspace, run_id)
        if run.experiment.name != experiment_name:
            raise NotFoundError(
                f"run {run_id!r} belongs to experiment {run.experiment.name!r}, not "
                f"{experiment_name!r}"
            )
        return cls(run, datastore_name)

    @property
    def run(self) -> Run:
        return self._run

    def upload_model_explanation(
        self,
        explanation: Any,
        max_num_blocks: int | None = None,
        block_size: int | None = None,
        top_k: int | None = None,
        comment: str | None = None,
        init_dataset_id: str | None = None,
        eval_dataset_id: str | None = None,
        ground_truth_dataset_id: str | None = None,
        model_id: str | None = None,
        true_ys: Any = None,
        visualization_points: int = 5000,
    ) -> dict[str, Any]:
        """Stores ``explanation`` (its ``top_k`` features only, if given) with ``comment``;
        returns its entry as ``list_model_explanations`` shows it. ``max_num_blocks`` and
        ``block_size`` (how the cloud splits uploads) change nothing here; the dataset and
        model ids and ``true_ys`` are kept in the entry."""
        serialiser = _serialiser()
        kind = "local" if _is_local_only(explanation) else "global"
        entry: dict[str, Any] = {
            # Each upload is an entry of its own, the same explanation twice included.
            "id": uuid.uuid4().hex,
            "explanation_id": str(getattr(explanation, "id", "") or ""),
            "comment": comment,
            "upload_time": dt.datetime.now(dt.timezone.utc).isoformat(),
            "raw": bool(getattr(explanation, "is_raw", False)),
            "engineered": bool(getattr(explanation, "is_engineered", False)),
            "kind": kind,
            "top_k": top_k,
            "model_id": model_id,
            "init_dataset_id": init_dataset_id,
            "eval_dataset_id": eval_dataset_id,
            "ground_truth_dataset_id": ground_truth_dataset_id,
            "visualization_points": visualization_points,
        }
        if true_ys is not None:
            entry["true_ys"] = [_plain(y) for y in true_ys]
        with tempfile.TemporaryDirectory(prefix="runyard-explanation-") as tmp:
            folder = Path(tmp) / entry["id"]
            serialiser.save_explanation(explanation, str(folder))
            if top_k is not None:
                top_k_mod.keep_top_k(folder, _check_k(top_k))
            (folder / META).write_text(json.dumps(entry, indent=1), encoding="utf-8")
            self._run.upload_folder(PREFIX + entry["id"], folder)
        return entry

    def list_model_explanations(
        self, comment: str | None = None, raw: bool | None = None, engineered: bool | None = None
    ) -> list[dict[str, Any]]:
        """The run's explanations, oldest first; ``comment``, ``raw`` and ``engineered``
        keep those that match."""
        found = []
        for name in self._run.get_file_names():
            if not (name.startswith(PREFIX) and name.endswith("/" + META)):
                continue
            if name.count("/") != 2:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                path = self._run.download_file(name, Path(tmp) / META)
                entry = json.loads(Path(path).read_text(encoding="utf-8"))
            if comment is not None and entry.get("comment") != comment:
                continue
            if raw is not None and entry.get("raw") != raw:
                continue
            if engineered is not None and entry.get("engineered") != engineered:
                continue
            found.append(entry)
        return sorted(found, key=lambda e: str(e.get("upload_time")))

    def download_model_explanation(
        self,
        explanation_id: str | None = None,
        top_k: int | None = None,
        comment: str | None = None,
        raw: bool | None = None,
        engineered: bool | None = None,
    ) -> Any:
        """An explanation of the run: ``explanation_id``'s, else the newest one matching
        ``comment``/``raw``/``engineered``; with ``top_k``, its ``k`` most important
        features only. NotFoundError names the explanations there are."""
        entries = self.list_model_explanations(comment=comment, raw=raw, engineered=engineered)
        if explanation_id is not None:
            entries = [e for e in entries if e["id"] == explanation_id]
        if not entries:
            have = [e["id"] for e in self.list_model_explanations()]
            wanted = f"explanation {explanation_id!r}" if explanation_id else "explanation"
            raise NotFoundError(
                f"run {self._run.id} has no {wanted} matching comment={comment!r}, raw={raw!r}, "
                f"engineered={engineered!r}; it has {have or 'none'} "
                "(upload one with upload_model_explanation)"
            )
        entry = entries[-1]
        serialiser = _serialiser()
        with tempfile.TemporaryDirectory(prefix="runyard-explanation-") as tmp:
            self._run.download_files(
                prefix=f"{PREFIX}{entry['id']}/", output_directory=tmp, append_prefix=False
            )
            folder = Path(tmp)
            (folder / META).unlink(missing_ok=True)
            if top_k is not None:
                top_k_mod.keep_top_k(folder, _check_k(top_k))
            return serialiser.load_explanation(str(folder))


def _check_k(top_k: Any) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValidationError(f"top_k must be a whole number of features, 1 or more; got {top_k!r}")
    return top_k


def _is_local_only(explanation: Any) -> bool:
    return getattr(explanation, "global_importance_values", None) is None and hasattr(
        explanation, "local_importance_values"
    )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
