"""The SDK-v1 module path ``azureml.core.conda_dependencies``: ``CondaDependencies``,
the package list of an environment::

    cd = CondaDependencies.create(pip_packages=["scikit-learn"], conda_packages=["numpy"])
    cd.add_pip_package("joblib")
    cd.save_to_file(".", "env.yml")          # a conda environment file
    env.python.conda_dependencies = cd

Pip packages are built with uv. Conda packages are built with conda, mamba or
micromamba when one is on PATH; without one, those with a PyPI equivalent are built
with uv under that name (with a notice at submit), see :mod:`runyard.core.env_local`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runyard.environments.condafile import conda_package_name, read_conda_file
from runyard.environments.spec import canonical_name, canonical_requirement, requirement_name
from runyard.errors import ValidationError

__all__ = ["CondaDependencies"]

_HEADER = (
    "# Conda environment specification, written by Runyard's CondaDependencies.\n"
    "# Pip packages are built with uv; conda packages need conda, mamba or micromamba\n"
    "# on PATH unless they have a PyPI equivalent.\n"
)


class CondaDependencies:
    """The packages of an environment, as the SDK's ``CondaDependencies``: pip
    requirements, conda packages, channels, pip options and the Python version (None:
    the Python that runs Runyard). ``CondaDependencies("env.yml")`` reads a conda
    environment file."""

    def __init__(
        self,
        conda_dependencies_file_path: str | Path | None = None,
        _underlying_structure: object = None,
        *,
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
        if conda_dependencies_file_path is not None:
            conda = read_conda_file(conda_dependencies_file_path)
            self.python_version = conda.python_version
            self.pip_options = list(conda.pip.options)
            conda_packages = [*conda.conda_packages, *conda_packages]
            pip_packages = [*conda.pip.requirements, *pip_packages]
            channels = [*conda.channels, *channels]
        for package in conda_packages:
            self.add_conda_package(package)
        for requirement in pip_packages:
            self.add_pip_package(requirement)
        for channel in channels:
            self.add_channel(channel)

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: Iterable[str] | None = None,
        conda_packages: Iterable[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
        channels: Iterable[str] = (),
    ) -> CondaDependencies:
        """As the SDK's ``CondaDependencies.create(pip_packages=[...],
        conda_packages=[...], python_version="3.11")``. Unlike the SDK, no Python
        version is pinned unless given (the environment uses the Python that runs
        Runyard), and no ``azureml-defaults`` is added: Runyard's own client is there."""
        options = [f"--index-url {pip_indexurl}"] if pip_indexurl else []
        return CondaDependencies(
            conda_packages=conda_packages or (),
            pip_packages=pip_packages or (),
            channels=channels,
            python_version=python_version,
            pip_options=options,
        )

    # -- what it holds -----------------------------------------------------------------

    @property
    def pip_packages(self) -> list[str]:
        return list(self._pip)

    @property
    def conda_packages(self) -> list[str]:
        return list(self._conda)

    @property
    def channels(self) -> list[str]:
        return list(self._channels)

    def get_python_version(self) -> str | None:
        return self.python_version

    def set_python_version(self, version: str) -> None:
        self.python_version = version

    # -- changing it -------------------------------------------------------------------

    def add_pip_package(self, pip_package: str) -> None:
        """Adds a pip requirement (``"torch==2.13.0"``), replacing one of the same name."""
        requirement = canonical_requirement(pip_package)
        name = requirement_name(requirement)
        self._pip = [r for r in self._pip if requirement_name(r) != name] + [requirement]

    def remove_pip_package(self, pip_package: str) -> None:
        name = canonical_name(pip_package.split("=")[0].split("<")[0].split(">")[0].strip())
        self._pip = [r for r in self._pip if requirement_name(r) != name]

    def add_conda_package(self, conda_package: str) -> None:
        """Adds a conda package (``"numpy=1.26"``); ``python=X`` sets the Python version."""
        spec = conda_package.strip() if isinstance(conda_package, str) else ""
        if not spec:
            raise ValidationError("add_conda_package() needs a package such as 'numpy=1.26'")
        name = conda_package_name(spec)
        if name == "python":
            from runyard.environments.spec import python_version_from_conda

            self.python_version = python_version_from_conda(spec.split("::")[-1])
            return
        if name == "pip":
            return  # pip is always there
        self._conda = [c for c in self._conda if conda_package_name(c) != name] + [spec]

    def remove_conda_package(self, conda_package: str) -> None:
        name = conda_package_name(conda_package)
        self._conda = [c for c in self._conda if conda_package_name(c) != name]

    def add_channel(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        self._channels = [c for c in self._channels if c != channel]

    def set_pip_option(self, pip_option: str) -> None:
        """Adds a pip option line (``"--extra-index-url URL"``), replacing one with the
        same flag."""
        flag = pip_option.split()[0] if pip_option.split() else ""
        if not flag.startswith("-"):
            raise ValidationError(f"pip option {pip_option!r} must start with '-'")
        self.pip_options = [o for o in self.pip_options if o.split()[0] != flag] + [
            " ".join(pip_option.split())
        ]

    # -- as a conda environment file -----------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The conda environment file's content."""
        deps: list[Any] = []
        if self.python_version:
            version = self.python_version
            deps.append(f"python{version}" if version[0] in "<>=!~" else f"python={version}")
        deps.extend(self._conda)
        if self._pip or self.pip_options:
            deps.append("pip")
            deps.append({"pip": [*self.pip_options, *self._pip]})
        out: dict[str, Any] = {"name": "project_environment", "dependencies": deps}
        if self._channels:
            out["channels"] = list(self._channels)
        return out

    def serialize_to_string(self) -> str:
        """The conda environment file (YAML) these dependencies make."""
        import yaml

        return _HEADER + yaml.safe_dump(self.as_dict(), sort_keys=False, default_flow_style=False)

    def save_to_file(self, base_directory: str | Path, conda_file_path: str | None = None) -> str:
        """Writes the conda environment file to ``base_directory/conda_file_path``
        (default ``conda_dependencies.yml``) and returns its path, as the SDK does."""
        path = Path(base_directory) / (conda_file_path or "conda_dependencies.yml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.serialize_to_string(), encoding="utf-8")
        return str(path)

    def save(self, path: str | Path | None = None) -> str:
        """Writes the conda file to ``path`` (default ``./conda_dependencies.yml``)."""
        target = Path(path) if path is not None else Path("conda_dependencies.yml")
        return self.save_to_file(target.parent, target.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CondaDependencies) and other.as_dict() == self.as_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    def __repr__(self) -> str:
        return (
            f"CondaDependencies(python={self.python_version!r}, pip={self._pip!r}, "
            f"conda={self._conda!r}, channels={self._channels!r})"
        )
