"""`make demo`: the tutorial end to end, with the studio open.

Creates a workspace in this folder with a `cpu-cluster` local target, starts the studio,
submits the tutorial run through run-pytorch.py (the control script), streams the
training output, and leaves the studio running until Ctrl-C. A second `make demo`
reuses the workspace, the built environment and the data.

Ctrl-C or SIGTERM stops everything it started: the control script, the runs it
submitted that are still going (canceled), and the studio (in its own process group,
stopped by its pid).
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
    """``preferred`` if it is free, else a free port, saying why it moved."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            got = int(s.getsockname()[1])
            if got != preferred:
                print(
                    f"Port {preferred} is in use (another studio or program?), so the "
                    f"studio uses port {got} instead.",
                    flush=True,
                )
            return got
    raise RuntimeError("no free port on 127.0.0.1")


def _terminate(signum: int, _frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so that main's `finally` stops what it started.
    raise KeyboardInterrupt


def cancel_runs_since(ws: Workspace, since: float) -> None:
    """Cancels the runs of the tutorial's experiment submitted since ``since``."""
    from runyard.core import Run
    from runyard.entities import RunQuery

    exp = ws.store.get_experiment_by_name("day1-experiment-train")
    if exp is None:
        return
    for info in ws.store.search_runs(RunQuery(experiment_id=exp.experiment_id, limit=20)).runs:
        if info.created_at >= since and not info.status.is_terminal():
            print(f"canceling {info.run_id}", flush=True)
            Run.get(ws, info.run_id).cancel()


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
    signal.signal(signal.SIGTERM, _terminate)
    started = time.time()

    ws = Workspace.create(HERE, name="cifar10-tutorial")
    if "cpu-cluster" not in ws.compute_targets:
        ComputeTarget.create(
            ws, "cpu-cluster", LocalCompute.provisioning_configuration(max_concurrent_runs=2)
        )
    port = free_port(PREFERRED_PORT)
    studio = start_studio(port)
    print(f"Studio: http://127.0.0.1:{port}", flush=True)
    control: subprocess.Popen[bytes] | None = None

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
        control = subprocess.Popen(
            [sys.executable, "run-pytorch.py", "--wait", *train_args], cwd=HERE, env=env
        )
        code = control.wait()
        if opts.no_wait:
            return code
        print(f"\nStudio still running at http://127.0.0.1:{port} - press Ctrl-C to stop.")
        studio.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if control is not None and control.poll() is None:
            control.terminate()
            try:
                control.wait(timeout=10)
            except subprocess.TimeoutExpired:
                control.kill()
        cancel_runs_since(ws, started)
        if studio.poll() is None:
            os.kill(studio.pid, signal.SIGTERM)
            try:
                studio.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(studio.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
