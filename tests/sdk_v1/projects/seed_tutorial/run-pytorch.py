# run-pytorch.py, from the seed tutorial /work/shared/seed/000_db49de8ae141d6a5.txt
# (Tutorial: train your first ML model, part 2 of 3); only azureml -> runyard in its import lines.
# run-pytorch.py
from runyard.core import Workspace
from runyard.core import Experiment
from runyard.core import Environment
from runyard.core import ScriptRunConfig

if __name__ == "__main__":
    ws = Workspace.from_config()
    experiment = Experiment(workspace=ws, name="day1-experiment-train")
    config = ScriptRunConfig(
        source_directory="./src", script="train.py", compute_target="cpu-cluster"
    )

    # use curated pytorch environment
    env = ws.environments["AzureML-PyTorch-1.6-CPU"]
    config.run_config.environment = env

    run = experiment.submit(config)

    aml_url = run.get_portal_url()
    print(aml_url)
