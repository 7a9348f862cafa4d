# SDK-v1 notebook cells, joined: train-remote.ipynb in Azure/MachineLearningNotebooks
# (how-to-use-azureml/track-and-monitor-experiments/using-mlflow/train-remote), as
# published; the only change is azureml -> runyard. The submitted script
# (train_diabetes.py, the notebook's own) logs with MLflow alone.
# Check core SDK version number
import runyard.core
from runyard.core import Workspace, Experiment

print("SDK version:", runyard.core.VERSION)

ws = Workspace.from_config()

from runyard.core.compute import ComputeTarget, AmlCompute
from runyard.core.compute_target import ComputeTargetException

# Choose a name for your CPU cluster
cluster_name = "cpu-cluster"

# Verify that cluster does not exist already
try:
    cpu_cluster = ComputeTarget(workspace=ws, name=cluster_name)
    print("Found existing cpu-cluster")
except ComputeTargetException:
    print("Creating new cpu-cluster")

    # Specify the configuration for the new cluster
    compute_config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=2
    )

    # Create the cluster with the specified name and configuration
    cpu_cluster = ComputeTarget.create(ws, cluster_name, compute_config)

    # Wait for the cluster to complete, show the output log
    cpu_cluster.wait_for_completion(show_output=True)

from runyard.core import Experiment

experiment_name = "RemoteTrain-with-mlflow-sample"
exp = Experiment(workspace=ws, name=experiment_name)

training_script = "train_diabetes.py"
with open(training_script, "r") as f:
    print(f.read())

from runyard.core import Environment
from runyard.core.conda_dependencies import CondaDependencies

env = Environment(name="mlflow-env")

# Specify conda dependencies with scikit-learn and temporary pointers to mlflow extensions
cd = CondaDependencies.create(
    pip_packages=[
        "azureml-mlflow",
        "scikit-learn",
        "matplotlib",
        "pandas",
        "numpy",
        "protobuf==5.28.3",
    ]
)

env.python.conda_dependencies = cd

from runyard.core import ScriptRunConfig

src = ScriptRunConfig(
    source_directory=".", script=training_script, compute_target=cpu_cluster, environment=env
)

run = exp.submit(src)
run.wait_for_completion(show_output=True)

run

print(run.get_metrics())

run.get_details()
