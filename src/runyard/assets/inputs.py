"""Dataset inputs of a submitted run: recorded at submit, resolved by the runner.

``dataset.as_named_input("input").as_mount()`` in a ScriptRunConfig's arguments is an
``InputBinding``. Submitting turns each into a token argument
(``DatasetConsumptionConfig:input``) and an entry of the run definition's ``inputs``
(mode, where, and the dataset's definition and version). The runner, on the machine
that runs the script, replaces each token by a local path (:func:`resolve_inputs`)
and passes every path in ``RUNYARD_INPUT_DATASETS``, which
``Run.get_context().input_datasets`` reads with the standard library alone.
"""

from __future__ import annotations

import abc
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.store.base import Store

TOKEN_PREFIX = "DatasetConsumptionConfig:"
ENV_INPUT_DATASETS = "RUNYARD_INPUT_DATASETS"
MODES = ("mount", "download", "output")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InputBinding(abc.ABC):
    """A dataset bound to a run: becomes a local path when the run starts."""

    @abc.abstractmethod
    def input_record(self) -> dict[str, Any]:
        """``{"name", "mode", "path_on_compute", "dataset": {"id", "name", "version",
        "kind", "definition", "content_hash"}}``."""


def check_input_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > 255:
        raise ValidationError(
            f"dataset input name {name!r} must start with a letter or '_' and hold only "
            "letters, digits and '_' (it becomes a key of run.input_datasets)"
        )
    return name


def keep_bindings(arguments: Sequence[Any]) -> list[Any]:
    """ScriptRunConfig arguments as strings, except dataset bindings (kept whole)."""
    return [a if isinstance(a, InputBinding) else str(a) for a in arguments]


def submission_inputs(
    arguments: Sequence[Any], extra: Iterable[Any] = ()
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The run's arguments with tokens in place of bindings, and its ``inputs``."""
    inputs: dict[str, dict[str, Any]] = {}

    def add(binding: InputBinding) -> str:
        record = binding.input_record()
        name = check_input_name(record["name"])
        if record.get("mode") not in MODES:
            raise ValidationError(f"dataset input {name!r}: mode must be one of {MODES}")
        if name in inputs and inputs[name] != record:
            raise ValidationError(
                f"two different datasets are bound to input name {name!r}; give each "
                "its own as_named_input(name)"
            )
        inputs[name] = record
        return TOKEN_PREFIX + name

    args = [add(a) if isinstance(a, InputBinding) else str(a) for a in arguments]
    for binding in extra:
        if isinstance(binding, InputBinding):
            add(binding)
    return args, inputs


def lineage_source(record: Mapping[str, Any]) -> dict[str, Any]:
    """Where an input's files are, for its lineage link."""
    dataset = record["dataset"]
    spec = dataset["definition"]["datastore"]
    return {
        "datastore": spec["name"],
        "url": spec["url"],
        "paths": list(dataset["definition"]["paths"]),
        "mode": record["mode"],
    }


def _destination(record: Mapping[str, Any], work_dir: Path) -> Path:
    where = record.get("path_on_compute")
    if where:
        path = Path(str(where)).expanduser()
        return path if path.is_absolute() else work_dir / path
    return work_dir / "inputs" / str(record["name"])


ManifestLookup = Callable[[str], Mapping[str, Sequence[Any]]]


def single_file(definition: Mapping[str, Any], folder: Path) -> Path | None:
    """The one file of a dataset made from one file's path (no folder, no pattern) in
    its local ``folder``: the script's argument is that file, as in Azure ML, where
    ``Dataset.File.from_files(store.path('data/iris.csv')).as_mount()`` is opened with
    ``open(sys.argv[1])``. None for any other dataset."""
    paths = definition.get("paths") or []
    if len(paths) != 1 or set("*?[") & set(str(paths[0])):
        return None
    candidate = folder / PurePosixPath(str(paths[0])).name
    entries = list(folder.iterdir()) if folder.is_dir() else []
    return candidate if entries == [candidate] and candidate.is_file() else None


def materialize_input(
    record: Mapping[str, Any],
    work_dir: Path,
    cache_root: Path,
    manifest_of_id: ManifestLookup | None = None,
) -> Path:
    """The local path of one input on this machine. A registered version's manifest
    (from ``manifest_of_id``) is checked, and only its files are shown."""
    from runyard.assets.datasets import download_files, list_files, materialize
    from runyard.assets.datastores import DatastoreSpec

    dataset = record["dataset"]
    definition = dataset["definition"]
    label = f"{dataset.get('name') or record['name']}:{dataset.get('version') or 'unregistered'}"
    expected = None
    if dataset.get("id") and manifest_of_id is not None:
        expected = manifest_of_id(str(dataset["id"]))
    if record["mode"] == "mount":
        scratch = work_dir / ".runyard" / "inputs" / str(record["name"])
        return materialize(definition, expected, label, cache_root, scratch)
    from runyard.assets.backends import open_backend

    dest = _destination(record, work_dir)
    spec = DatastoreSpec.from_dict(definition["datastore"])
    if spec.kind != "file":
        from runyard.assets.remote import materialize_remote

        return materialize_remote(definition, expected, label, cache_root, dest)
    backend = open_backend(spec)
    files = list_files(definition, backend)
    if expected is not None:
        files = [f for f in files if f[0] in expected]
    download_files(backend, files, dest, expected, overwrite=True)
    return dest


def resolve_inputs(
    definition: Mapping[str, Any],
    work_dir: Path,
    manifest_of_id: ManifestLookup | None = None,
    cache_root: Path | None = None,
    run_id: str = "",
) -> tuple[list[str], dict[str, str]]:
    """The script's arguments with each dataset token replaced by its local path, and
    the environment variable that lists every input's path. ``cache_root`` is the
    per-machine cache (default: the user's cache folder). Raises a RunyardError saying
    why an input cannot be read."""
    if cache_root is None:
        from runyard.config import cache_dir

        cache_root = cache_dir() / "datasets"
    paths: dict[str, str] = {}
    for name, record in (definition.get("inputs") or {}).items():
        try:
            if record["mode"] == "output":
                from runyard.assets.outputs import output_folder

                local = output_folder(record, Path(work_dir), run_id)
            else:
                local = materialize_input(record, Path(work_dir), Path(cache_root), manifest_of_id)
                local = single_file(record["dataset"]["definition"], local) or local
            paths[name] = str(local)
        except OSError as exc:
            raise ValidationError(f"dataset input {name!r} cannot be read: {exc}") from None
    arguments = []
    for arg in definition.get("arguments") or []:
        text = str(arg)
        if text.startswith(TOKEN_PREFIX) and text[len(TOKEN_PREFIX) :] in paths:
            text = paths[text[len(TOKEN_PREFIX) :]]
        arguments.append(text)
    return arguments, ({ENV_INPUT_DATASETS: json.dumps(paths)} if paths else {})


def input_datasets() -> dict[str, str]:
    """Inside a submitted run: input name -> local path (empty elsewhere)."""
    try:
        found = json.loads(os.environ.get(ENV_INPUT_DATASETS) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def record_lineage(store: Store, run_id: str, inputs: Mapping[str, Mapping[str, Any]]) -> None:
    """Records each input as a dataset the run reads (by id when registered)."""
    for name, record in inputs.items():
        if record["mode"] == "output":
            continue  # recorded when the run has written it (assets/outputs.py)
        store.add_run_dataset(
            run_id, "input", name, record["dataset"].get("id"), lineage_source(record)
        )
