"""`make demo`: the tutorial end to end, with the studio open.

Creates a workspace in this folder with a `cpu-cluster` local target, starts the studio,
submits the tutorial run through run-pytorch.py (the control script), streams the
training output, and leaves the studio running until Ctrl-C. A second `make demo`
reuses the workspace, the built environment and the data.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from runyard.core import ComputeTarget, LocalCompute, Workspace

HERE = Path(__file__).resolve().parent
PREFERRED_PORT = 8765


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1")


def start_studio(port: int) -> subprocess.Popen[bytes]:
    studio = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "-w", str(HERE), "studio", "--port", str(port)],
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if studio.poll() is not None:
            raise SystemExit(f"the studio exited with code {studio.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/experiments", timeout=1).status_code == 200:
                return studio
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    studio.terminate()
    raise SystemExit("the studio did not answer within 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-wait", action="store_true", help="stop the studio after the run")
    opts, train_args = parser.parse_known_args()

    ws = Workspace.create(HERE, name="cifar10-tutorial")
    if "cpu-cluster" not in ws.compute_targets:
        ComputeTarget.create(
            ws, "cpu-cluster", LocalCompute.provisioning_configuration(max_concurrent_runs=2)
        )
    port = free_port(PREFERRED_PORT)
    studio = start_studio(port)
    print(f"Studio: http://127.0.0.1:{port}", flush=True)

    env = dict(os.environ)
    # No network here means no CIFAR-10 download: train on scikit-learn's digits
    # instead (real images, real learning), and say so in the run's output.
    env.setdefault("RUNYARD_CIFAR10_FALLBACK", "digits")
    if not train_args:
        data = HERE / "data"
        has_cifar = (data / "cifar-10-batches-py").is_dir() or (
            data / "cifar-10-python.tar.gz"
        ).is_file()
        # The tutorial's run, with a point every 200 batches instead of 2,000 so the
        # chart fills in quickly; the small digits set gets more epochs to learn.
        train_args = ["--log-every", "200"] if has_cifar else ["--epochs", "4", "--log-every", "40"]
    try:
        control = subprocess.run(
            [sys.executable, "run-pytorch.py", "--wait", *train_args], cwd=HERE, env=env
        )
        if opts.no_wait:
            return control.returncode
        print(f"\nStudio still running at http://127.0.0.1:{port} - press Ctrl-C to stop.")
        studio.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if studio.poll() is None:
            os.kill(studio.pid, signal.SIGTERM)
            try:
                studio.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(studio.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
