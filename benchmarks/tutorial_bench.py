"""The tutorial's training as a plain script vs as a Runyard run (issue: the tutorial).

    .venv/bin/python -m benchmarks.tutorial_bench [--epochs 3] [--repeat 3]

Both run ``examples/cifar10-tutorial/src/train.py`` with the same interpreter (the
curated ``Runyard-PyTorch-CPU`` environment), one torch thread, on the same data: CIFAR-10
when ``data/`` holds it, else the digits fallback (``--epochs 10`` of digits take about as
long as one CIFAR-10 epoch here). Direct runs are timed from process start to exit;
submitted runs from ``experiment.submit()`` to the run being Completed, which includes
everything Runyard adds: snapshot, runner start, driver log, journal ingest, uploading
outputs. They alternate, so load on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from runyard.core import (
    ComputeTarget,
    Environment,
    Experiment,
    LocalCompute,
    ScriptRunConfig,
    Workspace,
)
from runyard.environments import prepare
from runyard.environments.runyard_link import put_runyard_on_path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cifar10-tutorial"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    data = EXAMPLE / "data"
    args = ["--data-path", str(data), "--epochs", str(opts.epochs), "--log-every", "100",
            "--seed", "0", "--fallback", "digits"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "ws")
        ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(1))
        env = Environment.get(ws, "Runyard-PyTorch-CPU")
        prepared = prepare(env.to_spec(), Path(tmp) / "build.log")
        direct_env = put_runyard_on_path(dict(os.environ))
        direct, submitted = [], []
        for _ in range(opts.repeat):
            work = Path(tmp) / "direct"
            work.mkdir(exist_ok=True)
            t0 = time.perf_counter()
            subprocess.run(
                [str(prepared.python), str(EXAMPLE / "src" / "train.py"), *args],
                cwd=work, env=direct_env, check=True, capture_output=True,
            )  # fmt: skip
            direct.append(time.perf_counter() - t0)
            config = ScriptRunConfig(
                source_directory=str(EXAMPLE / "src"), script="train.py", arguments=args,
                compute_target="cpu", environment=env,
            )  # fmt: skip
            t0 = time.perf_counter()
            run = Experiment(ws, "tutorial-bench").submit(config)
            run.wait_for_completion()
            submitted.append(time.perf_counter() - t0)
        d, s = statistics.median(direct), statistics.median(submitted)
        print(f"plain script:   median {d:.2f} s  ({', '.join(f'{x:.2f}' for x in direct)})")
        print(f"as a run:       median {s:.2f} s  ({', '.join(f'{x:.2f}' for x in submitted)})")
        print(f"run / script:   {s / d:.3f}x (target <= 1.03)")


if __name__ == "__main__":
    main()
