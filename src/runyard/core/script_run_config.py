"""``ScriptRunConfig``: what to run, where, and in which environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.core.compute_target import ComputeTarget
    from runyard.core.environment import Environment


@dataclass
class RunConfiguration:
    """The tutorial's ``config.run_config``: ``config.run_config.environment = env``."""

    environment: Environment | None = None
    target: str | ComputeTarget = "local"
    max_run_duration_seconds: int | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)


class ScriptRunConfig:
    """``ScriptRunConfig(source_directory='./src', script='train.py',
    compute_target='cpu-cluster')``, with the tutorial SDK's parameters."""

    def __init__(
        self,
        source_directory: str | Path = ".",
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        compute_target: str | ComputeTarget | None = None,
        environment: Environment | None = None,
        max_run_duration_seconds: int | None = None,
        run_config: RunConfiguration | None = None,
        environment_variables: Mapping[str, str] | None = None,
    ) -> None:
        if script is None or not isinstance(script, str) or not script.strip():
            raise ValidationError(
                "ScriptRunConfig needs script=, the training script's path inside "
                "source_directory (e.g. script='train.py')"
            )
        if arguments is not None and (
            isinstance(arguments, (str, bytes)) or not isinstance(arguments, Sequence)
        ):
            raise ValidationError("arguments must be a list, e.g. ['--epochs', 2]")
        if max_run_duration_seconds is not None and (
            not isinstance(max_run_duration_seconds, int) or max_run_duration_seconds <= 0
        ):
            raise ValidationError(
                "max_run_duration_seconds must be a positive whole number of seconds"
            )
        self.source_directory = str(source_directory)
        self.script = script
        self.arguments = [str(a) for a in (arguments or [])]
        self.run_config = run_config or RunConfiguration()
        if compute_target is not None:
            self.run_config.target = compute_target
        if environment is not None:
            self.run_config.environment = environment
        if max_run_duration_seconds is not None:
            self.run_config.max_run_duration_seconds = max_run_duration_seconds
        if environment_variables:
            self.run_config.environment_variables.update(environment_variables)

    @property
    def compute_target(self) -> str | ComputeTarget:
        return self.run_config.target

    @compute_target.setter
    def compute_target(self, value: str | ComputeTarget) -> None:
        self.run_config.target = value

    @property
    def environment(self) -> Environment | None:
        return self.run_config.environment

    @environment.setter
    def environment(self, value: Environment | None) -> None:
        self.run_config.environment = value

    @property
    def max_run_duration_seconds(self) -> int | None:
        return self.run_config.max_run_duration_seconds

    def __repr__(self) -> str:
        return (
            f"ScriptRunConfig(source_directory={self.source_directory!r}, script={self.script!r})"
        )
