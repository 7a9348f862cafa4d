"""Sends the lines a run's logs gain on a node to the same run files on the studio.

The node's disk is the buffer: a chunk counts as sent only once the studio took it, so
a studio that is away for a while delays the logs but never loses a line. The shipping
runs on a background thread, apart from the supervising loop.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from runyard.errors import RunyardError
from runyard.store.base import Store

INTERVAL_S = 0.1
_CHUNK = 4 << 20  # per append: well under the studio's 64 MiB limit


class LogShipper:
    """Appends what is added to local files to run files on the studio."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        files: Sequence[tuple[Path, str]],
        say: Callable[[str], None],
        discover: Callable[[], Sequence[tuple[Path, str]]] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.files = list(files)
        self.offsets = {remote: 0 for _local, remote in files}
        self._discover = discover  # files that appear later (a distributed run's rank logs)
        self.error: str | None = None
        self._say = say
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-logs", daemon=True)

    def start(self) -> LogShipper:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            self.ship()

    def ship(self) -> bool:
        """Sends what is new; True when everything is sent."""
        with self._lock:
            for local, remote in self._discover() if self._discover is not None else ():
                if remote not in self.offsets:
                    self.files.append((local, remote))
                    self.offsets[remote] = 0
            try:
                for local, remote in self.files:
                    self._ship_file(local, remote)
            except (RunyardError, OSError) as exc:
                if str(exc) != self.error:
                    self._say(f"sending the logs failed (will retry): {exc}")
                self.error = str(exc)
                return False
            self.error = None
            return True

    def _ship_file(self, local: Path, remote: str) -> None:
        try:
            fd = os.open(local, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            while chunk := os.pread(fd, _CHUNK, self.offsets[remote]):
                self.store.artifacts.append_bytes(self.run_id, remote, chunk)
                self.offsets[remote] += len(chunk)
        finally:
            os.close(fd)

    def finish(self, deadline: float) -> bool:
        """Stops the thread and sends the rest, retrying until ``deadline`` (a
        ``time.monotonic()`` value); True when everything was sent."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        while not self.ship():
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
        return True
