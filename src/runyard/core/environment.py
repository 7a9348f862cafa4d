"""``Environment``: a reproducible, versioned Python environment, with the tutorial
SDK's names.

    env = Environment.from_pip_requirements("my-env", "requirements.txt")
    env = Environment.from_conda_specification("pytorch-env", "pytorch-env.yml")
    env = Environment.get(ws, "AzureML-PyTorch-1.6-CPU")   # -> Runyard-PyTorch-CPU
    env.environment_variables["OMP_NUM_THREADS"] = "1"
    env = env.register(ws)                                  # env.version == 1

Runyard builds each environment once with uv into a cache shared by all workspaces
(see :mod:`runyard.environments`); Docker images are not used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from runyard.config import cache_dir, validate_resource_name
from runyard.environments import (
    PreparedEnvironment,
    normalize_spec,
    prepare,
    read_conda_file,
    read_requirements_file,
    spec_hash,
)
from runyard.environments.condafile import CondaFile, export_conda_environment
from runyard.environments.curated import (
    curated_names,
    find_curated,
    get_curated,
    is_reserved_name,
)
from runyard.environments.spec import canonical_name, canonical_requirement, requirement_name
from runyard.errors import EnvironmentNotFoundError, ValidationError
from runyard.store.base import Store

__all__ = ["CondaDependencies", "DockerSection", "Environment", "PythonSection"]


class _HasStore(Protocol):
    """Anything with a store: a ``Workspace``, or a stand-in in tests."""

    @property
    def store(self) -> Store: ...


def _conda_name(match_spec: str) -> str:
    from runyard.environments.condafile import conda_package_name

    return conda_package_name(match_spec)


class CondaDependencies:
    """The packages of an environment, as in the SDK's ``CondaDependencies``: pip
    requirements, conda packages (these need conda on PATH), channels and the Python
    version."""

    def __init__(
        self,
        conda_packages: Iterable[str] = (),
        pip_packages: Iterable[str] = (),
        channels: Iterable[str] = (),
        python_version: str | None = None,
        pip_options: Iterable[str] = (),
    ) -> None:
        self._conda: list[str] = []
        self._pip: list[str] = []
        self._channels: list[str] = []
        self.pip_options: list[str] = list(pip_options)
        self.python_version = python_version
        for package in conda_packages:
            self.add_conda_package(package)
        for requirement in pip_packages:
            self.add_pip_package(requirement)
        for channel in channels:
            self.add_channel(channel)

    @staticmethod
    def create(
        pip_packages: Iterable[str] = (),
        conda_packages: Iterable[str] = (),
        python_version: str | None = None,
        channels: Iterable[str] = (),
    ) -> CondaDependencies:
        """As ``CondaDependencies.create(pip_packages=[...], conda_packages=[...])``."""
        return CondaDependencies(conda_packages, pip_packages, channels, python_version)

    @property
    def pip_packages(self) -> list[str]:
        return list(self._pip)

    @property
    def conda_packages(self) -> list[str]:
        return list(self._conda)

    @property
    def channels(self) -> list[str]:
        return list(self._channels)

    def add_pip_package(self, pip_package: str) -> None:
        """Adds a pip requirement (``"torch==2.13.0"``), replacing one of the same name."""
        requirement = canonical_requirement(pip_package)
        name = requirement_name(requirement)
        self._pip = [r for r in self._pip if requirement_name(r) != name] + [requirement]

    def remove_pip_package(self, pip_package: str) -> None:
        name = canonical_name(pip_package.split("=")[0].split("<")[0].split(">")[0].strip())
        self._pip = [r for r in self._pip if requirement_name(r) != name]

    def add_conda_package(self, conda_package: str) -> None:
        """Adds a conda package (``"numpy=1.26"``); ``python=X`` sets the Python version.
        Building an environment with conda packages needs conda, mamba or micromamba."""
        spec = conda_package.strip()
        if not spec:
            raise ValidationError("add_conda_package() needs a package such as 'numpy=1.26'")
        name = _conda_name(spec)
        if name == "python":
            from runyard.environments.spec import python_version_from_conda

            self.python_version = python_version_from_conda(spec.split("::")[-1])
            return
        if name == "pip":
            return  # pip is always there
        self._conda = [c for c in self._conda if _conda_name(c) != name] + [spec]

    def remove_conda_package(self, conda_package: str) -> None:
        name = _conda_name(conda_package)
        self._conda = [c for c in self._conda if _conda_name(c) != name]

    def add_channel(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.append(channel)

    def set_python_version(self, version: str) -> None:
        self.python_version = version

    def __repr__(self) -> str:
        return (
            f"CondaDependencies(python={self.python_version!r}, pip={self._pip!r}, "
            f"conda={self._conda!r}, channels={self._channels!r})"
        )


class PythonSection:
    """``env.python``: who manages the packages, and which interpreter to use."""

    def __init__(self) -> None:
        self.user_managed_dependencies: bool = False
        self.interpreter_path: str | None = None
        self.conda_dependencies: CondaDependencies = CondaDependencies()


class DockerSection:
    """``env.docker``: accepted for compatibility. Runyard builds virtualenvs, so a
    ``base_image`` makes building fail with an error saying how to drop it."""

    def __init__(self) -> None:
        self.enabled: bool = False
        self.base_image: str | None = None


class Environment:
    """A named, versioned environment definition. ``version`` is None until
    registered."""

    def __init__(self, name: str) -> None:
        self.name = validate_resource_name("environment", name)
        self.version: int | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = {}
        # Made from a conda spec: built with conda when it is on PATH.
        self._conda_file = False

    # -- making one --------------------------------------------------------------------

    @classmethod
    def from_pip_requirements(cls, name: str, file_path: str | Path) -> Environment:
        """An environment with the packages of a pip requirements file."""
        lines = read_requirements_file(file_path)
        env = cls(name)
        env.python.conda_dependencies = CondaDependencies(
            pip_packages=lines.requirements, pip_options=lines.options
        )
        return env

    @classmethod
    def from_conda_specification(cls, name: str, file_path: str | Path) -> Environment:
        """An environment from a conda environment file (name, channels, dependencies
        with ``python=3.x`` and a ``pip:`` list, variables). Conda packages need conda
        on PATH; a file with only python and pip packages is built with uv."""
        return cls._from_conda(name, read_conda_file(file_path))

    @classmethod
    def from_existing_conda_environment(cls, name: str, conda_environment_name: str) -> Environment:
        """An environment with the packages of an existing local conda environment (its
        ``conda env export``). Needs conda, mamba or micromamba on PATH."""
        return cls._from_conda(name, export_conda_environment(conda_environment_name))

    @classmethod
    def _from_conda(cls, name: str, conda: CondaFile) -> Environment:
        env = cls(name)
        env.python.conda_dependencies = CondaDependencies(
            conda_packages=conda.conda_packages,
            pip_packages=conda.pip.requirements,
            channels=conda.channels,
            python_version=conda.python_version,
            pip_options=conda.pip.options,
        )
        env.environment_variables = dict(conda.variables)
        env._conda_file = True
        return env

    # -- the spec ----------------------------------------------------------------------

    def to_spec(self) -> dict[str, Any]:
        """The environment as a normalised, JSON-able spec (the Python version filled in
        with the current one when unset). Raises ValidationError for bad settings."""
        deps = self.python.conda_dependencies
        return normalize_spec(
            {
                "name": self.name,
                "version": self.version,
                "python_version": deps.python_version,
                "pip": deps.pip_packages,
                "pip_options": list(deps.pip_options),
                "conda": deps.conda_packages,
                "channels": deps.channels,
                "conda_file": self._conda_file,
                "user_managed": bool(self.python.user_managed_dependencies),
                "interpreter_path": self.python.interpreter_path,
                "environment_variables": dict(self.environment_variables),
                "docker_base_image": self.docker.base_image,
            }
        )

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Environment:
        """The environment a spec describes (the inverse of :meth:`to_spec`)."""
        normalized = normalize_spec(spec)
        env = cls(normalized["name"] or "unnamed")
        env.version = normalized["version"]
        env.python.conda_dependencies = CondaDependencies(
            conda_packages=normalized["conda"],
            pip_packages=normalized["pip"],
            channels=normalized["channels"],
            python_version=normalized["python_version"],
            pip_options=normalized["pip_options"],
        )
        env.python.user_managed_dependencies = normalized["user_managed"]
        env.python.interpreter_path = normalized["interpreter_path"]
        env.environment_variables = dict(normalized["environment_variables"])
        env.docker.base_image = normalized["docker_base_image"]
        env._conda_file = normalized["conda_file"]
        return env

    def spec_hash(self) -> str:
        """The content hash of the spec (the cache key; name and version excluded)."""
        return spec_hash(self.to_spec())

    # -- the registry ------------------------------------------------------------------

    def register(self, workspace: _HasStore) -> Environment:
        """Registers this definition in the workspace. The same content as the latest
        version returns that version; changed content makes the next one. Also sets
        ``self.version``."""
        if is_reserved_name(self.name):
            raise ValidationError(
                f"environment name {self.name!r} is reserved: names starting with "
                "'Runyard-' or 'AzureML-' belong to curated environments; set "
                "env.name to another name (e.g. 'my-pytorch') and register again"
            )
        spec = {**self.to_spec(), "version": None}
        record = workspace.store.register_environment(self.name, spec, spec_hash(spec))
        self.version = record.version
        return Environment.from_spec({**record.spec, "version": record.version})

    @classmethod
    def get(cls, workspace: _HasStore, name: str, version: int | None = None) -> Environment:
        """A registered environment (the latest version unless ``version``), or a
        curated one; an Azure ML curated name resolves to the closest curated
        environment with a notice on stderr. Raises EnvironmentNotFoundError."""
        if is_reserved_name(name):
            spec = get_curated(name)
            if version is not None and version != spec.get("version"):
                raise EnvironmentNotFoundError(
                    f"curated environment {spec['name']!r} has only version "
                    f"{spec.get('version')}; ask for that one or for version=None"
                )
            return cls.from_spec(spec)
        try:
            record = workspace.store.get_environment(name, version)
        except EnvironmentNotFoundError as exc:
            raise EnvironmentNotFoundError(
                f"{exc}. Registered environments are listed by Environment.list(ws); "
                f"curated ones are {', '.join(curated_names())}"
            ) from None
        return cls.from_spec({**record.spec, "version": record.version})

    @classmethod
    def list(cls, workspace: _HasStore) -> dict[str, Environment]:
        """Every environment by name: the latest version of each registered one, and
        the curated ones."""
        out: dict[str, Environment] = {}
        for name in curated_names():
            match = find_curated(name)
            if match is not None:
                out[name] = cls.from_spec(match.spec)
        for record in workspace.store.list_environments():  # by name, then version
            out[record.name] = cls.from_spec({**record.spec, "version": record.version})
        return dict(sorted(out.items()))

    # -- building ----------------------------------------------------------------------

    def build_local(
        self, workspace: object | None = None, build_log: str | Path | None = None
    ) -> PreparedEnvironment:
        """Builds the environment now (a no-op when cached), as the SDK's
        ``build_local``. The log goes to ``build_log`` or the cache's ``logs`` folder."""
        spec = self.to_spec()
        log = Path(build_log) if build_log else cache_dir() / "logs" / f"{spec_hash(spec)}.log"
        return prepare(spec, log)

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"
