# run-pytorch.py
"""Submit src/train.py to Runyard: the tutorial's control script, its imports changed.

Run it from this folder. Arguments it does not know go on to train.py:

    python run-pytorch.py                                  # the tutorial: 2 epochs of CIFAR-10
    python run-pytorch.py --wait --limit 2000 --epochs 1 --log-every 100 --fallback digits
"""

import argparse
import os

from runyard.core import Environment, Experiment, ScriptRunConfig, Workspace

if __name__ == "__main__":
    # allow_abbrev=False: a train.py argument such as --w must not be taken for --wait.
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        allow_abbrev=False,
        epilog="Any other arguments are passed to train.py (see python src/train.py --help).",
    )
    parser.add_argument("--wait", action="store_true", help="stream the run's output until it ends")
    parser.add_argument(
        "--conda",
        action="store_true",
        help="build the environment from pytorch-env.yml instead of using the curated one",
    )
    opts, train_args = parser.parse_known_args()

    # Beyond the tutorial: a run's working folder is a copy of src/ elsewhere, so its
    # ../data would download CIFAR-10 (170 MB) again for every run; point all local runs
    # at this folder's data/ (outside src/, so never part of the snapshot).
    if not any(arg == "--data-path" or arg.startswith("--data-path=") for arg in train_args):
        train_args = ["--data-path", os.path.abspath("data"), *train_args]

    ws = Workspace.from_config()
    experiment = Experiment(workspace=ws, name="day1-experiment-train")
    config = ScriptRunConfig(
        source_directory="./src",
        script="train.py",
        arguments=train_args,
        compute_target="cpu-cluster",
    )

    # use curated pytorch environment
    # (as the tutorial uses Azure's 'AzureML-PyTorch-1.6-CPU'): it is built once and cached,
    # and it pins the CPU build of torch, where a plain `pip install torch` fetches the
    # 2.7 GB CUDA build. The tutorial's other way, a conda file, is kept in pytorch-env.yml
    # (not under .runyard/, which git ignores): --conda builds from it.
    if opts.conda:
        env = Environment.from_conda_specification(
            name="pytorch-env", file_path="./pytorch-env.yml"
        )
    else:
        env = Environment.get(ws, name="Runyard-PyTorch-CPU")
    config.run_config.environment = env

    run = experiment.submit(config)

    runyard_url = run.get_portal_url()
    print(runyard_url)

    if opts.wait:
        run.wait_for_completion(show_output=True)
