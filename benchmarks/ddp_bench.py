"""A 2-rank gloo DDP script through Runyard vs plain ``torchrun`` (issue 19).

    .venv/bin/python -m benchmarks.ddp_bench [--steps 300] [--repeat 3] [--ranks 2]

The same script (a small MLP trained with DistributedDataParallel over gloo, logging its
loss every step with ``Run.get_context().log``) runs both ways with the same interpreter:

- plain: ``torchrun --standalone --nproc_per_node N script``, timed from start to exit
  (the script's ``Run.get_context()`` is then an offline run);
- Runyard: ``experiment.submit(ScriptRunConfig(..., distributed_job_config=
  PyTorchConfiguration(process_count=N)))`` to the run being Completed, which includes
  everything Runyard adds: snapshot, runner, per-rank logs and journals, ingest of every
  rank's points, collecting outputs.

They alternate, so load on the machine hits both alike; medians are printed with every
figure. Target: Runyard / torchrun <= 1.05.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.target_table import Result, print_table
from runyard.core import ComputeTarget, Experiment, LocalCompute, ScriptRunConfig, Workspace
from runyard.core.runconfig import PyTorchConfiguration

SCRIPT = """\
import sys
import torch
import torch.distributed as dist
from runyard.core import Run

steps = int(sys.argv[1])
dist.init_process_group("gloo")
torch.manual_seed(dist.get_rank())
model = torch.nn.parallel.DistributedDataParallel(
    torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
run = Run.get_context()
x, y = torch.randn(64, 256), torch.randint(0, 10, (64,))
for step in range(steps):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    run.log("loss", loss.item())
dist.barrier()
dist.destroy_process_group()
"""


def _torchrun() -> str:
    found = Path(sys.executable).with_name("torchrun")
    if found.is_file():
        return str(found)
    path = shutil.which("torchrun")
    if path is None:
        raise SystemExit("torchrun is not installed here: pip install torch")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ranks", type=int, default=2)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        (src / "ddp.py").write_text(SCRIPT)
        ws = Workspace.create(Path(tmp) / "ws")
        ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(1))
        config = ScriptRunConfig(
            source_directory=str(src), script="ddp.py", arguments=[opts.steps],
            compute_target="cpu",
            distributed_job_config=PyTorchConfiguration("Gloo", process_count=opts.ranks),
        )  # fmt: skip
        plain_argv = [_torchrun(), "--standalone", f"--nproc_per_node={opts.ranks}",
                      str(src / "ddp.py"), str(opts.steps)]  # fmt: skip
        plain, runyard = [], []
        for i in range(opts.repeat + 1):  # the first pair warms the page cache, not timed
            work = Path(tmp) / "plain"
            work.mkdir(exist_ok=True)
            t0 = time.perf_counter()
            subprocess.run(plain_argv, cwd=work, check=True, capture_output=True)
            took_plain = time.perf_counter() - t0
            t0 = time.perf_counter()
            run = Experiment(ws, "ddp-bench").submit(config)
            run.wait_for_completion()
            took_runyard = time.perf_counter() - t0
            if len(run.get_metrics(rank=opts.ranks - 1)["loss"]) != opts.steps:
                raise SystemExit(f"run {run.id}: the last rank's points are not all stored")
            if i:
                plain.append(took_plain)
                runyard.append(took_runyard)
        p, r = statistics.median(plain), statistics.median(runyard)
        print(f"plain torchrun: median {p:.2f} s  ({', '.join(f'{x:.2f}' for x in plain)})")
        print(f"through Runyard: median {r:.2f} s  ({', '.join(f'{x:.2f}' for x in runyard)})")
        print_table(
            [
                Result(
                    f"{opts.ranks}-rank DDP: Runyard / torchrun",
                    r / p,
                    "x",
                    "<= 1.05",
                    r / p <= 1.05,
                ),
            ]
        )


if __name__ == "__main__":
    main()
