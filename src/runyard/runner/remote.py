"""The runner's remote mode, for a run on a Ray node (or any machine that reaches the
studio but not the workspace's files)::

    python -m runyard.runner RUN_ID --tracking-uri http://studio:8765 [--token T]

It supervises the run exactly as the local runner does (same process group, tee,
timeout, cancel and outcome code: it *is* the local :class:`Supervisor`), but its store
is the studio over HTTP (:class:`HttpStore`) and its files live on the node under
``<cache>/remote``: the snapshot is fetched from the studio by hash (blobs kept for later
runs), environments are built into the node's cache, and the journal is written to the
node's disk and sent home from a background thread, with the logs, so that a studio
that is away for a while loses nothing. The token may come as ``$RUNYARD_TOKEN``
(what a Ray job is given) instead of on the command line.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.config import ENV_TOKEN, WorkspaceConfig, cache_dir, compute_target_from_dict
from runyard.entities import ComputeTargetConfig, RunStatus
from runyard.errors import ComputeError, RunNotFoundError, RunyardError, StoreError
from runyard.runner.context import WorkspaceContext, write_claim
from runyard.runner.log_shipper import LogShipper
from runyard.runner.monitor import RunGone
from runyard.runner.supervisor import Signals, Supervisor, _say, _SetupFailed
from runyard.store.artifacts import DRIVER_LOG, ENVIRONMENT_BUILD_LOG
from runyard.store.http import HttpStore
from runyard.store.snapshots import SnapshotStore
from runyard.store.workspace_files import write_config

if TYPE_CHECKING:
    from runyard.runner.outcome import Outcome

# How long one call to the studio keeps retrying while the studio is away. The journal
# and the logs wait on the node's disk meanwhile; the script runs on regardless.
STUDIO_RETRY_S = 600.0
# The first call's patience: a studio never reached is a setup error to report soon.
FIRST_CONTACT_S = 30.0
USAGE = "usage: python -m runyard.runner RUN_ID --tracking-uri URL [--token TOKEN]"


def node_root() -> Path:
    """Where remote runs keep their files on this machine."""
    return cache_dir() / "remote"


def _target_from_env() -> ComputeTargetConfig | None:
    from runyard.runner.ray_jobs import ENV_RAY_TARGET

    raw = os.environ.get(ENV_RAY_TARGET)
    if not raw:
        return None
    try:
        data: Any = json.loads(raw)
        return compute_target_from_dict(str(data.pop("name")), data, ENV_RAY_TARGET)
    except (ValueError, KeyError, TypeError, AttributeError, RunyardError) as exc:
        _say(f"ignoring ${ENV_RAY_TARGET}: {exc}")
        return None


class RemoteSupervisor(Supervisor):
    """A :class:`Supervisor` whose store is the studio and whose files are the node's."""

    def __init__(
        self,
        run_id: str,
        tracking_uri: str,
        token: str | None,
        signals: Signals | None = None,
        *,
        root: Path | None = None,
        retry_for: float = STUDIO_RETRY_S,
    ) -> None:
        root = (root or node_root()).resolve()
        target = _target_from_env()
        config = WorkspaceConfig(
            name="remote",
            tracking_uri=tracking_uri,
            artifact_root=str(root),
            compute_targets={target.name: target} if target else {},
            studio_url=tracking_uri,
        )
        config_path = root / "runs" / run_id / ".runyard" / "config.json"
        super().__init__(run_id, WorkspaceContext(config_path, config, tracking_uri, root), signals)
        self.token = token
        self.retry_for = retry_for
        self.store = HttpStore(tracking_uri, token=token, retry_for=retry_for)
        self._logs: LogShipper | None = None
        self._reached = False

    def _http(self) -> HttpStore:
        store = self.store
        assert isinstance(store, HttpStore)
        return store

    def run(self) -> int:
        code = super().run()
        return code if self._reached else 3  # the job fails, with the reason in its log

    def _start(self) -> None:
        store = self._http()
        store.retry_for = FIRST_CONTACT_S
        try:
            info = store.get_run(self.run_id)
        except RunNotFoundError:
            raise RunGone(
                f"the studio at {store.uri} has no run {self.run_id}: is it the studio of "
                "the workspace that submitted it?"
            ) from None
        except StoreError as exc:
            raise RunGone(
                f"cannot reach the Runyard studio from this node: {exc}. Start it where the "
                "nodes can reach it (runyard studio --host 0.0.0.0 --token T) and point "
                "the Ray target's server_url (or RUNYARD_STUDIO_URL) at that address"
            ) from None
        finally:
            store.retry_for = self.retry_for
        self._reached = True
        if info.status is not RunStatus.PREPARING:
            raise RunGone(f"it is {info.status.value}; a runner only starts a claimed run")
        definition = dict(info.definition)
        snapshot_id = definition.get("snapshot_id")
        if isinstance(snapshot_id, str):
            try:
                store.snapshots.download(snapshot_id, SnapshotStore(self.paths.snapshots))
            except RunyardError as exc:
                raise _SetupFailed(f"cannot fetch snapshot {snapshot_id}: {exc}") from None
        if self.token:
            # The script reads the run's details from the studio, and needs the token
            # for that when the studio is not on loopback.
            variables = dict(definition.get("environment_variables") or {})
            variables.setdefault(ENV_TOKEN, self.token)
            definition["environment_variables"] = variables
        write_claim(self.paths, definition, info.compute_target)
        write_config(self.ws.config_path, self.ws.config)
        files = [(self.paths.driver_log, DRIVER_LOG), (self.paths.build_log, ENVIRONMENT_BUILD_LOG)]
        self._logs = LogShipper(store, self.run_id, files, _say).start()
        super()._start()

    def _send_logs(self) -> bool:
        if self._logs is None:
            return True
        if self._logs.finish(time.monotonic() + self.retry_for):
            return True
        _say(f"logs not sent: {self._logs.error}; they stay under {self.paths.run_dir}")
        return False

    def _finish(self, outcome: Outcome) -> None:
        self._send_logs()  # whoever sees the final status must see the whole log
        super()._finish(outcome)

    def _fail(self, reason: str) -> None:
        self._send_logs()
        super()._fail(reason)

    def _next_and_clean(self) -> None:
        """Starts the target's next queued run in the slot this one freed, then cleans up;
        the run's folder on the node goes too once everything is home."""
        if not self._reached:
            super()._next_and_clean()
            return
        self._start_next()
        sent = self._send_logs()
        drained = self._drain_rest()
        super()._next_and_clean()
        if sent and drained:
            shutil.rmtree(self.paths.run_dir, ignore_errors=True)

    def _drain_rest(self) -> bool:
        """Ingests whatever of the journal the studio lacks (nothing, unless the final
        drain failed); False if some is still only here."""
        if not self.paths.journal.exists():
            return True
        from runyard.tracking.ingest import JournalIngester

        try:
            JournalIngester(self._http(), self.run_id, self.paths.journal).drain()
        except (RunyardError, OSError) as exc:
            _say(f"metrics not all sent ({exc}); the journal stays at {self.paths.journal}")
            return False
        return True

    def _start_next(self) -> None:
        from runyard.runner import ray_jobs

        address = os.environ.get(ray_jobs.ENV_RAY_ADDRESS)
        target = self.ws.target(self.target_name)
        if not address or target is None or target.type != "ray" or not self.token:
            return
        store = self._http()
        try:
            ray_jobs.probe(address, timeout=2.0)
            while (
                run := store.claim_next_queued(target.name, target.max_concurrent_runs)
            ) is not None:
                try:
                    job_id = ray_jobs.submit(
                        address,
                        run.run_id,
                        tracking_uri=store.uri,
                        token=self.token,
                        target=target,
                        grace_s=self._grace(),
                    )
                except ComputeError as exc:
                    store.set_status(
                        run.run_id,
                        RunStatus.FAILED,
                        error=f"could not submit the Ray job: {exc}",
                        expected=[RunStatus.PREPARING],
                    )
                    raise
                store.heartbeat(run.run_id, owner=f"ray-job:{job_id}")
                _say(f"started the next queued run {run.run_id} as Ray job {job_id}")
        except RunyardError as exc:
            _say(f"could not start the next queued run from here ({exc}); the next submit will")


def parse_args(argv: list[str]) -> tuple[str, str, str | None]:
    """``RUN_ID --tracking-uri URL [--token T]``."""
    run_id: str | None = None
    values: dict[str, str | None] = {"--tracking-uri": None, "--token": None}
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if arg in ("-h", "--help"):
            print(f"{USAGE}\n\nSupervises one run whose store is a Runyard studio.")
            raise SystemExit(0)
        if name in values:
            values[name] = value if eq else next(args, None)
        elif run_id is None and not arg.startswith("-"):
            run_id = arg
        else:
            print(f"{USAGE}\nunexpected argument {arg!r}", file=sys.stderr)
            raise SystemExit(2)
    uri = values["--tracking-uri"]
    if not run_id or not uri:
        print(f"{USAGE}\nboth RUN_ID and --tracking-uri are required", file=sys.stderr)
        raise SystemExit(2)
    return run_id, uri, values["--token"] or os.environ.get(ENV_TOKEN)


def main(argv: list[str]) -> int:
    run_id, uri, token = parse_args(argv)
    signals = Signals()  # first: a cancel that comes while the runner starts must not kill it
    try:
        supervisor = RemoteSupervisor(run_id, uri, token, signals)
    except RunyardError as exc:
        _say(f"cannot start: {exc}")
        return 2
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
