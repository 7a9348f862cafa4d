# SDK-v1 notebook cells, following using-environments.ipynb in
# Azure/MachineLearningNotebooks (how-to-use-azureml/training/using-environments): a
# curated environment and its packages, the list of environments, a new environment from
# CondaDependencies registered and got back by version, and a run in it. Written for this
# suite with that notebook's SDK calls; the only change is azureml -> runyard.
from runyard.core import Environment, Experiment, ScriptRunConfig, Workspace
from runyard.core.conda_dependencies import CondaDependencies

ws = Workspace.from_config()

env = Environment.get(workspace=ws, name="AzureML-Minimal")
print(env.python.conda_dependencies.serialize_to_string())

envs = Environment.list(workspace=ws)
for env in envs:
    if env.startswith("AzureML"):
        print("Name", env)
        print("packages", envs[env].python.conda_dependencies.serialize_to_string())

myenv = Environment(name="myenv")
conda_dep = CondaDependencies()
# Installs numpy conda package
conda_dep.add_conda_package("numpy")
# Installs the cloud's runtime package (satisfied locally by Runyard itself)
conda_dep.add_pip_package("azureml-defaults")
# Adds dependencies to PythonSection of myenv
myenv.python.conda_dependencies = conda_dep

myenv.register(workspace=ws)

src = ScriptRunConfig(source_directory="./src", script="check_env.py", environment=myenv)
run = Experiment(workspace=ws, name="using-environments").submit(src)
run.wait_for_completion(show_output=True)

restored_environment = Environment.get(workspace=ws, name="myenv", version="1")
print("Attributes of restored environment")
print(restored_environment)
print(ws.environments["myenv"].python.conda_dependencies.serialize_to_string())
