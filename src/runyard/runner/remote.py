"""The parts of a runner on a Ray node (or any machine that reaches the studio but not
the workspace's files)::

    python -m runyard.runner RUN_ID --tracking-uri http://studio:8765 [--token T]

The same :class:`~runyard.runner.supervisor.Supervisor` as a local run (process group,
tee, timeout, cancel and outcome code), handed other parts: its store is the studio
over HTTP (:class:`HttpStore`); its files live on the node under ``<cache>/remote``,
a staging copy removed once everything is home; the claim and the snapshot come from
the studio (blobs kept for later runs); the journal and the logs are written to the
node's disk and sent home from background threads, so that a studio that is away for a
while loses nothing; and the next queued run of the Ray target is submitted as a Ray
job. The token may come as ``$RUNYARD_TOKEN`` (what a Ray job is given) instead of on
the command line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runyard.config import (
    ENV_RAY_ADDRESS,
    ENV_RAY_TARGET,
    ENV_TOKEN,
    cache_dir,
    compute_target_from_dict,
)
from runyard.entities import ComputeTargetConfig, RunStatus
from runyard.errors import RunNotFoundError, RunyardError, StoreError
from runyard.remote import HttpStore
from runyard.runner.distributed import RANK_LOG
from runyard.runner.log_shipper import LogShipper
from runyard.runner.parts import (
    RunGone,
    RunnerParts,
    ScriptContext,
    SetupFailed,
    StudioUnreachable,
)
from runyard.runner.paths import Claim, RunPaths
from runyard.runner.signals import Signals
from runyard.runner.slots import RunStarter
from runyard.runner.supervisor import Supervisor, say
from runyard.store.artifacts import DRIVER_LOG, ENVIRONMENT_BUILD_LOG
from runyard.store.runner_protocol import RunnerStore
from runyard.store.snapshots import SnapshotStore

# How long one call to the studio keeps retrying while the studio is away. The journal
# and the logs wait on the node's disk meanwhile; the script runs on regardless.
STUDIO_RETRY_S = 600.0
# The first call's patience: a studio never reached is a setup error to report soon.
FIRST_CONTACT_S = 30.0
RANK_LOGS = RANK_LOG.format(rank="*")
USAGE = "usage: python -m runyard.runner RUN_ID --tracking-uri URL [--token TOKEN]"


def node_root() -> Path:
    """Where remote runs keep their files on this machine."""
    return cache_dir() / "remote"


def target_from_environ() -> ComputeTargetConfig | None:
    """The Ray target the job was submitted for (``$RUNYARD_RAY_TARGET``), if given."""
    raw = os.environ.get(ENV_RAY_TARGET)
    if not raw:
        return None
    try:
        data: Any = json.loads(raw)
        return compute_target_from_dict(str(data.pop("name")), data, ENV_RAY_TARGET)
    except (ValueError, KeyError, TypeError, AttributeError, RunyardError) as exc:
        say(f"ignoring ${ENV_RAY_TARGET}: {exc}")
        return None


class StudioRunSource:
    """The claimed run as the studio has it, and its snapshot fetched by hash."""

    def __init__(self, studio: HttpStore, paths: RunPaths, retry_for: float) -> None:
        self.studio = studio
        self.paths = paths
        self.retry_for = retry_for

    def claim(self, store: Callable[[], RunnerStore]) -> Claim:
        studio = self.studio
        studio.retry_for = FIRST_CONTACT_S
        try:
            info = studio.get_run(self.paths.run_id)
        except RunNotFoundError:
            raise StudioUnreachable(
                f"the studio at {studio.uri} has no run {self.paths.run_id}: is it the "
                "studio of the workspace that submitted it?"
            ) from None
        except StoreError as exc:
            raise StudioUnreachable(
                f"cannot reach the Runyard studio from this node: {exc}. Start it where the "
                "nodes can reach it (runyard studio --host 0.0.0.0 --token T) and point "
                "the Ray target's server_url (or RUNYARD_STUDIO_URL) at that address"
            ) from None
        finally:
            studio.retry_for = self.retry_for
        if info.status is not RunStatus.PREPARING:
            raise RunGone(f"it is {info.status.value}; a runner only starts a claimed run")
        snapshot_id = info.definition.get("snapshot_id")
        if isinstance(snapshot_id, str):
            try:
                studio.snapshots.download(snapshot_id, SnapshotStore(self.paths.snapshots))
            except RunyardError as exc:
                raise SetupFailed(f"cannot fetch snapshot {snapshot_id}: {exc}") from None
        return Claim.of(info)


class StudioLogSink:
    """Ships the driver log and the environment build log to the studio as they grow."""

    def __init__(self, studio: HttpStore, paths: RunPaths, retry_for: float) -> None:
        files = [(paths.driver_log, DRIVER_LOG), (paths.build_log, ENVIRONMENT_BUILD_LOG)]
        self.shipper = LogShipper(studio, paths.run_id, files, say, lambda: rank_logs(paths))
        self.retry_for = retry_for
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self.shipper.start()

    def finish(self) -> bool:
        if not self._started:
            return True
        if self.shipper.finish(time.monotonic() + self.retry_for):
            return True
        say(f"logs not sent: {self.shipper.error}")
        return False


def rank_logs(paths: RunPaths) -> list[tuple[Path, str]]:
    """The rank logs of a distributed run on this node (``user_logs/...``), as they
    appear: (local file, the run's file)."""
    folder = paths.driver_log.parent.parent
    return [(f, f.relative_to(folder).as_posix()) for f in sorted(folder.glob(RANK_LOGS))]


class RayLauncher:
    """Submits the Ray target's next queued runs as Ray jobs, from the node."""

    def __init__(self, studio: HttpStore, token: str | None) -> None:
        self.studio = studio
        self.token = token

    def starter(self, target: ComputeTargetConfig) -> RunStarter | None:
        from runyard.runner import ray_jobs

        address = os.environ.get(ENV_RAY_ADDRESS)
        if not address or target.type != "ray" or not self.token:
            return None
        try:
            ray_jobs.probe(address, timeout=2.0)
        except RunyardError as exc:
            say(f"the Ray cluster does not answer from here ({exc})")
            return None
        return ray_jobs.RayJobStarter(address, self.studio.uri, self.token, target)


def remote_parts(
    run_id: str,
    tracking_uri: str,
    token: str | None,
    *,
    root: Path | None = None,
    retry_for: float = STUDIO_RETRY_S,
) -> RunnerParts:
    """The parts of a runner for ``run_id`` whose store is the studio at ``tracking_uri``."""
    root = (root or node_root()).resolve()
    studio = HttpStore(tracking_uri, token=token, retry_for=retry_for)
    paths = RunPaths(run_id, root, staging=True)
    target = target_from_environ()
    return RunnerParts(
        run_id=run_id,
        paths=paths,
        source=StudioRunSource(studio, paths, retry_for),
        open_store=lambda: studio,
        logs=StudioLogSink(studio, paths, retry_for),
        launcher=RayLauncher(studio, token),
        targets=lambda name: target if target is not None and target.name == name else None,
        script=ScriptContext(
            tracking_uri=tracking_uri,
            artifact_root=root,
            studio_url=tracking_uri,
            token=token,
        ),
    )


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
        parts = remote_parts(run_id, uri, token)
    except RunyardError as exc:
        say(f"cannot start: {exc}")
        return 2
    return Supervisor(parts, signals).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
