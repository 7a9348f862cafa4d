"""CPU, memory and disk I/O of process trees (a run's script and everything it
started: DataLoader workers, forked children, ranks), and the node's network I/O.

CPU % comes from each process's CPU time between two samples (100 = one core busy);
a process started since the last sample counts from its start. Disk bytes are
cumulative per process (``/proc/<pid>/io``), kept after a process exits so a finished
worker's reads still count. Network I/O has no per-process counter, so it is the
node's, counted from the sampler's start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import psutil

_MB = 1024 * 1024


@dataclass
class TreeFigures:
    """One sample of one process tree."""

    cpu_percent: float = 0.0
    memory_rss_mb: float = 0.0
    processes: int = 0


@dataclass
class _Seen:
    proc: psutil.Process
    cpu_s: float
    read: int = 0
    written: int = 0


def _cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


@dataclass
class TreeSampler:
    """Samples the trees under some root pids, one label each (a rank, or ``""`` for
    the whole run). Keeps per-process state between samples; not thread-safe."""

    skip: set[int] = field(default_factory=lambda: {os.getpid()})
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _gone_read: int = 0
    _gone_written: int = 0
    _last: float = field(default_factory=time.monotonic)
    _net0: tuple[int, int] | None = None

    def sample(self, roots: Mapping[str, int]) -> tuple[dict[str, TreeFigures], dict[str, float]]:
        """Figures per label, and the figures of all trees together (CPU, RSS, disk,
        network) under their metric names without the ``system/`` prefix."""
        now = time.monotonic()
        wall = max(now - self._last, 1e-6)
        since = time.time() - wall  # processes created after this are new
        per: dict[str, TreeFigures] = {}
        alive: set[int] = set()
        for label, pid in roots.items():
            figures = per.setdefault(label, TreeFigures())
            for proc in self._tree(pid):
                if proc.pid in alive or proc.pid in self.skip:
                    continue
                try:
                    busy = self._cpu_delta(proc, since)
                    rss = proc.memory_info().rss
                    self._io(proc)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                alive.add(proc.pid)
                figures.cpu_percent += 100.0 * busy / wall
                figures.memory_rss_mb += rss / _MB
                figures.processes += 1
        for pid in set(self._seen) - alive:  # exited: keep what it read and wrote
            gone = self._seen.pop(pid)
            self._gone_read += gone.read
            self._gone_written += gone.written
        self._last = now
        read = self._gone_read + sum(s.read for s in self._seen.values())
        written = self._gone_written + sum(s.written for s in self._seen.values())
        total = {
            "cpu_percent": sum(f.cpu_percent for f in per.values()),
            "memory_rss_mb": sum(f.memory_rss_mb for f in per.values()),
            "disk_read_mb": read / _MB,
            "disk_write_mb": written / _MB,
        }
        total.update(self._network())
        return per, total

    def _tree(self, pid: int) -> list[psutil.Process]:
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return []

    def _cpu_delta(self, proc: psutil.Process, since: float) -> float:
        seen = self._seen.get(proc.pid)
        if seen is not None and seen.proc.is_running():  # is_running: the pid not reused
            cpu = _cpu_s(seen.proc)
            busy, seen.cpu_s = max(0.0, cpu - seen.cpu_s), cpu
            return busy
        cpu = _cpu_s(proc)
        self._seen[proc.pid] = _Seen(proc, cpu)
        # New since the last sample: all its CPU time is in this interval. Seen at the
        # first sample: only a baseline.
        return cpu if self._net0 is not None and proc.create_time() >= since else 0.0

    def _io(self, proc: psutil.Process) -> None:
        seen = self._seen[proc.pid]
        try:
            io = seen.proc.io_counters()  # type: ignore[attr-defined,unused-ignore]
        except (AttributeError, psutil.AccessDenied):  # not on every platform
            return
        seen.read, seen.written = int(io.read_bytes), int(io.write_bytes)

    def _network(self) -> dict[str, float]:
        net = psutil.net_io_counters()
        counts = (int(net.bytes_sent), int(net.bytes_recv)) if net is not None else (0, 0)
        if self._net0 is None:
            self._net0 = counts
        return {
            "network_sent_mb": max(0, counts[0] - self._net0[0]) / _MB,
            "network_received_mb": max(0, counts[1] - self._net0[1]) / _MB,
        }
