# SDK-v1 control script, following the conda-file steps of the get-started tutorial's
# day-1 series (04-run-pytorch.py with pytorch-env.yml, tutorials/get-started-day1 in
# Azure/MachineLearningNotebooks) and how-to-use-environments: an environment from a
# conda specification file, submitted to the cluster. Written for this suite; the only
# change from SDK-v1 is azureml -> runyard.
import sys

from runyard.core import Environment, Experiment, ScriptRunConfig, Workspace

if __name__ == "__main__":
    spec_file = sys.argv[1] if len(sys.argv) > 1 else "./env.yml"
    ws = Workspace.from_config()
    experiment = Experiment(workspace=ws, name="day1-experiment-conda")
    config = ScriptRunConfig(
        source_directory="./src", script="check_env.py", compute_target="cpu-cluster"
    )

    # set up the environment from the conda file
    env = Environment.from_conda_specification(name="numpy-env", file_path=spec_file)
    config.run_config.environment = env

    run = experiment.submit(config)
    aml_url = run.get_portal_url()
    print(aml_url)
    run.wait_for_completion(show_output=True)
