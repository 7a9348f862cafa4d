# SDK-v1 notebook cells, following train-on-amlcompute.ipynb in
# Azure/MachineLearningNotebooks (how-to-use-azureml/training/train-on-amlcompute): an
# environment from CondaDependencies.create(conda_packages=['scikit-learn']), the
# training script submitted to the AmlCompute cluster, the cluster's status, nodes and
# scale-down time, the run's metrics. Written for this suite with that notebook's SDK
# calls; the only change is azureml -> runyard.
from runyard.core import Environment, Experiment, ScriptRunConfig, Workspace
from runyard.core.compute import ComputeTarget
from runyard.core.conda_dependencies import CondaDependencies

ws = Workspace.from_config()
experiment = Experiment(workspace=ws, name="train-on-amlcompute")

cpu_cluster = ComputeTarget(workspace=ws, name="cpu-cluster")
print(cpu_cluster.get_status().serialize())

# list_nodes() gets the list of nodes on the cluster with status, IP and associated run
print(cpu_cluster.list_nodes())
cpu_cluster.update(idle_seconds_before_scaledown=300)

myenv = Environment("myenv")
myenv.python.conda_dependencies = CondaDependencies.create(conda_packages=["scikit-learn"])

project_folder = "./train-on-amlcompute"
src = ScriptRunConfig(
    source_directory=project_folder,
    script="train.py",
    compute_target=cpu_cluster,
    environment=myenv,
)
run = experiment.submit(config=src)
run.wait_for_completion(show_output=True)

print(run.get_metrics())
