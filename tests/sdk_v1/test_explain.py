"""``runyard.interpret`` (the SDK's ``azureml.interpret``) through the public notebook
``explain-model-on-amlcompute``: a submitted script explains its model with
interpret-community and uploads the explanation; the notebook downloads it, whole and
its top 4 features, by run and by run id.

interpret-community pins ``shap<=0.46``, which fails to import beside matplotlib on NumPy
2, so it is not in the development environment: the notebook's side runs in an
environment of its own (Runyard, interpret-community, scikit-learn, as a user's notebook
would have), made here with uv; the script's side is the run's environment, which Runyard
builds from the notebook's ``azureml-interpret`` pip package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runyard.core import Experiment
from runyard.environments.pipconfig import read_pip_settings, uv_settings
from runyard.environments.uvbuild import uv_bin
from runyard.interpret import ExplanationClient
from tests.sdk_v1.harness import make_project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def notebook_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("notebook-env") / "venv"
    # The stdlib's venv brings pip and setuptools: the notebook pins versions through
    # pkg_resources.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    settings = uv_settings(read_pip_settings())
    packages = ["-e", str(REPO), "interpret-community>=0.31", "scikit-learn", "pandas"]
    subprocess.run(
        [uv_bin(), "pip", "install", "--quiet", "--python", str(python), *packages],
        env={**os.environ, **settings.env},
        check=True,
        timeout=900,
    )
    return python


@pytest.mark.usefixtures("env_cache")
def test_explain_model_on_amlcompute(tmp_path: Path, notebook_python: Path) -> None:
    project = make_project(tmp_path, "explain_model")
    proc = project.run("explain-model-on-amlcompute.py", python=notebook_python, timeout=1500)
    assert "azureml-defaults, azureml-telemetry are satisfied" in proc.stderr, proc.stderr
    assert "azureml-interpret is installed as interpret-community>=0.31 (" in proc.stderr
    ranked = proc.stdout.split("global importance names: ")[1].splitlines()[0]
    names = json.loads(ranked.replace("'", '"'))
    assert len(names) == 4  # top_k=4 of the 10 features

    (run,) = Experiment(project.workspace(), "explainer-remote-run-on-amlcompute").get_runs()
    assert run.get_status() == "Completed"
    assert run.get_metrics()["alpha"] == 0.5
    # Listing needs no interpret-community: what the notebook downloaded is there.
    (entry,) = ExplanationClient.from_run(run).list_model_explanations()
    assert entry["comment"] == (
        "Global explanation on regression model trained on california dataset"
    )
    assert entry["kind"] == "global" and entry["model_id"].startswith(
        "model_explain_model_on_amlcomp:"
    )
    files = run.get_file_names()
    assert f"explanation/{entry['id']}/features.json" in files
    assert "x_test_california_housing.pkl" in files
    assert (project.root / "x_test_california_housing.pkl").stat().st_size > 0
    # The top 4 the notebook printed are the 4 largest global importances stored.
    field = {}
    for name in ("features", "global_importance_values"):
        path = run.download_file(f"explanation/{entry['id']}/{name}.json", tmp_path / name)
        field[name] = json.loads(path.read_text(encoding="utf-8"))["data"]
    ranked = sorted(zip(field["global_importance_values"], field["features"]), reverse=True)
    assert names == [feature for _, feature in ranked[:4]]
    assert len(field["features"]) == 10
