"""runyard.interpret without interpret-community: the top-k cut of a saved explanation,
listing and its errors (the whole flow, with the real explainers, is
tests/sdk_v1/test_explain.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runyard.core import Experiment, Workspace
from runyard.errors import NotFoundError, ValidationError
from runyard.interpret import ExplanationClient
from runyard.interpret.top_k import keep_top_k


def _save(folder: Path, **fields: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in fields.items():
        (folder / f"{name}.json").write_text(json.dumps({"metadata": "list", "data": data}))


def _load(folder: Path, name: str) -> object:
    return json.loads((folder / f"{name}.json").read_text())["data"]


def test_top_k_keeps_the_most_important_features_in_their_order(tmp_path: Path) -> None:
    _save(
        tmp_path,
        features=["a", "b", "c", "d"],
        global_importance_values=[0.1, 0.9, 0.3, 0.5],
        global_importance_rank=[1, 3, 2, 0],
        per_class_values=[[0.1, 0.9, 0.3, 0.5], [0.4, 0.2, 0.8, 0.1]],
        per_class_rank=[[1, 3, 2, 0], [2, 0, 1, 3]],
        local_importance_values=[[[1, 2, 3, 4], [5, 6, 7, 8]], [[-1, -2, -3, -4], [0, 0, 0, 0]]],
        eval_data=[[10, 20, 30, 40], [50, 60, 70, 80]],
        init_data=[[1, 2], [3, 4]],  # raw data of another width: left whole
    )
    (tmp_path / "explanation_metadata.json").write_text(json.dumps({"num_features": 4}))
    keep_top_k(tmp_path, 2)
    assert _load(tmp_path, "features") == ["b", "d"]
    assert _load(tmp_path, "global_importance_values") == [0.9, 0.5]
    assert _load(tmp_path, "global_importance_rank") == [0, 1]
    assert _load(tmp_path, "per_class_values") == [[0.9, 0.5], [0.2, 0.1]]
    assert _load(tmp_path, "per_class_rank") == [[0, 1], [0, 1]]
    assert _load(tmp_path, "local_importance_values") == [[[2, 4], [6, 8]], [[-2, -4], [0, 0]]]
    assert _load(tmp_path, "eval_data") == [[20, 40], [60, 80]]
    assert _load(tmp_path, "init_data") == [[1, 2], [3, 4]]
    assert json.loads((tmp_path / "explanation_metadata.json").read_text())["num_features"] == 2


def test_top_k_of_a_local_explanation_ranks_by_mean_absolute_importance(tmp_path: Path) -> None:
    _save(tmp_path, features=["a", "b", "c"], local_importance_values=[[1, -9, 2], [1, 5, -4]])
    keep_top_k(tmp_path, 2)
    assert _load(tmp_path, "features") == ["b", "c"]
    assert _load(tmp_path, "local_importance_values") == [[-9, 2], [5, -4]]


def test_top_k_refuses_what_it_cannot_cut(tmp_path: Path) -> None:
    (tmp_path / "local_importance_values.json").write_text(
        json.dumps({"metadata": "csr_matrix", "data": {}})
    )
    with pytest.raises(ValidationError, match="download the whole explanation"):
        keep_top_k(tmp_path, 2)


def test_a_run_without_explanations_says_so(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    run = Experiment(ws, "explain").start_logging()
    client = ExplanationClient.from_run(run)
    assert client.list_model_explanations() == []
    with pytest.raises(NotFoundError, match=r"has no explanation matching .*upload one with"):
        client.download_model_explanation()
    run.complete()
    with pytest.raises(NotFoundError, match="belongs to experiment 'explain'"):
        ExplanationClient.from_run_id(ws, "other", run.id)
    assert ExplanationClient.from_run_id(ws, "explain", run.id).run.id == run.id
    ws.close()
