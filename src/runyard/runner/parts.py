"""What a :class:`~runyard.runner.supervisor.Supervisor` is handed.

Local and remote (Ray node) runs differ only in these parts: where the claimed run's
definition comes from, where its files are, which store it talks to, where its logs
go besides the run's files, and what starts the next queued run of its target.
:mod:`runyard.runner.local` and :mod:`runyard.runner.remote` put them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runyard.entities import ComputeTargetConfig
from runyard.runner.paths import Claim, RunPaths
from runyard.runner.slots import RunStarter
from runyard.store.runner_protocol import RunnerStore


class RunGone(Exception):
    """The run was finished (or deleted) by someone else, or is not this runner's to
    drive: stop without writing to it."""


class StudioUnreachable(RunGone):
    """The store (a studio) never answered: nothing can be recorded; the runner's own
    exit status and log are all that is left to say why."""


class SetupFailed(Exception):
    """The run cannot start (no script, no snapshot, no environment)."""


class RunSource(Protocol):
    """Where a runner learns what its claimed run is, and gets the run's snapshot."""

    def claim(self, store: Callable[[], RunnerStore]) -> Claim:
        """The claimed run. ``store`` opens the store, for a source that needs it.
        Raises RunGone (not a claimed run), StudioUnreachable, SetupFailed."""
        ...


class LogSink(Protocol):
    """Where the run's logs go besides the run's folder on this machine."""

    def start(self) -> None: ...

    def finish(self) -> bool:
        """Sends what is left; True when every line is where the run's readers look
        (before the final status is written, so that whoever sees it sees the log)."""
        ...


class Launcher(Protocol):
    """What starts runners for queued runs of a target from where this runner is."""

    def starter(self, target: ComputeTargetConfig) -> RunStarter | None:
        """The starter for ``target``, or None when this process cannot start its runs
        (the next submission or the reaper will)."""
        ...


@dataclass(frozen=True)
class ScriptContext:
    """What the script is told (through its environment) about where its run lives."""

    tracking_uri: str
    artifact_root: Path
    studio_url: str | None
    # The workspace's config file; None on a machine that has no workspace folder.
    workspace_config: Path | None = None
    token: str | None = None


@dataclass(frozen=True)
class RunnerParts:
    """Everything a supervisor needs of the place it runs in."""

    run_id: str
    paths: RunPaths
    source: RunSource
    open_store: Callable[[], RunnerStore]
    logs: LogSink
    launcher: Launcher
    targets: Callable[[str], ComputeTargetConfig | None]
    script: ScriptContext


class NoLogSink:
    """The run's folder is where its readers look already (a local run)."""

    def start(self) -> None:
        """Nothing to start."""

    def finish(self) -> bool:
        return True
