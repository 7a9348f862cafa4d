# SDK-v1 notebook cells, following how-to-use-scriptrun.ipynb in
# Azure/MachineLearningNotebooks (how-to-use-azureml/work-with-data/datasets-tutorial/
# scriptrun-with-data-input-output): upload a CSV to the default datastore, pass a
# one-file FileDataset as a mount and an OutputFileDatasetConfig as the script's two
# arguments, in an environment with docker enabled and the SDK as its pip package.
# Written for this suite with that notebook's SDK calls; the only change is
# azureml -> runyard.
from runyard.core import Workspace

ws = Workspace.from_config()
print("Workspace name: " + ws.name)

from runyard.core.compute import AmlCompute, ComputeTarget
from runyard.core.compute_target import ComputeTargetException

cluster_name = "cpu-cluster"
try:
    compute_target = ComputeTarget(workspace=ws, name=cluster_name)
    print("Found existing compute target")
except ComputeTargetException:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=4)
    compute_target = ComputeTarget.create(ws, cluster_name, config)
    compute_target.wait_for_completion(show_output=True, timeout_in_minutes=20)
print(compute_target.get_status().serialize())

source_directory = "script_run"
def_blob_store = ws.get_default_datastore()
def_blob_store.upload_files(
    files=["iris.csv"], target_path="script-run/", overwrite=True, show_progress=True
)

from runyard.core import Dataset
from runyard.data import OutputFileDatasetConfig

input_data = (
    Dataset.File.from_files(def_blob_store.path("script-run/iris.csv"))
    .as_named_input("input")
    .as_mount()
)
output = OutputFileDatasetConfig(destination=(def_blob_store, "sample/outputdataset"))

from runyard.core import Environment
from runyard.core.conda_dependencies import CondaDependencies

myenv = Environment("myenv")
myenv.docker.enabled = True
myenv.python.conda_dependencies = CondaDependencies.create(pip_packages=["azureml-sdk>=1.12.0"])

from runyard.core import ScriptRunConfig

src = ScriptRunConfig(
    source_directory=source_directory,
    script="copy_input.py",
    arguments=[input_data, output],
    compute_target=compute_target,
    environment=myenv,
)

from runyard.core import Experiment

exp = Experiment(ws, "ScriptRun_sample")
run = exp.submit(config=src)
run.wait_for_completion(show_output=True)
print("run:", run.id, run.get_status())
