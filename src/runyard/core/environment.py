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

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from runyard.config import cache_dir, validate_resource_name
from runyard.core.conda_dependencies import CondaDependencies
from runyard.core.notices import notice
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
    sdk_curated_names,
)
from runyard.errors import EnvironmentNotFoundError, ValidationError
from runyard.store.base import Store

__all__ = [
    "CondaDependencies",
    "DockerSection",
    "Environment",
    "EnvironmentDict",
    "PythonSection",
]


class _HasStore(Protocol):
    """Anything with a store: a ``Workspace``, or a stand-in in tests."""

    @property
    def store(self) -> Store: ...


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
        self.base_dockerfile: str | None = None
        self.shm_size: str | None = None
        self.arguments: list[str] = []


class EnvironmentDict(dict[str, "Environment"]):
    """``ws.environments`` and ``Environment.list(ws)``: environments by name. Looking
    up an SDK curated name that is not listed (``AzureML-PyTorch-1.6-CPU``) gives the
    closest curated environment, with a notice; an unknown name is a KeyError that
    names the environments there are."""

    def __getitem__(self, name: str) -> Environment:
        if isinstance(name, str) and is_reserved_name(name) and dict.__contains__(self, name):
            match = find_curated(name)
            if match is not None and match.notice:
                notice(match.notice.removeprefix("runyard: "), key=f"env:{name}")
        return super().__getitem__(name)

    def __missing__(self, name: str) -> Environment:
        if isinstance(name, str) and is_reserved_name(name):
            match = find_curated(name)
            if match is not None:
                return Environment.from_spec(get_curated(name))
        known = ", ".join(sorted(self))
        raise KeyError(
            f"no environment called {name!r}; there are: {known}. Register one with "
            "env.register(ws)"
        )


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
        # The file it was read from, named in errors about its lines.
        self._source: Path | None = None

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
        env = cls._from_conda(name, read_conda_file(file_path))
        env._source = Path(file_path).expanduser().resolve()
        return env

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
    def get(cls, workspace: _HasStore, name: str, version: int | str | None = None) -> Environment:
        """A registered environment (the latest version unless ``version``), or a
        curated one; an Azure ML curated name resolves to the closest curated
        environment with a notice on stderr. ``version`` may be a string, as the SDK
        gives it (``version="1"``). Raises EnvironmentNotFoundError."""
        if isinstance(version, str):
            if not version.strip().isdigit():
                raise ValidationError(f"environment version {version!r} must be a number")
            version = int(version)
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
    def list(cls, workspace: _HasStore) -> EnvironmentDict:
        """Every environment by name: the latest version of each registered one, the
        curated ones, and the SDK's curated names (each as the curated environment it
        stands for here)."""
        out: dict[str, Environment] = {}
        for name in (*curated_names(), *sdk_curated_names()):
            match = find_curated(name)
            if match is not None:
                out[name] = cls.from_spec(match.spec)
        for record in workspace.store.list_environments():  # by name, then version
            out[record.name] = cls.from_spec({**record.spec, "version": record.version})
        return EnvironmentDict(sorted(out.items()))

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
