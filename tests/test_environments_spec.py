"""Specs: canonical requirements, normal form, content hash, requirement and conda
files, locks, curated environments. No builds here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runyard.environments import (
    normalize_spec,
    read_conda_file,
    read_requirements_file,
    spec_from_lock,
    spec_hash,
)
from runyard.environments.curated import alias_target, curated_names, find_curated
from runyard.environments.spec import canonical_requirement, current_python_version
from runyard.errors import ValidationError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("six", "six"),
        ("Torch == 2.13.0", "torch==2.13.0"),
        ("Scikit_Learn>=1.0 , <2", "scikit-learn>=1.0,<2"),
        ("requests[Security,socks]", "requests[security,socks]"),
        ("numpy; python_version  <  '3.12'", "numpy; python_version < '3.12'"),
        ("pkg @ https://example.org/pkg-1.0.whl", "pkg @ https://example.org/pkg-1.0.whl"),
        (
            "six==1.17.0 --hash=sha256:bb --hash=sha256:aa",
            "six==1.17.0 --hash=sha256:aa --hash=sha256:bb",
        ),
        ("torch==2.13.0+cpu", "torch==2.13.0+cpu"),
    ],
)
def test_canonical_requirement(given: str, expected: str) -> None:
    assert canonical_requirement(given) == expected


@pytest.mark.parametrize("bad", ["", "./local/path", "-e .", "six 1.0", "==1.0", "six==="])
def test_bad_requirement_is_named(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        canonical_requirement(bad)
    assert repr(bad) in str(info.value)


def test_hash_ignores_order_spelling_name_and_version() -> None:
    a = {"name": "a", "pip": ["Six", "numpy >= 1.26"], "python_version": "3.11"}
    b = {"name": "b", "version": 7, "pip": ["numpy>=1.26", "six"], "python_version": "3.11"}
    assert spec_hash(a) == spec_hash(b)
    assert len(spec_hash(a)) == 64
    assert spec_hash(None) == ""


@pytest.mark.parametrize(
    "change",
    [
        {"pip": ["six==1.17.0"]},
        {"python_version": "3.10"},
        {"environment_variables": {"OMP_NUM_THREADS": "1"}},
        {"conda": ["numpy=1.26"]},
        {"user_managed": True},
    ],
)
def test_hash_changes_with_content(change: dict[str, object]) -> None:
    base = {"name": "a", "pip": ["six"], "python_version": "3.11"}
    assert spec_hash(base) != spec_hash({**base, **change})


def test_normalize_fills_python_version_and_rejects_unknown_keys() -> None:
    spec = normalize_spec({"name": "x"})
    assert spec["python_version"] == current_python_version()
    assert spec["pip"] == [] and spec["schema"] == 1
    with pytest.raises(ValidationError, match="'piip'"):
        normalize_spec({"name": "x", "piip": ["six"]})
    with pytest.raises(ValidationError, match="environment_variables"):
        normalize_spec({"environment_variables": {"A": 1}})
    with pytest.raises(ValidationError, match="python version"):
        normalize_spec({"python_version": "three"})


def test_requirements_file(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("six  # a comment\n", encoding="utf-8")
    req = tmp_path / "requirements.txt"
    req.write_text(
        "# top comment\n"
        "-r base.txt\n"
        "--extra-index-url https://example.org/simple\n"
        "-f ./wheels\n"
        "numpy>=1.26,\\\n"
        "   <3\n"
        "\n",
        encoding="utf-8",
    )
    lines = read_requirements_file(req)
    assert lines.requirements == ["six", "numpy>=1.26,<3"]
    assert lines.options == [
        "--extra-index-url https://example.org/simple",
        f"--find-links {tmp_path.resolve() / 'wheels'}",
    ]


def test_requirements_file_errors_name_file_and_line(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("six\n-e ./mypkg\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"requirements.txt:2: editable"):
        read_requirements_file(req)
    with pytest.raises(ValidationError, match="does not exist"):
        read_requirements_file(tmp_path / "missing.txt")
    req.write_text("--no-binary :all:\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="--no-binary"):
        read_requirements_file(req)


def test_conda_file(tmp_path: Path) -> None:
    path = tmp_path / "env.yml"
    path.write_text(
        "name: pytorch-env\n"
        "channels:\n  - defaults\n  - pytorch\n"
        "dependencies:\n"
        "  - python=3.11\n"
        "  - pip\n"
        "  - conda-forge::numpy=1.26\n"
        "  - pip:\n"
        "      - torch==2.13.0\n"
        "      - --index-url https://example.org/simple\n"
        "variables:\n  OMP_NUM_THREADS: 1\n",
        encoding="utf-8",
    )
    conda = read_conda_file(path)
    assert conda.name == "pytorch-env"
    assert conda.channels == ["defaults", "pytorch"]
    assert conda.python_version == "3.11"
    assert conda.conda_packages == ["conda-forge::numpy=1.26"]
    assert conda.pip.requirements == ["torch==2.13.0"]
    assert conda.pip.options == ["--index-url https://example.org/simple"]
    assert conda.variables == {"OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dependencies: [python=3.11\n", "not valid YAML at line"),
        ("- python=3.11\n", "top level must be a mapping"),
        ("dependencies:\n  - 3.11\n", "dependency #1"),
        ("dependencies:\n  - pip: six\n", "dependency #1"),
        ("dependencies:\n  - pip:\n    - -e .\n", "editable"),
        ("name: x\nchanells: [defaults]\n", "unknown key(s) 'chanells'"),
        ("channels: defaults\n", "'channels' must be a list"),
    ],
)
def test_malformed_conda_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_conda_file(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_spec_from_lock_pins_exact_versions() -> None:
    spec = {"name": "x", "pip": ["six", "numpy>=1"], "python_version": "3.11"}
    lock = "numpy==2.4.6\nsix==1.17.0\ntorch==2.13.0+cpu\n"
    locked = spec_from_lock(spec, lock)
    assert locked["pip"] == ["numpy==2.4.6", "six==1.17.0", "torch==2.13.0+cpu"]
    assert locked["python_version"] == "3.11" and locked["name"] == "x"
    assert spec_from_lock(spec, "") == normalize_spec(spec)
    managed = {"user_managed": True, "interpreter_path": sys.executable}
    assert spec_from_lock(managed, lock)["pip"] == []


def test_curated_and_azure_aliases() -> None:
    assert curated_names() == [
        "Runyard-Minimal",
        "Runyard-PyTorch-CPU",
        "Runyard-TensorFlow-CPU",
        "Runyard-sklearn",
    ]
    torch_env = find_curated("runyard-pytorch-cpu")
    assert torch_env is not None and torch_env.notice is None
    assert "torch==2.13.0" in torch_env.spec["pip"]
    assert alias_target("AzureML-PyTorch-1.6-CPU") == "Runyard-PyTorch-CPU"
    assert alias_target("AzureML-Minimal") == "Runyard-Minimal"
    assert alias_target("AzureML-Tutorial") == "Runyard-sklearn"
    assert alias_target("AzureML-sklearn-0.24-ubuntu18.04-py37-cpu") == "Runyard-sklearn"
    assert alias_target("AzureML-TensorFlow-2.3-GPU") == "Runyard-TensorFlow-CPU"
    assert alias_target("azureml-tensorflow-2.11-cuda11") == "Runyard-TensorFlow-CPU"
    assert alias_target("AzureML-JAX-0.4") is None
    assert alias_target("my-env") is None
    match = find_curated("AzureML-Minimal")
    assert match is not None and match.notice is not None
    assert "Runyard-Minimal" in match.notice and "\n" not in match.notice
    for name in curated_names():  # shipped files are valid specs
        found = find_curated(name)
        assert found is not None
        normalize_spec(found.spec)
