"""``Tensorboard(runs, local_root, port).start()``: TensorBoard over runs' event files
(the SDK's ``azureml.tensorboard.Tensorboard``).

The event files the runs wrote (any run file whose name holds ``tfevents``: TensorFlow's
and PyTorch's ``SummaryWriter`` logs, uploaded from ``./logs`` or ``./outputs``) are
copied into ``local_root/<run id>/`` and kept in step while TensorBoard runs (a live run's
new events appear); TensorBoard itself is started as a process of its own on 127.0.0.1
and stopped by its process id.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from runyard.errors import ConfigError, RunyardError, ValidationError

if TYPE_CHECKING:
    from runyard.core.run import Run

_SYNC_EVERY_S = 5.0
_START_TIMEOUT_S = 60.0


class Tensorboard:
    """TensorBoard on ``local_root`` (a temporary folder when None), with the event
    files of ``runs`` copied in; ``start()`` answers its URL, ``stop()`` ends it."""

    def __init__(
        self, runs: Sequence[Run], local_root: str | Path | None = None, port: int = 6006
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValidationError(f"Tensorboard port {port!r} is not a port number (0-65535)")
        self.runs = list(runs)
        self.local_root = Path(local_root) if local_root is not None else None
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._sizes: dict[Path, int] = {}
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None

    def start(self, start_browser: bool = False) -> str:
        """Copies the runs' event files, starts TensorBoard and waits until it answers;
        returns its URL. ``start_browser`` opens it in the default browser."""
        if self._proc is not None and self._proc.poll() is None:
            return self._url()
        _require_tensorboard()
        if self.local_root is None:
            self.local_root = Path(tempfile.mkdtemp(prefix="runyard-tensorboard-"))
        self.local_root.mkdir(parents=True, exist_ok=True)
        self.sync()
        port = self.port or _free_port()
        if not _port_free(port):
            raise ConfigError(
                f"port {port} on 127.0.0.1 is in use (another TensorBoard?); pass another "
                "one, Tensorboard(runs, port=6007), or port=0 for any free port"
            )
        self.port = port
        argv = [sys.executable, "-m", "tensorboard.main", "--logdir", str(self.local_root),
                "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_until_up()
        if self.runs:
            self._stop.clear()
            self._syncer = threading.Thread(
                target=self._sync_loop, name="runyard-tensorboard-sync", daemon=True
            )
            self._syncer.start()
        if start_browser:
            import webbrowser

            webbrowser.open(self._url())
        return self._url()

    def stop(self) -> None:
        """Stops TensorBoard (its process, by id) and the copying of event files."""
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join(timeout=30)
            self._syncer = None
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def sync(self) -> int:
        """Copies the runs' event files that are new or have grown; returns how many."""
        assert self.local_root is not None
        copied = 0
        for run in self.runs:
            store = run._require_store("event files")
            for info in store.artifacts.list_files(run.id):
                if "tfevents" not in info.path.rsplit("/", 1)[-1]:
                    continue
                target = self.local_root / run.id / info.path
                if self._sizes.get(target) == info.size:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.part")
                store.artifacts.download(run.id, info.path, tmp)
                tmp.replace(target)
                self._sizes[target] = info.size
                copied += 1
        return copied

    def _sync_loop(self) -> None:
        while not self._stop.wait(_SYNC_EVERY_S):
            try:
                self.sync()
            except RunyardError:  # a store gone for a moment: the next round tries again
                continue

    def _url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _wait_until_up(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = (self._proc.stderr.read() if self._proc.stderr else b"").decode()
                self._proc = None
                raise ConfigError(f"TensorBoard exited at start: {err.strip()[-2000:]}")
            try:
                with urllib.request.urlopen(self._url(), timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise ConfigError(f"TensorBoard did not answer on {self._url()} in {_START_TIMEOUT_S} s")

    def __enter__(self) -> Tensorboard:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _require_tensorboard() -> None:
    # Started as ``python -m tensorboard.main`` with this interpreter: it must import it.
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ConfigError(
            "Tensorboard needs the tensorboard package: pip install "
            "'runyard[tensorboard]' (or pip install tensorboard)"
        ) from None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
