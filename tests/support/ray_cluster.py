"""A real Ray head for tests and benchmarks, on loopback only, and a second node joined
to it (:func:`add_ray_worker`).

Ray rewrites ``--node-ip-address=127.0.0.1`` to the machine's network address unless
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, and its services then listen on 0.0.0.0; so
the head is started with that variable and every port pinned, and :meth:`RayHead.
exposed` lists anything of ours that listens elsewhere (the fixture fails on it).

The head is stopped by process id, never by name (``ray stop`` would kill every Ray
process of the user): the processes are those descended from the ``ray start --block``
we started, plus any that carry our marker in their environment (a job's watcher,
re-parented to init when its parent died). SIGTERM, then SIGKILL: Ray's daemons do not
all honour SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

MARKER = "RUNYARD_TEST_RAY_HEAD"
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
_PORT_NAMES = (
    "port",
    "dashboard-port",
    "ray-client-server-port",
    "node-manager-port",
    "object-manager-port",
    "metrics-export-port",
    "dashboard-agent-listen-port",
    "dashboard-agent-grpc-port",
    "runtime-env-agent-port",
)
_WORKER_PORTS = 40
# A worker node has no GCS, dashboard or Ray client server of its own.
_HEAD_ONLY = frozenset({"port", "dashboard-port", "ray-client-server-port"})


class RayStartError(RuntimeError):
    pass


@dataclass
class RayHead:
    """A started head: its job submission ``address`` and how to stop it."""

    address: str
    temp_dir: Path
    process: subprocess.Popen[bytes]
    marker: str
    ports: dict[str, int]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def processes(self) -> list[psutil.Process]:
        """Every live process of this head (see the module docstring)."""
        found: dict[int, psutil.Process] = {}
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.process.pid)
            for p in [root, *root.children(recursive=True)]:
                found[p.pid] = p
        me = os.getpid()
        for p in psutil.process_iter():
            if p.pid in found or p.pid == me:
                continue
            with contextlib.suppress(psutil.Error):
                if p.environ().get(MARKER) == self.marker:
                    found[p.pid] = p
        return list(found.values())

    def exposed(self) -> list[str]:
        """Listening sockets of this head's processes that are not on loopback."""
        problems = []
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                for conn in p.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr.ip not in LOOPBACK:
                        problems.append(
                            f"{p.name()} (pid {p.pid}) listens on {conn.laddr.ip}:{conn.laddr.port}"
                        )
        return problems

    def stop(self, grace: float = 5.0) -> list[int]:
        """Stops exactly this head's processes; returns their pids."""
        procs = self.processes()
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.send_signal(signal.SIGTERM)
        _gone, alive = psutil.wait_procs(procs, timeout=grace)
        # Processes started while we were stopping (a worker, a job) are ours too.
        stragglers = {p.pid: p for p in [*alive, *self.processes()]}
        for p in stragglers.values():
            with contextlib.suppress(psutil.Error):
                p.send_signal(signal.SIGKILL)
        psutil.wait_procs(list(stragglers.values()), timeout=grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(grace)
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        return sorted({p.pid for p in procs} | set(stragglers))


def _free_ports(names: Iterable[str]) -> dict[str, int]:
    """A free loopback port for each name, all different: every socket stays bound until
    the last is picked, since a port closed at once may be handed out again (CI once gave
    the worker's node manager and metrics exporter the same port, and `ray start` refused)."""
    with contextlib.ExitStack() as stack:
        ports = {}
        for name in names:
            s = stack.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            ports[name] = int(s.getsockname()[1])
        return ports


def _free_range(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    for _ in range(200):
        base = random.randrange(20_000, 30_000)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RayStartError(f"no {count} consecutive free ports for Ray's workers")


def ray_executable() -> str:
    ray = Path(sys.executable).with_name("ray")
    if not ray.exists():
        raise RayStartError(f"{ray} not found; install Ray with `pip install 'runyard[ray]'`")
    return str(ray)


def start_ray_head(
    *, num_cpus: int = 2, extra_env: dict[str, str] | None = None, timeout: float = 90.0
) -> RayHead:
    """Starts a head on 127.0.0.1 and waits until its job server answers."""
    temp_dir = Path(tempfile.mkdtemp(prefix="ry", dir="/tmp"))  # short: socket paths
    ports = _free_ports(_PORT_NAMES)
    workers = _free_range(_WORKER_PORTS)
    marker = uuid.uuid4().hex
    env = {
        **os.environ,
        **(extra_env or {}),
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        # A local ray.init() (Ray Tune in benchmarks/sweeps_bench.py, a user's own) saves
        # ~/.ray/auth_token, and a head started while it exists turns token auth on:
        # every HTTP call below would then answer 401. Say which mode these heads use.
        "RAY_AUTH_MODE": "disabled",
        MARKER: marker,
    }
    argv = [
        ray_executable(),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        "--dashboard-host=127.0.0.1",
        *(f"--{name}={port}" for name, port in ports.items()),
        f"--min-worker-port={workers}",
        f"--max-worker-port={workers + _WORKER_PORTS - 1}",
        f"--num-cpus={num_cpus}",
        "--object-store-memory=200000000",
        "--disable-usage-stats",
        "--include-log-monitor=false",
        f"--temp-dir={temp_dir}",
    ]
    log_path = temp_dir / "ray-start.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    head = RayHead(
        address=f"http://127.0.0.1:{ports['dashboard-port']}",
        temp_dir=temp_dir,
        process=process,
        marker=marker,
        ports={**ports, "min-worker-port": workers},
        log_path=log_path,
        env=env,
    )
    deadline = time.monotonic() + timeout
    try:
        while not _ready(head.address):
            if process.poll() is not None:
                raise RayStartError(
                    f"`ray start` exited with {process.returncode}:\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            if time.monotonic() > deadline:
                raise RayStartError(f"the Ray head did not answer within {timeout} s")
            time.sleep(0.2)
    except BaseException:
        head.stop()
        raise
    return head


# Ray's CLI turns a loopback --address into the machine's network address before it
# connects (``resolve_ip_for_localhost``), where a loopback head's GCS does not listen;
# with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (which keeps the head on loopback) it refuses to
# start a worker at all. So the worker's `ray start` runs with the address kept as given.
_WORKER_SHIM = (
    "import sys, ray._private.services as services; "
    "services.resolve_ip_for_localhost = lambda host: host; "
    "from ray.scripts.scripts import main; sys.argv[0] = 'ray'; main()"
)


def add_ray_worker(
    head: RayHead, *, num_cpus: int = 1, resources: str = "", timeout: float = 90.0
) -> subprocess.Popen[bytes]:
    """Joins a second node to ``head`` with `ray start --address=127.0.0.1:PORT`, every
    port pinned to loopback, and waits until the head counts it ALIVE. Its processes
    carry the head's marker, so ``head.stop()`` and ``head.exposed()`` cover them."""
    ports = _free_ports(name for name in _PORT_NAMES if name not in _HEAD_ONLY)
    workers = _free_range(_WORKER_PORTS)
    argv = [
        sys.executable,
        "-c",
        _WORKER_SHIM,
        "start",
        "--block",
        f"--address=127.0.0.1:{head.ports['port']}",
        "--node-ip-address=127.0.0.1",
        *(f"--{name}={port}" for name, port in ports.items()),
        f"--min-worker-port={workers}",
        f"--max-worker-port={workers + _WORKER_PORTS - 1}",
        f"--num-cpus={num_cpus}",
        *([f"--resources={resources}"] if resources else []),
        "--object-store-memory=100000000",
        "--disable-usage-stats",
        "--include-log-monitor=false",
    ]
    env = {**head.env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}
    log_path = head.temp_dir / "ray-worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout
    while _alive_nodes(head.address) < 2:
        if process.poll() is not None:
            raise RayStartError(
                f"the worker's `ray start` exited with {process.returncode}:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        if time.monotonic() > deadline:
            raise RayStartError(f"the worker node did not join within {timeout} s")
        time.sleep(0.5)
    return process


def _alive_nodes(address: str) -> int:
    try:
        nodes = httpx.get(f"{address}/nodes?view=summary", timeout=5)
    except httpx.HTTPError:
        return 0
    summary = nodes.json().get("data", {}).get("summary", []) if nodes.status_code == 200 else []
    return sum(1 for n in summary if n.get("raylet", {}).get("state") == "ALIVE")


def _ready(address: str) -> bool:
    try:
        version = httpx.get(f"{address}/api/version", timeout=2)
        jobs = httpx.get(f"{address}/api/jobs/", timeout=2)
        nodes = httpx.get(f"{address}/nodes?view=summary", timeout=2)
    except httpx.HTTPError:
        return False
    if version.status_code != 200 or jobs.status_code != 200 or nodes.status_code != 200:
        return False
    summary = nodes.json().get("data", {}).get("summary", [])
    return any(n.get("raylet", {}).get("state") == "ALIVE" for n in summary)
