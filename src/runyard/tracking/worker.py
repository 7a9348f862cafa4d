"""The one thread that ingests every open run of this process (``IngestThread``s take
turns, a pass each ``INTERVAL``) and runs the jobs handed to it (a run's end, from
``tracking.finishing``) before its next pass. It starts with the process's first run.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable
from typing import Protocol

__all__ = ["INTERVAL", "Worker", "in_background"]

INTERVAL = 0.2  # how often the worker ingests each open run's journal


class Task(Protocol):
    def run_pass(self) -> None: ...


class Worker:
    """The one thread that ingests every open run of this process, a pass each
    ``INTERVAL``; it starts with the process's first run."""

    _shared: Worker | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self._tasks: dict[Task, None] = {}  # insertion order: runs take turns
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-ingest", daemon=True)
        self._thread.start()

    @classmethod
    def shared(cls) -> Worker:
        with cls._guard:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def add(self, task: Task) -> None:
        self._tasks[task] = None

    def discard(self, task: Task) -> None:
        self._tasks.pop(task, None)

    def submit(self, job: Callable[[], None]) -> None:
        """Runs ``job`` (which must not raise) on this thread, before its next pass."""
        self._jobs.append(job)
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(INTERVAL)
            self._wake.clear()
            while self._jobs:
                self._jobs.popleft()()
            for task in list(self._tasks):
                if task in self._tasks:  # not stopped meanwhile
                    task.run_pass()

    @classmethod
    def forget(cls) -> None:
        """In a forked child: no worker thread came along; its first run starts one."""
        cls._shared = None
        cls._guard = threading.Lock()


def in_background(job: Callable[[], None]) -> None:
    """Runs ``job`` (which must not raise) on the process's ingest thread, at once: no
    thread to start, so the caller returns without waiting for one."""
    Worker.shared().submit(job)


os.register_at_fork(after_in_child=Worker.forget)
