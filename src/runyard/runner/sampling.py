"""Starts the system-metrics sampler (runyard.sysmetrics) beside a submitted run's
script: the runner samples the script's whole process tree, per rank when the run has
ranks, into ``journal.system.bin`` beside the run's journal, ingested with the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from runyard.errors import ValidationError
from runyard.sysmetrics.settings import settings_from
from runyard.sysmetrics.thread import SystemSampler, system_journal

if TYPE_CHECKING:
    from runyard.runner.paths import RunPaths


def roots_of(child: object) -> Callable[[], Mapping[str, int]] | None:
    """The root pids to sample for the runner's child: one script process, or the ranks
    of a local rank group (``rank<r>``; mpirun's ranks are its children). None for a
    child whose processes are not on this node."""
    ranks = getattr(child, "ranks", None)
    if isinstance(ranks, dict):
        local = {r: p for r, p in ranks.items() if not getattr(p, "remote", False)}
        return lambda: {(f"rank{r}" if r >= 0 else "mpirun"): p.pid for r, p in local.items()}
    pid = getattr(child, "pid", None)
    if isinstance(pid, int) and hasattr(child, "pidfd"):
        return lambda: {"": pid}
    return None


class RunSampler:
    """The runner's handle on the sampler of its run: ``stop()`` is safe whether one
    was started or not (switched off, no process on this node, or not started yet)."""

    def __init__(self, sampler: SystemSampler | None = None) -> None:
        self.sampler = sampler

    def stop(self) -> None:
        """Stops the sampler, if any; the next call does nothing."""
        sampler, self.sampler = self.sampler, None
        if sampler is not None:
            sampler.stop()


def start_sampler(
    child: object, paths: RunPaths, env: Mapping[str, str], say: Callable[[str], None]
) -> RunSampler:
    """The sampler for ``child``'s processes, started (none when switched off or no
    process of the run is on this node). Never raises: system metrics are not worth a
    run. Its warnings go to the runner's log and to the run's driver log, where the
    user reads the script's output."""
    journal = paths.journal

    def warn(message: str) -> None:
        say(f"warning: {message}")
        try:  # O_APPEND, as the script's own descriptor: whole lines, never interleaved
            with open(paths.driver_log, "a", encoding="utf-8") as log:
                log.write(f"[runyard] warning: {message}\n")
        except OSError:
            pass

    try:
        settings = settings_from(env)
    except ValidationError as exc:
        say(f"system metrics off: {exc}")
        return RunSampler()
    roots = roots_of(child)
    if not settings.enabled or roots is None:
        return RunSampler()
    try:
        plan = getattr(child, "plan", None)  # several nodes: each node's names its own
        node = plan.group_rank if plan is not None and plan.node_count > 1 else None
        sampler = SystemSampler(
            system_journal(journal, node), roots, settings, env=env, warn=warn, node=node
        )
        return RunSampler(sampler.start())
    except Exception as exc:  # a full disk for the journal, no /proc: the run goes on
        say(f"system metrics off: {type(exc).__name__}: {exc}")
        return RunSampler()
