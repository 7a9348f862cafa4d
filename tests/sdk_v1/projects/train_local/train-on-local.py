# SDK-v1 notebook cells, following train-on-local.ipynb in Azure/MachineLearningNotebooks
# (how-to-use-azureml/training/train-on-local): a user-managed run configuration, the
# script submitted to the local machine, then its metrics and files read back. Written
# for this suite with that notebook's SDK calls; the only change is azureml -> runyard.
from runyard.core import Experiment, ScriptRunConfig, Workspace
from runyard.core.runconfig import RunConfiguration

ws = Workspace.from_config()
experiment_name = "train-on-local"
exp = Experiment(workspace=ws, name=experiment_name)

# Editing a run configuration property on-fly.
run_config_user_managed = RunConfiguration()
run_config_user_managed.environment.python.user_managed_dependencies = True

src = ScriptRunConfig(source_directory="./", script="train.py", run_config=run_config_user_managed)
run = exp.submit(src)
run.wait_for_completion(show_output=True)

print(run.get_status())
metrics = run.get_metrics()
print("alphas", len(metrics["alpha"]), "best mse", min(metrics["mse"]))
print(run.get_file_names())
