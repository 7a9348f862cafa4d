"""Runs on a Ray cluster: start-up latency and how fast a big run's metrics get home.

    python -m benchmarks.ray_bench [--repeat N] [--points N] [--json]

Starts a single-node Ray head on loopback (tests/support/ray_cluster.py) and a real
``runyard studio`` process with a token, in a fresh workspace, and warms both with one
run. Then:

- submit -> first output line: from ``experiment.submit`` to the script's first line
  in the run's driver log in the store (target <= 3 s). For comparison, Ray's own bare
  job: ``submit_job`` of ``python -c print`` to that line in Ray's job log.
- a run logging 1,000,000 points: from the script's last statement to all points in
  the store (target <= 5 s), and to the run's Completed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from tests.support.ray_cluster import RayHead, start_ray_head

from benchmarks.target_table import Result, print_table
from runyard.core import ComputeTarget, Experiment, RayCompute, Run, ScriptRunConfig, Workspace
from runyard.runner import ray_jobs
from runyard.store.artifacts import DRIVER_LOG

TOKEN = "ray-bench-token"
FIRST_LINE = "print('first line', flush=True)\n"
MANY_POINTS = """
    import time
    from runyard.core import Run

    run = Run.get_context()
    log = run.log
    for i in range({points}):
        log("loss", 1.0 / (i + 1))
    print(f"END {{time.time():.6f}}", flush=True)
"""


class Bench:
    def __init__(self, root: Path, head: RayHead) -> None:
        self.root = root
        self.head = head
        self.ws = Workspace.create(root / "ws", name="ray-bench")
        self.studio_port = _free_port()
        self.studio_url = f"http://127.0.0.1:{self.studio_port}"
        self.studio = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("runyard")),
                "studio",
                "--port",
                str(self.studio_port),
                "--token",
                TOKEN,
            ],
            cwd=root / "ws",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_http(f"{self.studio_url}/api/experiments")
        ComputeTarget.create(
            self.ws,
            "ray",
            RayCompute.provisioning_configuration(
                address=head.address,
                max_concurrent_runs=2,
                server_url=self.studio_url,
                token=TOKEN,
            ),
        )
        self.experiment = Experiment(self.ws, "ray-bench")

    def submit(self, name: str, script: str) -> Run:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        (folder / "train.py").write_text(textwrap.dedent(script))
        config = ScriptRunConfig(
            source_directory=str(folder), script="train.py", compute_target="ray"
        )
        return self.experiment.submit(config)

    def close(self) -> None:
        self.studio.send_signal(signal.SIGTERM)
        try:
            self.studio.wait(10)
        except subprocess.TimeoutExpired:
            self.studio.kill()
            self.studio.wait()
        self.ws.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def _driver_log(bench: Bench, run: Run) -> bytes:
    try:
        return bench.ws.store.artifacts.read_bytes(run.id, DRIVER_LOG)
    except LookupError:
        return b""


def bench_first_line(bench: Bench, repeat: int) -> list[Result]:
    # The first submit of a process also imports Ray's job client, and the cluster
    # starts its first job worker: reported, then the warm figures.
    cold = _first_line(bench, "cold")
    latencies = [_first_line(bench, f"first-{i}") for i in range(repeat)]
    bare = statistics.median(_bare_ray_jobs(bench.head.address, repeat))
    median = statistics.median(latencies)
    return [
        Result("first submit of a process -> first line", cold, "s", "", True),
        Result("submit -> first line in the store (median)", median, "s", "<= 3", median <= 3),
        Result("submit -> first line in the store (max)", max(latencies), "s", "", True),
        Result("Ray's bare job: submit -> first line (median)", bare, "s", "", True),
    ]


def _first_line(bench: Bench, name: str) -> float:
    started = time.perf_counter()
    run = bench.submit(name, FIRST_LINE)
    while b"first line" not in _driver_log(bench, run):
        time.sleep(0.01)
    took = time.perf_counter() - started
    run.wait_for_completion(timeout=120)
    return took


def _bare_ray_jobs(address: str, repeat: int) -> list[float]:
    client = ray_jobs.client(address)
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        job = client.submit_job(
            entrypoint=f"{sys.executable} -c \"print('first line', flush=True)\"",
            submission_id=f"bare-{os.getpid()}-{time.time_ns()}-{i}",
        )
        while "first line" not in client.get_job_logs(job):
            time.sleep(0.01)
        times.append(time.perf_counter() - started)
        while not client.get_job_status(job).is_terminal():
            time.sleep(0.05)
    return times


def bench_many_points(bench: Bench, points: int) -> list[Result]:
    run = bench.submit("many", MANY_POINTS.format(points=points))
    store = bench.ws.store
    all_in = None
    while True:
        summary = store.get_metric_summaries(run.id).get("loss")
        if all_in is None and summary is not None and summary.count == points:
            all_in = time.time()
        info = store.get_run(run.id)
        if info.status.is_terminal():
            break
        time.sleep(0.02)
    completed = time.time()
    if info.status.value != "Completed":
        raise RuntimeError(f"the run ended {info.status.value}: {info.error}")
    if all_in is None:
        count = store.get_metric_summaries(run.id)["loss"].count
        raise RuntimeError(f"only {count} of {points} points arrived")
    text = _driver_log(bench, run).decode()
    ended = float(text.rsplit("END ", 1)[1].split()[0])
    lag, to_completed = all_in - ended, completed - ended
    return [
        Result(f"{points:,} points: script end -> all in the store", lag, "s", "<= 5", lag <= 5),
        Result(f"{points:,} points: script end -> run Completed", to_completed, "s", "", True),
    ]


def run(repeat: int, points: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        cache = Path(tmp) / "node-cache"
        head = start_ray_head(extra_env={"RUNYARD_CACHE_DIR": str(cache)})
        try:
            exposed = head.exposed()
            if exposed:
                raise RuntimeError("the Ray head listens beyond loopback: " + "; ".join(exposed))
            bench = Bench(Path(tmp), head)
            try:
                return bench_first_line(bench, repeat) + bench_many_points(bench, points)
            finally:
                bench.close()
        finally:
            head.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="runs per latency measurement")
    parser.add_argument("--points", type=int, default=1_000_000, help="points of the big run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    results = run(args.repeat, args.points)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
