"""``ScriptRunConfig``: what to run, where, and in which environment (the SDK-v1 module
path ``azureml.core.script_run_config``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.assets.inputs import keep_bindings
from runyard.core.notices import notice
from runyard.core.runconfig import (
    DistributedConfiguration,
    DockerConfiguration,
    RunConfiguration,
    check_distributed,
)
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.core.compute_target import ComputeTarget
    from runyard.core.environment import Environment

__all__ = ["RunConfiguration", "ScriptRunConfig"]


def _from_command(command: str | Sequence[Any]) -> tuple[str, list[Any]]:
    """``command=["python", "train.py", "--lr", 0.1]`` -> the script and arguments."""
    words = command.split() if isinstance(command, str) else [str(w) for w in command]
    if words and Path(words[0]).name.startswith("python"):
        words = words[1:]
    if not words or not words[0].endswith(".py"):
        raise ValidationError(
            f"command {command!r}: Runyard runs a Python script, so give the command as "
            "['python', 'train.py', ...args] (or use script= and arguments=)"
        )
    return words[0], list(words[1:])


class ScriptRunConfig:
    """``ScriptRunConfig(source_directory='./src', script='train.py',
    compute_target='cpu-cluster')``, with the SDK's parameters."""

    def __init__(
        self,
        source_directory: str | Path = ".",
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values: object = None,
        compute_target: str | ComputeTarget | None = None,
        environment: Environment | None = None,
        distributed_job_config: DistributedConfiguration | None = None,
        resume_from: str | None = None,
        max_run_duration_seconds: int | None = None,
        command: str | Sequence[Any] | None = None,
        docker_runtime_config: DockerConfiguration | None = None,
        environment_variables: Mapping[str, str] | None = None,
        inputs: Sequence[Any] | None = None,
    ) -> None:
        if script is None and command is not None:
            script, from_command = _from_command(command)
            arguments = [*from_command, *(arguments or [])]
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
        if run_config is not None and not isinstance(run_config, RunConfiguration):
            raise ValidationError(
                f"run_config must be a RunConfiguration, got {type(run_config).__name__}"
            )
        self.source_directory = str(source_directory)
        self.script = script
        self.arguments = keep_bindings(arguments or [])  # dataset inputs stay whole
        # Dataset inputs not passed as arguments: in run.input_datasets by name.
        self.inputs = list(inputs or [])
        self.run_config = run_config or RunConfiguration()
        if compute_target is not None:
            self.run_config.target = compute_target
        if environment is not None:
            self.run_config.environment = environment
        if max_run_duration_seconds is not None:
            self.run_config.max_run_duration_seconds = max_run_duration_seconds
        if environment_variables:
            self.run_config.environment_variables.update(environment_variables)
        if docker_runtime_config is not None:
            self.run_config.docker = docker_runtime_config
        if distributed_job_config is not None and not isinstance(
            distributed_job_config, DistributedConfiguration
        ):
            raise ValidationError(
                "distributed_job_config must be a PyTorchConfiguration, MpiConfiguration "
                f"or TensorflowConfiguration, got {type(distributed_job_config).__name__}"
            )
        self.distributed_job_config = distributed_job_config
        self.resume_from = resume_from
        if resume_from is not None:
            notice(
                "ScriptRunConfig(resume_from=...) is recorded, but no checkpoint is copied "
                "in: load it in the script from the earlier run's outputs",
                key="resume_from",
            )

    @property
    def compute_target(self) -> str | ComputeTarget:
        return self.run_config.target

    @compute_target.setter
    def compute_target(self, value: str | ComputeTarget) -> None:
        self.run_config.target = value

    @property
    def environment(self) -> Environment | None:
        """The environment the run is built in; None runs it with this interpreter
        (what an untouched ``run_config.environment`` means)."""
        return self.run_config.submitted_environment()

    @environment.setter
    def environment(self, value: Environment | None) -> None:
        self.run_config.environment = value

    @property
    def max_run_duration_seconds(self) -> int | None:
        return self.run_config.max_run_duration_seconds

    def submission_record(self, target_type: str = "local") -> dict[str, Any]:
        """What the run records of its docker and distributed settings; raises
        ValidationError naming the fix for what cannot run on a ``target_type`` target
        (several nodes, TensorFlow parameter servers, MPI without mpirun)."""
        wanted = self.distributed_job_config or self.run_config.legacy_distributed()
        return {
            "distributed": check_distributed(wanted, target_type),
            "docker": self.run_config.docker.as_dict(),
        }

    def __repr__(self) -> str:
        return (
            f"ScriptRunConfig(source_directory={self.source_directory!r}, script={self.script!r})"
        )
