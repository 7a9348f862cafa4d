# SDK-v1 control script, following the PyTorch distributed examples in
# Azure/MachineLearningNotebooks (how-to-use-azureml/ml-frameworks/pytorch/
# distributed-pytorch-with-distributeddataparallel): a distributed job configuration, a
# Docker runtime configuration and the default CPU image, submitted to the cluster.
# Written for this suite with those SDK calls; the only change is azureml -> runyard.
import sys

from runyard.core import Environment, Experiment, ScriptRunConfig, Workspace
from runyard.core.runconfig import DEFAULT_CPU_IMAGE, DockerConfiguration, PyTorchConfiguration
from runyard.telemetry import set_diagnostics_collection

set_diagnostics_collection(send_diagnostics=True)

process_count = int(sys.argv[1]) if len(sys.argv) > 1 else 1

ws = Workspace.from_config()
compute_target = ws.compute_targets["cpu-cluster"]

env = Environment(name="local-python")
env.python.user_managed_dependencies = True
env.docker.base_image = DEFAULT_CPU_IMAGE

distr_config = PyTorchConfiguration(process_count=process_count, node_count=1)
src = ScriptRunConfig(
    source_directory="./src",
    script="train_dist.py",
    arguments=["--epochs", 2],
    compute_target=compute_target,
    environment=env,
    distributed_job_config=distr_config,
    docker_runtime_config=DockerConfiguration(use_docker=True),
)
run = Experiment(workspace=ws, name="pytorch-distributed").submit(src)
print(run.get_portal_url())
run.wait_for_completion(show_output=True)
