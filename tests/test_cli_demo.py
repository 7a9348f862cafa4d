"""`make demo`'s script: it says why the studio moved port, and SIGTERM stops what it
started (the control script, its runs, and the studio in its own process group)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from runyard.core import Workspace
from runyard.entities import RunQuery

REPO = Path(__file__).resolve().parents[1]


def test_sigterm_stops_the_studio_and_the_control_script(tmp_path: Path) -> None:
    folder = tmp_path / "cifar10-tutorial"
    shutil.copytree(
        REPO / "examples" / "cifar10-tutorial", folder,
        ignore=shutil.ignore_patterns(".runyard", "data", "__pycache__"),
    )  # fmt: skip
    held = socket.socket()
    try:
        held.bind(("127.0.0.1", 8765))  # busy either way: ours, or whoever holds it
        held.listen()
    except OSError:
        pass
    log = tmp_path / "demo.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RUNYARD_CACHE_DIR": str(tmp_path / "cache")}
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            [sys.executable, str(folder / "demo.py")],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not (found := re.search(r"Studio: http://127\.0\.0\.1:(\d+)", log.read_text())):
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        port = int(found.group(1))
        assert port != 8765
        assert (
            f"Port 8765 is in use (another studio or program?), so the studio uses port {port}"
            in (log.read_text())
        )
        started = psutil.Process(demo.pid).children(recursive=True)
        assert started, "the demo started no process"
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(60) == 0, log.read_text()
        _gone, alive = psutil.wait_procs(started, timeout=30)
        assert not alive, [p.cmdline() for p in alive]
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "the studio still listens"
        ws = Workspace.from_config(folder)
        for info in ws.store.search_runs(RunQuery(limit=10)).runs:
            assert info.status.is_terminal() or info.cancel_requested_at is not None, info
        ws.close()
    finally:
        held.close()
        if demo.poll() is None:
            demo.kill()  # our own child, by its pid
            demo.wait(30)
