"""The SDK-v1 module path ``azureml.core.runconfig``: how a script is run.

    run_config = RunConfiguration()
    run_config.environment.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["scikit-learn"])
    run_config.target = "cpu-cluster"
    src = ScriptRunConfig(".", "train.py", run_config=run_config,
                          docker_runtime_config=DockerConfiguration(use_docker=True),
                          distributed_job_config=PyTorchConfiguration(process_count=1))

Runyard runs no containers: ``DockerConfiguration(use_docker=True)`` is accepted with a
one-line notice, and the run uses its environment's Python. The distributed job
configurations are recorded with the run and start that many ranks (docs/distributed.md):
``PyTorchConfiguration`` with torchrun's environment on one machine, or one node per Ray
node on a Ray target; ``MpiConfiguration`` through ``mpirun``. What cannot run where it is
submitted (several nodes on a local target, TensorFlow parameter servers, MPI without
mpirun) is refused at submit, naming the fix.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runyard.core.notices import notice
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.core.compute_target import ComputeTarget
    from runyard.core.conda_dependencies import CondaDependencies
    from runyard.core.environment import Environment

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "DistributedConfiguration",
    "DockerConfiguration",
    "MpiConfiguration",
    "PyTorchConfiguration",
    "RunConfiguration",
    "TensorflowConfiguration",
]

# The SDK's base image names. Runyard builds no images: an environment whose
# docker.base_image is one of the SDK's Azure ML images is built without it (a notice).
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.1-cudnn8-ubuntu20.04"
_DEFAULT_ENV_NAME = "default-environment"


def _count(kind: str, name: str, value: object, default: int = 1) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(f"{kind}({name}=...) must be a whole number >= 1, got {value!r}")
    return value


class DockerConfiguration:
    """``DockerConfiguration(use_docker=True, shm_size="2g")``: accepted and recorded.
    No Docker engine is used locally; ``use_docker=True`` says so once, in a notice."""

    def __init__(
        self,
        use_docker: bool = False,
        shm_size: str | None = None,
        shared_volumes: bool = True,
        arguments: Sequence[str] | None = None,
    ) -> None:
        self.use_docker = bool(use_docker)
        self.shm_size = shm_size
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        if self.use_docker:
            notice(
                "DockerConfiguration(use_docker=True): runs here use their environment's "
                "Python on this machine, not a Docker container",
                key="docker",
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "useDocker": self.use_docker,
            "shmSize": self.shm_size,
            "sharedVolumes": self.shared_volumes,
            "arguments": list(self.arguments),
        }

    def __repr__(self) -> str:
        return f"DockerConfiguration(use_docker={self.use_docker!r})"


class DistributedConfiguration(ABC):
    """Base of the distributed job configurations: a framework and a process count."""

    framework = "Python"

    @property
    @abstractmethod
    def process_count(self) -> int:
        """How many processes the run asks for."""

    def as_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "processCount": self.process_count}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.as_dict()!r})"


class PyTorchConfiguration(DistributedConfiguration):
    """``PyTorchConfiguration(process_count=4, node_count=1)`` (torch.distributed)."""

    framework = "PyTorch"

    def __init__(
        self,
        communication_backend: str = "Nccl",
        process_count: int | None = None,
        node_count: int = 1,
    ) -> None:
        self.communication_backend = communication_backend
        self.node_count = _count("PyTorchConfiguration", "node_count", node_count)
        self._process_count = _count(
            "PyTorchConfiguration", "process_count", process_count, self.node_count
        )

    @property
    def process_count(self) -> int:
        return self._process_count

    @process_count.setter
    def process_count(self, value: int) -> None:
        self._process_count = _count("PyTorchConfiguration", "process_count", value)

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "communicationBackend": self.communication_backend,
            "nodeCount": self.node_count,
        }


class MpiConfiguration(DistributedConfiguration):
    """``MpiConfiguration(process_count_per_node=2, node_count=1)`` (Horovod, MPI)."""

    framework = "Mpi"

    def __init__(self, process_count_per_node: int = 1, node_count: int = 1) -> None:
        self.process_count_per_node = _count(
            "MpiConfiguration", "process_count_per_node", process_count_per_node
        )
        self.node_count = _count("MpiConfiguration", "node_count", node_count)

    @property
    def process_count(self) -> int:
        return self.process_count_per_node * self.node_count

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "processCountPerNode": self.process_count_per_node,
            "nodeCount": self.node_count,
        }


class TensorflowConfiguration(DistributedConfiguration):
    """``TensorflowConfiguration(worker_count=2, parameter_server_count=1)``."""

    framework = "TensorFlow"

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1) -> None:
        self.worker_count = _count("TensorflowConfiguration", "worker_count", worker_count)
        servers = parameter_server_count
        if not isinstance(servers, int) or isinstance(servers, bool) or servers < 0:
            raise ValidationError(
                "TensorflowConfiguration(parameter_server_count=...) must be a whole "
                f"number >= 0, got {servers!r}"
            )
        self.parameter_server_count = servers

    @property
    def process_count(self) -> int:
        return self.worker_count + self.parameter_server_count

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "workerCount": self.worker_count,
            "parameterServerCount": self.parameter_server_count,
        }


def check_distributed(
    config: DistributedConfiguration | None, target_type: str = "local"
) -> dict[str, Any] | None:
    """The configuration as recorded with the run; ValidationError naming the fix for
    what cannot run on a ``target_type`` target (``"local"`` or ``"ray"``)."""
    if config is None:
        return None
    if not isinstance(config, DistributedConfiguration):
        raise ValidationError(
            "distributed_job_config must be a PyTorchConfiguration, MpiConfiguration or "
            f"TensorflowConfiguration, got {type(config).__name__}"
        )
    name = type(config).__name__
    if config.process_count > 1 or getattr(config, "node_count", 1) > 1:
        if isinstance(config, TensorflowConfiguration):
            raise ValidationError(
                f"{name} asks for {config.process_count} processes; Runyard starts "
                "distributed PyTorch (PyTorchConfiguration) and MPI (MpiConfiguration) "
                "runs, not TensorFlow parameter servers: use one of those, or "
                "process_count=1"
            )
        nodes = getattr(config, "node_count", 1)
        if nodes > config.process_count:
            raise ValidationError(
                f"{name}(process_count={config.process_count}, node_count={nodes}): "
                "every node needs at least one process"
            )
        if config.process_count % nodes:
            raise ValidationError(
                f"{name}(process_count={config.process_count}, node_count={nodes}): "
                "the processes must split evenly over the nodes"
            )
        if nodes > 1 and target_type != "ray":
            raise ValidationError(
                f"{name}(node_count={nodes}) on a {target_type} target: one machine is one "
                "node. Submit to a Ray target (its nodes run the ranks, docs/distributed.md), "
                f"or use node_count=1, which starts all {config.process_count} ranks here"
            )
        if nodes > 1 and isinstance(config, MpiConfiguration):
            raise ValidationError(
                f"MpiConfiguration(node_count={nodes}) on a Ray target: mpirun over several "
                "nodes needs its own host list and remote shell, which Runyard does not set "
                "up; use PyTorchConfiguration(process_count=..., node_count=...), whose ranks "
                "Runyard starts on each node, or node_count=1"
            )
        if isinstance(config, MpiConfiguration) and shutil.which("mpirun") is None:
            raise ValidationError(
                f"MpiConfiguration asks for {config.process_count} processes, started "
                "with mpirun, but mpirun is not on the PATH: install an MPI (e.g. "
                "`apt-get install openmpi-bin`, or `conda install openmpi`), or use "
                "PyTorchConfiguration(process_count=...) for torch.distributed"
            )
    return config.as_dict()


class RunConfiguration:
    """``script_run_config.run_config``: the environment, target, limits and variables
    of a run, with the SDK's attribute names. ``run_config.environment`` starts as a
    default environment (this interpreter, as in ``ScriptRunConfig`` without one);
    changing it (``.python.conda_dependencies = ...``) makes it a built one."""

    def __init__(
        self,
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        framework: str | None = None,
        communicator: str | None = None,
        conda_dependencies: CondaDependencies | None = None,
        _history_enabled: bool | None = None,
        _path: str | None = None,
        _name: str | None = None,
        command: str | Sequence[str] | None = None,
        *,
        environment: Environment | None = None,
        target: str | ComputeTarget = "local",
        max_run_duration_seconds: int | None = None,
        environment_variables: Mapping[str, str] | None = None,
    ) -> None:
        self.script = script
        self.arguments = list(arguments or [])
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.command = command
        self.target = target
        self.max_run_duration_seconds = max_run_duration_seconds
        self.environment_variables: dict[str, str] = dict(environment_variables or {})
        self.node_count = 1
        self.history_enabled = True if _history_enabled is None else _history_enabled
        self.docker = DockerConfiguration()
        self.mpi = MpiConfiguration()
        self.pytorch = PyTorchConfiguration()
        self.tensorflow = TensorflowConfiguration()
        self._environment = environment
        self._default: dict[str, Any] | None = None
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies

    @property
    def environment(self) -> Environment:
        if self._environment is None:
            from runyard.core.environment import Environment

            self._environment = Environment(_DEFAULT_ENV_NAME)
            self._default = self._environment.to_spec()
        return self._environment

    @environment.setter
    def environment(self, value: Environment | None) -> None:
        self._environment = value
        self._default = None

    def legacy_distributed(self) -> DistributedConfiguration | None:
        """The distributed job the older SDK style asks for (``run_config.communicator =
        "Mpi"``, ``node_count = 2`` ...), as a configuration; None for one process."""
        communicator = (self.communicator or "None").lower()
        nodes = _count("RunConfiguration", "node_count", self.node_count)
        if communicator in ("mpi", "intelmpi"):
            return MpiConfiguration(self.mpi.process_count_per_node, nodes)
        if communicator == "parameterserver":
            return self.tensorflow
        if nodes > 1 or communicator in ("nccl", "gloo"):
            return PyTorchConfiguration(process_count=nodes, node_count=nodes)
        return None

    def submitted_environment(self) -> Environment | None:
        """The environment a run is built in: None (this interpreter) while it is the
        untouched default."""
        env = self._environment
        if env is None or (self._default is not None and env.to_spec() == self._default):
            return None
        return env

    def __repr__(self) -> str:
        return f"RunConfiguration(target={self.target!r}, environment={self._environment!r})"
