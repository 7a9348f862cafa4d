# SDK-v1 control script, following 03-run-hello.py of the get-started tutorial
# (tutorials/get-started-day1/IDE-users in Azure/MachineLearningNotebooks): submit a
# hello-world script to the cluster and stream it. Written for this suite; the only
# change from SDK-v1 is azureml -> runyard.
from runyard.core import Experiment, ScriptRunConfig, Workspace

ws = Workspace.from_config()
experiment = Experiment(workspace=ws, name="day1-experiment-hello")

config = ScriptRunConfig(source_directory="./src", script="hello.py", compute_target="cpu-cluster")

run = experiment.submit(config)
aml_url = run.get_portal_url()
print(aml_url)
run.wait_for_completion(show_output=True)
