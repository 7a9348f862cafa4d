"""The public ``Environment``: specs, the registry in a real SQLite store, curated
environments and the Azure ML names. No builds here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.core.environment import CondaDependencies, Environment
from runyard.errors import ConfigError, EnvironmentNotFoundError, ValidationError
from runyard.store import Store, open_store


class _Workspace:
    """Stands in for ``Workspace``: all ``Environment`` needs is its ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[_Workspace]:
    store = open_store("sqlite:///" + str(tmp_path / "db.sqlite"), artifact_root=tmp_path / "a")
    yield _Workspace(store)
    store.close()


def _env(name: str = "my-env", *packages: str) -> Environment:
    env = Environment(name)
    for package in packages or ("six",):
        env.python.conda_dependencies.add_pip_package(package)
    return env


def test_register_same_spec_twice_keeps_the_version(ws: _Workspace) -> None:
    first = _env().register(ws)
    assert first.version == 1
    again = _env().register(ws)
    assert again.version == 1
    assert again.to_spec() == first.to_spec()


def test_changed_spec_makes_the_next_version(ws: _Workspace) -> None:
    env = _env()
    assert env.register(ws).version == 1 and env.version == 1
    env.python.conda_dependencies.add_pip_package("tqdm")
    assert env.register(ws).version == 2
    env.environment_variables["OMP_NUM_THREADS"] = "1"  # runtime settings count too
    assert env.register(ws).version == 3
    assert Environment.get(ws, "my-env").version == 3
    v1 = Environment.get(ws, "my-env", version=1)
    assert v1.python.conda_dependencies.pip_packages == ["six"]
    assert v1.environment_variables == {}
    with pytest.raises(EnvironmentNotFoundError, match="curated ones are"):
        Environment.get(ws, "no-such-env")


def test_list_has_latest_registered_and_curated(ws: _Workspace) -> None:
    _env("alpha").register(ws)
    _env("alpha", "six", "tqdm").register(ws)
    _env("beta").register(ws)
    envs = Environment.list(ws)
    assert envs["alpha"].version == 2 and envs["beta"].version == 1
    assert {"Runyard-Minimal", "Runyard-PyTorch-CPU", "Runyard-sklearn"} <= set(envs)


def test_curated_names_are_reserved(ws: _Workspace) -> None:
    with pytest.raises(ValidationError, match="reserved"):
        _env("Runyard-PyTorch-CPU").register(ws)
    with pytest.raises(ValidationError, match="reserved"):
        _env("AzureML-Minimal").register(ws)


def test_curated_lookup_without_registering(
    ws: _Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    env = Environment.get(ws, "Runyard-PyTorch-CPU")
    assert env.name == "Runyard-PyTorch-CPU" and env.version == 1
    assert "torch==2.13.0" in env.python.conda_dependencies.pip_packages
    assert capsys.readouterr().err == ""
    with pytest.raises(EnvironmentNotFoundError, match="only version 1"):
        Environment.get(ws, "Runyard-PyTorch-CPU", version=2)


@pytest.mark.parametrize(
    ("azure", "ours"),
    [
        ("AzureML-PyTorch-1.6-CPU", "Runyard-PyTorch-CPU"),
        ("AzureML-Minimal", "Runyard-Minimal"),
        ("AzureML-Tutorial", "Runyard-sklearn"),
        ("AzureML-sklearn-0.24-ubuntu18.04-py37-cpu", "Runyard-sklearn"),
    ],
)
def test_azure_names_resolve_with_a_notice(
    ws: _Workspace, capsys: pytest.CaptureFixture[str], azure: str, ours: str
) -> None:
    env = Environment.get(ws, azure)
    assert env.name == ours
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and azure in err and ours in err


def test_unknown_azure_name(ws: _Workspace) -> None:
    with pytest.raises(EnvironmentNotFoundError, match="Runyard-Minimal"):
        Environment.get(ws, "AzureML-JAX-0.4-GPU")


def test_spec_round_trip(tmp_path: Path) -> None:
    env = Environment("round")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["Torch==2.13.0"],
        conda_packages=["python=3.11", "numpy=1.26"],
        channels=["conda-forge"],
    )
    env.environment_variables["A"] = "1"
    spec = env.to_spec()
    assert spec["python_version"] == "3.11" and spec["conda"] == ["numpy=1.26"]
    assert spec["pip"] == ["torch==2.13.0"]
    again = Environment.from_spec(spec)
    assert again.to_spec() == spec and again.spec_hash() == env.spec_hash()
    managed = Environment("managed")
    managed.python.user_managed_dependencies = True
    managed.python.interpreter_path = "/usr/bin/python3"
    managed.docker.base_image = "some/image"
    assert Environment.from_spec(managed.to_spec()).python.interpreter_path == "/usr/bin/python3"
    assert Environment.from_spec(managed.to_spec()).docker.base_image == "some/image"


def test_conda_dependencies() -> None:
    deps = CondaDependencies()
    deps.add_pip_package("six==1.16")
    deps.add_pip_package("Six==1.17.0")  # replaces the one of the same name
    deps.add_pip_package("tqdm")
    deps.remove_pip_package("tqdm")
    deps.add_conda_package("numpy=1.26")
    deps.add_conda_package("conda-forge::numpy=1.27")
    deps.add_conda_package("pip")
    deps.add_channel("conda-forge")
    deps.add_channel("conda-forge")
    assert deps.pip_packages == ["six==1.17.0"]
    assert deps.conda_packages == ["conda-forge::numpy=1.27"]
    assert deps.channels == ["conda-forge"]
    with pytest.raises(ValidationError, match="not a named requirement"):
        deps.add_pip_package("./local")


def test_from_files(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("six\n--index-url https://example.org/simple\n", encoding="utf-8")
    env = Environment.from_pip_requirements("from-pip", req)
    assert env.to_spec()["pip"] == ["six"]
    assert env.to_spec()["pip_options"] == ["--index-url https://example.org/simple"]
    conda = tmp_path / "env.yml"
    conda.write_text(
        "name: ignored\ndependencies:\n  - python=3.10\n  - pip:\n    - six\nvariables:\n  A: b\n",
        encoding="utf-8",
    )
    env = Environment.from_conda_specification("from-conda", conda)
    spec = env.to_spec()
    assert spec["name"] == "from-conda" and spec["python_version"] == "3.10"
    assert spec["conda_file"] is True and env.environment_variables == {"A": "b"}


def test_bad_names() -> None:
    with pytest.raises(ConfigError):
        Environment("has space")
