"""Dataset outputs of a submitted run (``OutputFileDatasetConfig``): a local folder the
script writes, uploaded to its datastore when the script succeeds and, when asked,
registered as a dataset version the run made (a lineage "output" link).

For the local datastore the folder *is* the destination (nothing to upload); for a
remote one it is a folder in the run's working directory, uploaded at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.assets.datastores import DatastoreSpec, clean_path

if TYPE_CHECKING:
    from runyard.store.runner_protocol import RunnerStore


def destination(record: Mapping[str, Any], run_id: str) -> tuple[DatastoreSpec, str]:
    out = record["output"]
    path = str(out["path"]).replace("{run-id}", run_id).replace("{output-name}", record["name"])
    return DatastoreSpec.from_dict(out["datastore"]), clean_path(path)


def output_folder(record: Mapping[str, Any], work_dir: Path, run_id: str) -> Path:
    spec, path = destination(record, run_id)
    if spec.kind == "file":
        folder = spec.root / path
    else:
        folder = Path(work_dir) / ".runyard" / "outputs" / str(record["name"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def finish_outputs(
    store: RunnerStore, run_id: str, definition: Mapping[str, Any], work_dir: Path
) -> list[str]:
    """Uploads and registers the run's outputs; returns what it did, for the log."""
    from runyard.assets import datasets as ds
    from runyard.assets.backends import open_backend
    from runyard.assets.transfer import tree_files, upload
    from runyard.config import cache_dir

    done = []
    for name, record in (definition.get("inputs") or {}).items():
        if record.get("mode") != "output":
            continue
        spec, path = destination(record, run_id)
        if spec.kind != "file":
            folder = output_folder(record, work_dir, run_id)
            overwrite = bool(record["output"].get("overwrite"))
            moved = upload(
                open_backend(spec),
                tree_files(folder),
                path,
                overwrite=overwrite,
                show_progress=False,
            )
            done.append(f"output {name!r}: {moved.files} files uploaded to {spec.url}/{path}")
        definition_ = ds.make_definition(spec, [path])
        register = record["output"].get("register")
        dataset_id = None
        if register:
            manifest, _ = ds.manifest_of(definition_, cache_dir() / "datasets")
            version = store.register_dataset(
                register["name"],
                kind="file",
                definition=definition_,
                manifest=manifest,
                content_hash=ds.definition_hash(definition_, manifest),
                description=register.get("description") or "",
                tags=register.get("tags") or {},
                create_new_version=True,
                run_id=run_id,
            )
            dataset_id = version.dataset_id
            done.append(f"output {name!r}: registered as {version.name}:{version.version}")
        store.add_run_dataset(
            run_id,
            "output",
            name,
            dataset_id,
            {"datastore": spec.name, "url": spec.url, "paths": [path]},
        )
    return done
