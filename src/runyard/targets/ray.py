"""The Ray compute target: each run is a Ray job whose entrypoint is a Runyard runner.

The runner on the node talks to the Runyard studio (``runyard studio --token T``) over
HTTP: it fetches the snapshot by hash, writes the run's status, metrics and logs. So a
Ray target needs, at submit time, the studio's URL as the *nodes* can reach it and its
token, from the target's options (``server_url``, ``token``) or the environment
(``RUNYARD_STUDIO_URL``, ``RUNYARD_TOKEN``); the URL falls back to the workspace's
``studio_url`` (which ``runyard studio`` records). See docs/ray.md.

Ray job states map to runs like this: PENDING → the run stays Preparing (claimed, its
runner not started; kept alive against the reaper); RUNNING → the runner on the node
drives the run's status; SUCCEEDED → the runner recorded the end itself. A job that
ended (FAILED, STOPPED, or SUCCEEDED without a final status, or is unknown to the
cluster) while its run is still active had a runner that never started or died:
:func:`reconcile` marks such a run Failed with Ray's message and the end of the job's
log (Canceled, if a cancel had been asked for).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard.config import ENV_STUDIO_URL, ENV_TOKEN, HEARTBEAT_TIMEOUT_S
from runyard.entities import ACTIVE_STATUSES, ComputeTargetConfig, RunInfo, RunQuery, RunStatus
from runyard.errors import AuthError, ComputeError, ConflictError, NotFoundError, RunyardError
from runyard.runner import ray_jobs
from runyard.runner.slots import fill_slots
from runyard.store.base import Store
from runyard.store.snapshots import SnapshotStore
from runyard.workspace.paths import ResolvedWorkspace

__all__ = ["RayDispatcher", "StudioAccess", "reconcile", "studio_access"]

log = logging.getLogger(__name__)

_WATCH_FAST_S = 0.25  # while a run waits for its runner
_WATCH_SLOW_S = 2.0  # while the runner drives it
_PENDING_BEAT_S = 5.0  # well inside the reaper's HEARTBEAT_TIMEOUT_S


@dataclass(frozen=True)
class StudioAccess:
    """Where the runners on the nodes reach the Runyard studio, and its token."""

    url: str
    token: str


def studio_access(config_path: Path, target: ComputeTargetConfig) -> StudioAccess:
    """The studio URL and token for ``target``'s runners: the target's options
    ``server_url`` / ``token`` first, then ``$RUNYARD_STUDIO_URL`` / ``$RUNYARD_TOKEN``,
    and for the URL the workspace's ``studio_url``."""
    options = target.options
    url = _text(options.get("server_url")) or os.environ.get(ENV_STUDIO_URL)
    if not url:
        url = ResolvedWorkspace.load(Path(config_path)).config.studio_url
    token = _text(options.get("token")) or os.environ.get(ENV_TOKEN)
    if not token:
        raise ComputeError(
            f"Ray target {target.name!r} needs the studio's access token: its runners "
            "report to the studio over HTTP. Start `runyard studio --token T` in this "
            f"workspace (add --host 0.0.0.0 when the nodes are other machines) and set "
            f"{ENV_TOKEN}=T (and {ENV_STUDIO_URL}=http://THIS-HOST:8765 if the nodes "
            "cannot use the workspace's studio_url), or put server_url and token in the "
            "target's options"
        )
    return StudioAccess(url=url.rstrip("/"), token=token)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class RayDispatcher:
    """Starts queued runs of a Ray target as Ray jobs."""

    def check_submission(
        self,
        config_path: Path,
        target: ComputeTargetConfig,
        definition: Mapping[str, Any],
        experiment_id: str,
    ) -> None:
        """Everything a run of ``target`` needs, checked before the run is created, so
        that a wrong address or a missing studio is an error now and never a stuck run:
        Ray installed, the cluster answering, the studio answering with this workspace
        and accepting the token. Then uploads the run's snapshot to the studio unless it
        has it (it has when it shares this workspace's artifact root)."""
        from runyard.remote import HttpStore

        ray_jobs.client(_address(target))
        access = studio_access(config_path, target)
        studio = HttpStore(access.url, token=access.token, retry_for=2.0)
        try:
            try:
                studio.check_token()
                studio.get_experiment(experiment_id)
            except AuthError:
                raise ComputeError(
                    f"the Runyard studio at {access.url} refused the token given for Ray "
                    f"target {target.name!r}; use the token the studio was started with"
                ) from None
            except NotFoundError:
                raise ComputeError(
                    f"the Runyard studio at {access.url} serves another workspace (it has "
                    f"no experiment {experiment_id}); start `runyard studio` in this one"
                ) from None
            except RunyardError as exc:
                raise ComputeError(
                    f"no Runyard studio answers at {access.url} ({exc}); the runners of Ray "
                    f"target {target.name!r} report to it: start `runyard studio --token T` "
                    "in this workspace (with --host 0.0.0.0 for nodes on other machines), "
                    "or point the target's options.server_url at it"
                ) from None
            snapshot_id = definition.get("snapshot_id")
            if isinstance(snapshot_id, str):
                snapshots = ResolvedWorkspace.load(Path(config_path)).snapshots
                studio.snapshots.upload(SnapshotStore(snapshots), snapshot_id)
        finally:
            studio.close()

    def dispatch(self, store: Store, config_path: Path, target: ComputeTargetConfig) -> list[str]:
        """Finishes runs whose Ray job is gone, then claims queued runs into the target's
        free slots and submits a Ray job for each; returns their ids. A run whose job
        cannot be submitted is marked Failed and the error raised as ComputeError."""
        address = _address(target)
        access = studio_access(config_path, target)
        reconcile(store, target)
        starter = ray_jobs.RayJobStarter(address, access.url, access.token, target)
        started = fill_slots(store, target, starter)
        if started:
            # A runner that dies cannot start the queued run behind it: the watcher does.
            watch(store, target, started, refill=lambda: self.dispatch(store, config_path, target))
        return started


def _address(target: ComputeTargetConfig) -> str:
    if not target.address:
        raise ComputeError(
            f"Ray target {target.name!r} has no address; set it to the cluster's job "
            "submission address, e.g. http://HEAD:8265"
        )
    return ray_jobs.normalise_address(target.address)


def reconcile(store: Store, target: ComputeTargetConfig) -> list[str]:
    """Looks at the Ray job of every active run of ``target``: asks Ray to stop those
    with a cancel request, and finishes runs whose job ended without their runner
    recording the end. Returns the ids of the runs it finished."""
    page = store.search_runs(
        RunQuery(statuses=ACTIVE_STATUSES, compute_target=target.name, limit=10_000)
    )
    finished: list[str] = []
    for run in page.runs:
        try:
            if check_run(store, target, run):
                finished.append(run.run_id)
        except ComputeError as exc:  # one unreadable job must not hide the others
            log.warning("run %s: cannot check its Ray job: %s", run.run_id, exc)
    return finished


def check_run(
    store: Store, target: ComputeTargetConfig, run: RunInfo, stopped: set[str] | None = None
) -> bool:
    """One run's part of :func:`reconcile`; True if it finished the run. While the job
    waits for a node, the run's heartbeat is kept fresh for the reaper."""
    address = _address(target)
    job_id = ray_jobs.submission_id(run.run_id)
    job = ray_jobs.state(address, job_id)
    canceled = run.cancel_requested_at is not None
    if not job.terminal:
        stale = time.time() - (run.heartbeat_at or 0.0) > _PENDING_BEAT_S
        if job.status == "PENDING" and run.status is RunStatus.PREPARING and stale:
            store.heartbeat(run.run_id)
        if canceled and (stopped is None or run.run_id not in stopped):
            # The runner also sees the request at its next heartbeat; Ray's SIGTERM is
            # for a runner that cannot (the studio unreachable from the node, say).
            ray_jobs.stop(address, job_id)
            if stopped is not None:
                stopped.add(run.run_id)
        return False
    if job.status == "MISSING" and not _missing_long_enough(store, run):
        return False
    # The runner records the end before it exits, so an active run read *after* its
    # job ended means the runner never started or died.
    current = store.get_run(run.run_id)
    if current.status.is_terminal() or current.status is RunStatus.QUEUED:
        return False
    reason = f"the Ray job {job_id} ended {job.status} before its runner recorded the end"
    if job.message:
        reason += f": {job.message}"
    tail = ray_jobs.log_tail(address, job_id)
    if tail:
        reason += f"\n--- the end of the job's log ---\n{tail}"
    status = RunStatus.CANCELED if current.cancel_requested_at is not None else RunStatus.FAILED
    return _finish(store, current, status, reason)


def _missing_long_enough(store: Store, run: RunInfo) -> bool:
    """A job Ray does not know is a dead one only once the run has gone without a
    heartbeat for the reaper's timeout: another process may have just claimed the run
    and not yet submitted its job (the clock starts at first sight, as the reaper's)."""
    if run.heartbeat_at is None:
        store.heartbeat(run.run_id)
        return False
    return time.time() - run.heartbeat_at > HEARTBEAT_TIMEOUT_S


def _refill(refill: Callable[[], object], run_id: str) -> None:
    try:
        refill()
    except Exception as exc:  # the queued runs wait for the next dispatch then
        log.warning("could not start the queued runs after run %s's job died: %s", run_id, exc)


def _finish(store: Store, run: RunInfo, status: RunStatus, reason: str) -> bool:
    try:
        store.set_status(run.run_id, status, error=reason, expected=[run.status])
    except ConflictError:
        return False  # its runner (or a reaper) got there first
    log.warning("run %s: %s", run.run_id, reason.splitlines()[0])
    return True


def watch(
    store: Store,
    target: ComputeTargetConfig,
    run_ids: Iterable[str],
    refill: Callable[[], object] | None = None,
) -> threading.Thread:
    """Watches the runs' Ray jobs from a daemon thread of this process until the runs
    end, so that a job that dies (a bad interpreter path on the node, a lost node) ends
    its run at once for whoever waits on it, and a cancel reaches Ray; ``refill`` then
    starts the queued runs its slot frees (a live runner does that itself when it ends).
    A process that exits early leaves this to the next :func:`reconcile` or the reaper."""
    thread = threading.Thread(
        target=_watch_loop,
        args=(store, target, list(run_ids), refill),
        name=f"runyard-ray-watch-{target.name}",
        daemon=True,
    )
    thread.start()
    return thread


def _watch_loop(
    store: Store,
    target: ComputeTargetConfig,
    run_ids: list[str],
    refill: Callable[[], object] | None,
) -> None:
    pending = set(run_ids)
    stopped: set[str] = set()
    failures = 0
    while pending and failures < 30:
        fast = False
        for run_id in sorted(pending):
            try:
                run = store.get_run(run_id)
                if run.status.is_terminal():
                    pending.discard(run_id)
                elif check_run(store, target, run, stopped):
                    pending.discard(run_id)
                    if refill is not None:
                        _refill(refill, run_id)
                fast = fast or run.status is RunStatus.PREPARING
                failures = 0
            except NotFoundError:
                pending.discard(run_id)
            except Exception as exc:  # a closed store, a cluster gone: retry, then stop
                failures += 1
                log.debug("watching run %s: %s", run_id, exc)
        time.sleep(_WATCH_FAST_S if fast else _WATCH_SLOW_S)
    with contextlib.suppress(Exception):
        log.debug("stopped watching %s", ", ".join(sorted(pending)) or "(all ended)")
