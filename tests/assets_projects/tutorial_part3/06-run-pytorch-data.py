# 06-run-pytorch-data.py, from the seed tutorial's part 3, with only azureml -> runyard
# in its import lines. (The tutorial also sets a conda environment; the test runs the
# script with this interpreter, as part 2's tests do, to keep the build out of it.)
from runyard.core import Workspace
from runyard.core import Experiment
from runyard.core import Dataset
from runyard.core import ScriptRunConfig

if __name__ == "__main__":
    ws = Workspace.from_config()
    datastore = ws.get_default_datastore()
    dataset = Dataset.File.from_files(path=(datastore, 'datasets/cifar10'))

    experiment = Experiment(workspace=ws, name='day1-experiment-data')

    config = ScriptRunConfig(
        source_directory='./src',
        script='train.py',
        compute_target='cpu-cluster',
        arguments=[
            '--data_path', dataset.as_named_input('input').as_mount(),
            '--learning_rate', 0.003,
            '--momentum', 0.92],
    )

    run = experiment.submit(config)
    aml_url = run.get_portal_url()
    print("Submitted to compute cluster. Click link below")
    print("")
    print(aml_url)
