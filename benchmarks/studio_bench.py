"""Studio speed: start-up to first answer, a 10,000-run page sorted by a metric, and a
1,000,000-point metric down-sampled to 2,000 points, all over real HTTP ("api"); and in
real Chromium (issue 18, "browser", benchmarks/studio_browser.py): the experiment page
usable with 1,000 runs x 20 metrics, a 50-series overlay drawn, run.log -> pixel.

    .venv/bin/python -m benchmarks.studio_bench [--runs 10000] [--points 1000000]
        [--only api,browser] [--small] [--browser-steps 1000] [--overlay-steps 100000]

Each server runs as its own process through ``runyard.server.serve`` on a free loopback
port and is stopped by its process id.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from runyard.entities import MetricColumns, RunKind, RunStatus
from runyard.store import open_store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_studio(
    folder: Path, workspace: Path | None = None
) -> tuple[subprocess.Popen[bytes], str, float]:
    """Starts ``serve`` in a child process (on ``folder``'s store, or ``workspace``'s);
    returns it, its URL and seconds from spawn to the first answered request."""
    port = free_port()
    code = (
        "from pathlib import Path; from runyard.store import open_store; "
        "from runyard.server import serve; "
        f"s = open_store('sqlite:///' + {str(folder / 'runyard.db')!r}, "
        f"artifact_root=Path({str(folder / 'artifacts')!r})); "
        f"serve(s, port={port}, token='bench')"
    )
    if workspace is not None:
        code = (
            "from runyard.core import Workspace; from runyard.server import serve; "
            f"serve(Workspace.from_config({str(workspace)!r}).store, port={port}, token='bench')"
        )
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while True:
        try:
            if httpx.get(url + "/api/experiments", timeout=5).status_code == 200:
                return proc, url, time.perf_counter() - t0
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("the studio exited during start-up")
        if time.perf_counter() - t0 > 60:
            proc.terminate()
            raise RuntimeError("the studio did not answer within 60 s")
        time.sleep(0.005)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # our own child, by its pid
    proc.wait(timeout=30)


def timed(client: httpx.Client, path: str, repeat: int = 7) -> tuple[float, float, int]:
    """(median ms, best ms, response bytes) of ``repeat`` GETs after one warm-up."""
    client.get(path).raise_for_status()
    times = []
    size = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        resp = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        resp.raise_for_status()
        size = len(resp.content)
    return statistics.median(times), min(times), size


def populate(folder: Path, runs: int, points: int) -> tuple[str, str]:
    store = open_store(
        "sqlite:///" + str(folder / "runyard.db"), artifact_root=folder / "artifacts"
    )
    try:
        exp = store.get_or_create_experiment("bench-runs")
        t0 = time.perf_counter()
        now = time.time()
        for i in range(runs):
            run = store.create_run(
                exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING
            )
            loss = 1.0 + math.sin(i * 0.37) + i / runs
            store.append_metrics(
                run.run_id,
                [MetricColumns("loss", "float", [0, 1], [now, now + 1], [loss + 1, loss])],
            )
            store.set_status(run.run_id, RunStatus.COMPLETED)
        print(f"  populated {runs} runs in {time.perf_counter() - t0:.1f} s", flush=True)

        big_exp = store.get_or_create_experiment("bench-series")
        big = store.create_run(
            big_exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
        )
        t0 = time.perf_counter()
        batch = 100_000
        for start in range(0, points, batch):
            n = min(batch, points - start)
            steps = list(range(start, start + n))
            store.append_metrics(
                big.run_id,
                [
                    MetricColumns(
                        "loss",
                        "float",
                        steps,
                        [now + s * 0.01 for s in steps],
                        [math.exp(-s / points) + 0.01 * math.sin(s) for s in steps],
                    )
                ],
            )
        print(f"  logged {points} points in {time.perf_counter() - t0:.1f} s", flush=True)
        return exp.experiment_id, big.run_id
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--starts", type=int, default=5, help="start-up measurements")
    parser.add_argument("--only", default="api,browser", help="api, browser or both")
    parser.add_argument("--small", action="store_true", help="tiny sizes (the smoke test)")
    parser.add_argument("--browser-runs", type=int, default=1_000)
    parser.add_argument("--browser-metrics", type=int, default=20)
    parser.add_argument("--browser-steps", type=int, default=1_000)
    parser.add_argument("--overlay-steps", type=int, default=100_000)
    args = parser.parse_args()
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    if args.small:
        args.runs, args.points, args.starts = 50, 10_000, 1
        args.browser_runs, args.browser_metrics = 20, 3
        args.browser_steps, args.overlay_steps = 50, 2_000
    if "api" in parts:
        api_part(args)
    if "browser" in parts:
        browser_part(args)


def browser_part(args: argparse.Namespace) -> None:
    from benchmarks.studio_browser import Sizes, measure, populate
    from runyard.core import Workspace

    sizes = Sizes(
        runs=args.browser_runs,
        metrics=args.browser_metrics,
        steps=args.browser_steps,
        overlay_steps=args.overlay_steps,
        samples=10 if args.small else 30,
        overlay_runs=5 if args.small else 50,
        repeats=2 if args.small else 5,
    )
    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
        print(f"runyard studio in Chromium ({os.cpu_count()} CPUs)")
        ws = Workspace.create(Path(tmp), name="bench", show_output=False)
        experiment_id, overlay = populate(ws.store, sizes)
        proc, url, _ = start_studio(Path(tmp), workspace=Path(tmp))
        try:
            measure(url, experiment_id, overlay, ws, sizes)
        finally:
            stop(proc)
            ws.store.close()


def api_part(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
        folder = Path(tmp)
        print(f"runyard studio benchmark ({os.cpu_count()} CPUs)")
        print("populating the store ...", flush=True)
        exp_id, big_run = populate(folder, args.runs, args.points)

        starts = []
        cpu = []
        for _ in range(args.starts):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc, _url, seconds = start_studio(folder)
            stop(proc)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            starts.append(seconds)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        print(
            f"server start -> first answer: median {statistics.median(starts):.2f} s, "
            f"best {min(starts):.2f} s ({args.starts} starts; the server process used "
            f"{statistics.median(cpu):.2f} s of CPU from spawn to exit)"
        )

        runs_api = f"/api/experiments/{exp_id}/runs?sort=metric:loss:min&order=asc"
        runs_page = f"/experiments/{exp_id}?sort=metric:loss:min&order=asc"
        checks = [
            (f"API runs page, {args.runs} runs sorted by a metric", runs_api + "&metrics=loss"),
            (f"HTML runs page, first 100 of {args.runs} by a metric", runs_page + "&metrics=loss"),
            ("HTML runs page, metric columns picked automatically", runs_page),
            (
                f"{args.points}-point metric at max_points=2000",
                f"/api/runs/{big_run}/metrics/loss?max_points=2000",
            ),
        ]
        proc, url, _ = start_studio(folder)
        try:
            with httpx.Client(base_url=url, timeout=60) as client:
                for label, path in checks:
                    med, best, size = timed(client, path)
                    print(f"{label}: median {med:.0f} ms, best {best:.0f} ms ({size} bytes)")
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
