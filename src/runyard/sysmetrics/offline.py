"""System metrics for a run logged by this process (``start_logging``): a background
thread samples this process and its children into ``journal.system.bin`` beside the
run's journal, which the run's ingest thread stores with its other journals.

Off unless asked: ``experiment.start_logging(system_metrics=True)``, or
``RUNYARD_SYSTEM_METRICS=1`` in the environment (the interval from
``RUNYARD_SYSTEM_METRICS_INTERVAL``, as for a submitted run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from runyard.sysmetrics.settings import ENV_ENABLED, settings_from
from runyard.sysmetrics.thread import SystemSampler, system_journal
from runyard.sysmetrics.tree import TreeSampler


def wanted(system_metrics: bool | None) -> bool:
    """Whether an offline run samples: the argument if given, else the environment."""
    if system_metrics is not None:
        return system_metrics
    return os.environ.get(ENV_ENABLED, "").strip().lower() in {"1", "true", "yes", "on"}


def start_offline(journal: Path, system_metrics: bool | None) -> SystemSampler | None:
    """Starts sampling this process's tree into the sampler journal beside ``journal``
    (the run's main journal), if wanted; the caller stops it before the run ends. A bad
    interval raises ValidationError before anything starts."""
    settings = settings_from(os.environ)
    if not wanted(system_metrics):
        return None

    def warn(message: str) -> None:
        print(f"runyard: warning: {message}", file=sys.stderr)

    pid = os.getpid()
    return SystemSampler(
        system_journal(journal),
        lambda: {"": pid},
        settings,
        env=os.environ,
        warn=warn,
        tree=TreeSampler(skip=set()),  # this process is the run: it counts too
    ).start()
