"""An explanation's ``k`` most important features, cut from its saved form.

interpret-community saves an explanation as one JSON file per field, each
``{"metadata": "list", "data": ...}``; the fields indexed by feature are cut to the ``k``
features of highest global importance (for a local-only explanation, of highest mean
absolute local importance), in their original order, and the ranks are made again for
what is left. Data whose columns are not the explanation's features (raw data under
``transformations``) is left whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from runyard.errors import ValidationError

_DATA_FILES = ("eval_data.json", "init_data.json")


def _read(folder: Path, name: str) -> Any:
    path = folder / name
    if not path.exists():
        return None
    field = json.loads(path.read_text(encoding="utf-8"))
    if field.get("metadata") != "list":
        raise ValidationError(
            f"top_k cuts dense explanations; {name} is stored as {field.get('metadata')!r}: "
            "download the whole explanation (no top_k)"
        )
    return field["data"]


def _write(folder: Path, name: str, data: Any) -> None:
    text = json.dumps({"metadata": "list", "data": np.asarray(data).tolist()})
    (folder / name).write_text(text, encoding="utf-8")


def _ranks(values: Any) -> list[int]:
    return [int(i) for i in np.argsort(-np.asarray(values, dtype=float), kind="stable")]


def keep_top_k(folder: Path, k: int) -> None:
    """Rewrites the explanation saved in ``folder`` to hold its ``k`` top features."""
    features = _read(folder, "features.json")
    global_values = _read(folder, "global_importance_values.json")
    local_values = _read(folder, "local_importance_values.json")
    if global_values is not None:
        importance = np.asarray(global_values, dtype=float)
    elif local_values is not None:
        arr = np.abs(np.asarray(local_values, dtype=float))
        importance = arr.reshape(-1, arr.shape[-1]).mean(axis=0)
    else:
        raise ValidationError("the explanation has no feature importances to rank for top_k")
    count = len(importance)
    if k >= count:
        return
    keep = sorted(_ranks(importance)[:k])
    if features is not None:
        _write(folder, "features.json", [features[i] for i in keep])
    if global_values is not None:
        kept = importance[keep]
        _write(folder, "global_importance_values.json", kept)
        _write(folder, "global_importance_rank.json", _ranks(kept))
    per_class = _read(folder, "per_class_values.json")
    if per_class is not None:
        kept_pc = np.asarray(per_class, dtype=float)[:, keep]
        _write(folder, "per_class_values.json", kept_pc)
        _write(folder, "per_class_rank.json", [_ranks(row) for row in kept_pc])
    if local_values is not None:
        _write(folder, "local_importance_values.json", np.asarray(local_values)[..., keep])
    for name in _DATA_FILES:
        data = _read(folder, name)
        if data is not None and np.ndim(data) == 2 and np.shape(data)[1] == count:
            _write(folder, name, np.asarray(data, dtype=object)[:, keep])
    meta_path = folder / "explanation_metadata.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if "num_features" in meta:
            meta["num_features"] = len(keep)
            meta_path.write_text(json.dumps(meta), encoding="utf-8")
