"""The background sampler: every interval, one point per figure under ``system/...``
in a journal of its own, ingested with the run's other journals.

Names (docs/system-metrics.md): ``system/cpu_percent``, ``system/memory_rss_mb``,
``system/disk_read_mb``, ``system/disk_write_mb``, ``system/network_sent_mb``,
``system/network_received_mb``; per rank ``system/rank<r>/cpu_percent`` and
``system/rank<r>/memory_rss_mb``; per GPU ``system/gpu<i>/utilization_percent``,
``.../memory_used_mb``, ``.../memory_total_mb``, ``.../power_w``, ``.../temperature_c``.
On a run of several nodes every name has the node after ``system/``
(``system/node1/cpu_percent``). The step is the sample's number; the time is the
point's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from runyard.sysmetrics.gpu import GpuSampler
from runyard.sysmetrics.settings import SamplerSettings
from runyard.sysmetrics.tree import TreeSampler
from runyard.tracking.journal import JournalWriter

PREFIX = "system/"


def system_journal(main: Path, node: int | None = None) -> Path:
    """The sampler's journal beside the run's main journal ``journal.bin``: picked up by
    ingest like a worker's, and never named ``journal.rank*`` (those are re-keyed by
    rank at ingest)."""
    tail = "system" if node is None else f"system-node{node}"
    return main.with_name(f"{main.stem}.{tail}{main.suffix}")


def metric_names(figures: Mapping[str, float], node: int | None) -> dict[str, float]:
    """The points of one sample under their stored names."""
    base = PREFIX if node is None else f"{PREFIX}node{node}/"
    return {f"{base}{name}": value for name, value in figures.items()}


class SystemSampler:
    """Samples the trees of ``roots()`` (label -> pid; a label ``"rank<r>"`` per rank, or
    ``""`` for a run without ranks) and the GPUs ``env`` gives them, into ``journal``.
    ``start()`` begins; ``stop()`` ends it and closes the journal."""

    def __init__(
        self,
        journal: Path,
        roots: Callable[[], Mapping[str, int]],
        settings: SamplerSettings,
        *,
        env: Mapping[str, str],
        warn: Callable[[str], None],
        node: int | None = None,
        tree: TreeSampler | None = None,
    ) -> None:
        self.journal, self.settings, self.node = journal, settings, node
        self._roots, self._env, self._warn = roots, env, warn
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer: JournalWriter | None = None
        self._tree = tree or TreeSampler()  # by default the sampling process is left out
        self._gpu: GpuSampler | None = None
        self.samples = 0
        self.error: str | None = None

    def start(self) -> SystemSampler:
        """Starts the sampling thread (a baseline sample is taken at once)."""
        self._writer = JournalWriter(self.journal)
        self._gpu = GpuSampler.open(self._env, self._warn)
        self._tree.sample(self._roots())  # CPU times and counters to count from
        self._thread = threading.Thread(target=self._loop, name="runyard-sysmetrics", daemon=True)
        self._thread.start()
        return self

    def sample_once(self) -> dict[str, float]:
        """Takes one sample and writes it; returns the points written."""
        assert self._writer is not None
        per, total = self._tree.sample(self._roots())
        figures: dict[str, float] = dict(total)
        ranks = {label: f for label, f in per.items() if label}
        if len(ranks) > 1 or (ranks and len(per) == len(ranks)):
            for label, f in ranks.items():
                figures[f"{label}/cpu_percent"] = f.cpu_percent
                figures[f"{label}/memory_rss_mb"] = f.memory_rss_mb
        if self._gpu is not None:
            figures.update(self._gpu.sample())
        points = metric_names(figures, self.node)
        for name, value in points.items():
            self._writer.log(name, round(value, 3), step=self.samples)
        self.samples += 1
        return points

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.interval_s):
            try:
                self.sample_once()
            except Exception as exc:  # a full disk, a vanished /proc: report once, stop
                self.error = f"{type(exc).__name__}: {exc}"
                self._warn(f"system metrics stopped: {self.error}")
                return

    def stop(self) -> None:
        """Stops sampling and closes the journal (flushed for the final ingest)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._gpu is not None:
            self._gpu.close()
        if self._writer is not None and not self._writer.closed:
            self._writer.close()
