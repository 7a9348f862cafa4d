"""A distributed run over several Ray nodes: rank group 0 on the runner's node, one
:class:`NodeAgent` actor per other node for the others.

The runner (a Ray job's entrypoint) reserves one placement-group bundle per node
(``STRICT_SPREAD``: each on its own node; as torchx's Ray scheduler does), starts an
agent in each bundle not on its own node, and waits while every agent prepares the run
there as the runner did here: the snapshot from the studio, the environment built on
that node, dataset inputs made local. Then the agents start their ranks with
torchrun's variables and a c10d rendezvous at the runner's node (``MASTER_ADDR``, a
free ``MASTER_PORT`` there), and the runner starts rank group 0.

To the runner's :class:`~runyard.runner.distributed.RankGroup` each remote rank is a
:class:`RemoteRank`, with the calls of a local rank's process: so one failing rank
stops the others, on every node, as on one machine, and the first to fail is the
run's error. Each agent ingests its ranks' journals (and its node's system metrics,
``system/node<k>/...``) into the studio itself, fenced by the run's epoch; their log
lines are pulled to the runner every :data:`LOG_PULL_S` into the usual
``user_logs/std_log_process_<rank>.txt``, merged into the driver log and sent home
with the others. Ray is imported only here, and only for such runs.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from runyard.errors import RunyardError
from runyard.runner.distributed import RANK_LOG, RankGroup, RankPlan, free_port
from runyard.runner.parts import ScriptContext, SetupFailed

LOG_PULL_S = 0.5
INGEST_S = 0.5
PLACEMENT_TIMEOUT_S = 120.0  # a cluster without the nodes: a clear error, not a hang
_READ_CAP = 1 << 20  # bytes of one rank's log per pull


class NodeAgent:
    """Runs on node ``group_rank`` of a run (as a Ray actor): prepares the run, starts
    that node's ranks, ingests their journals into the studio, serves their logs."""

    def __init__(
        self,
        run_id: str,
        script: ScriptContext,
        definition: Mapping[str, Any],
        group_rank: int,
        epoch: int | None,
    ) -> None:
        from runyard.remote import HttpStore
        from runyard.runner.paths import RunPaths
        from runyard.runner.remote import STUDIO_RETRY_S, node_root

        assert script.tracking_uri is not None
        self.run_id, self.definition, self.group_rank, self.epoch = (
            run_id, definition, group_rank, epoch,
        )  # fmt: skip
        self.studio = HttpStore(script.tracking_uri, token=script.token, retry_for=STUDIO_RETRY_S)
        # Its own folder: on one machine (or a shared cache) the runner's is beside it.
        self.root = node_root() / f"{run_id}.node{group_rank}"
        self.paths = RunPaths(run_id, self.root, staging=True)
        self.script = ScriptContext(
            tracking_uri=script.tracking_uri, artifact_root=self.root,
            studio_url=script.studio_url, token=script.token,
        )  # fmt: skip
        self.command: tuple[list[str], dict[str, str]] | None = None
        self.group: RankGroup | None = None
        self._sampler: Any = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def prepare(self) -> str:
        """Fetches the snapshot, builds the environment, makes the inputs local;
        returns this node's address. Raises SetupFailed saying what went wrong."""
        from runyard.runner import workdir
        from runyard.store.snapshots import SnapshotStore

        snapshot_id = self.definition.get("snapshot_id")
        try:
            if isinstance(snapshot_id, str):
                self.studio.snapshots.download(snapshot_id, SnapshotStore(self.paths.snapshots))
            launch = workdir.prepare(self.paths, self.script, self.definition)
            self.command = workdir.command(
                launch, self.definition, self.paths.work_dir, self._manifest, self.run_id
            )
        except RunyardError as exc:
            raise SetupFailed(f"node {self.group_rank}: {exc}") from None
        return _node_address()

    def _manifest(self, dataset_id: str) -> Mapping[str, Any]:
        return self.studio.get_dataset_by_id(dataset_id).manifest

    def start(self, plan: Mapping[str, Any]) -> list[int]:
        """Starts this node's ranks of ``plan`` (a RankPlan's fields); returns them."""
        from runyard.runner import sampling

        assert self.command is not None, "prepare() first"
        argv, env = self.command
        logs_dir = self.paths.driver_log.parent.parent
        self.group = RankGroup(
            argv, cwd=self.paths.work_dir, env=env, plan=RankPlan(**plan),
            journal=self.paths.journal, logs_dir=logs_dir, driver_log=self.paths.driver_log,
        )  # fmt: skip
        self._sampler = sampling.start_sampler(
            self.group, self.paths, env, lambda m: print(m, flush=True)
        )
        for loop in (self._supervise, self._ingest):
            thread = threading.Thread(target=loop, name=f"runyard-{loop.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return list(self.group.plan.ranks)

    def _supervise(self) -> None:
        """One rank failing stops this node's others (RankGroup.returncode does); a
        stop's grace period ends in SIGKILL."""
        assert self.group is not None
        while self.group.returncode is None:
            self.group.enforce_grace()
            time.sleep(0.1)

    def _ingest(self) -> None:
        from runyard.tracking.ingest import RunJournalsIngester

        ingester = RunJournalsIngester(self.studio, self.run_id, self.paths.journal, self.epoch)
        while not self._stopping.wait(INGEST_S):
            with contextlib.suppress(RunyardError, OSError):  # the final drain reports
                ingester.ingest_once()
        ingester.drain()

    def wait_rank(self, rank: int, timeout: float) -> int | None:
        """The rank's exit code once it ended; None while it runs after ``timeout`` s."""
        assert self.group is not None
        return self.group.ranks[rank].wait(timeout)

    def terminate(self, rank: int, grace: float) -> None:
        assert self.group is not None
        self.group.ranks[rank].terminate(grace)

    def signal_group(self, rank: int, sig: int) -> bool:
        assert self.group is not None
        return self.group.ranks[rank].signal_group(sig)

    def read_logs(self, offsets: Mapping[int, int]) -> dict[int, bytes]:
        """What each rank's log holds past ``offsets`` (up to 1 MiB a rank)."""
        out: dict[int, bytes] = {}
        logs_dir = self.paths.driver_log.parent.parent
        for rank, offset in offsets.items():
            path = logs_dir / RANK_LOG.format(rank=rank)
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
                f.seek(offset)
                out[rank] = f.read(_READ_CAP)
        return out

    def finish(self) -> None:
        """After the ranks ended: the system metrics and journals stored, files gone."""
        if self._sampler is not None:
            self._sampler.stop()
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        if self.group is not None:
            self.group.close()
        shutil.rmtree(self.root, ignore_errors=True)


class _Placement:
    """The run's placement group, removed once the last agent in it is done (removing
    it kills the actors in it, so not while one still stores its last points)."""

    def __init__(self, group: Any, agents: int) -> None:
        self.group, self.left = group, agents
        self._lock = threading.Lock()

    def release(self) -> None:
        import ray

        with self._lock:
            self.left -= 1
            if self.left > 0:
                return
        with contextlib.suppress(Exception):
            ray.util.remove_placement_group(self.group)


class RemoteNode:
    """The runner's handle on one agent: pulls its ranks' logs into local copies."""

    def __init__(self, agent: Any, logs: Mapping[int, Path], placement: _Placement) -> None:
        self.agent, self.placement = agent, placement
        self.logs = dict(logs)
        self._offsets = dict.fromkeys(logs, 0)
        self._closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        for path in self.logs.values():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        self._puller = threading.Thread(target=self._loop, name="runyard-node-logs", daemon=True)
        self._puller.start()

    def _loop(self) -> None:
        while not self._stop.wait(LOG_PULL_S):
            with contextlib.suppress(Exception):  # an agent gone: wait_rank reports it
                self.pull()

    def pull(self) -> None:
        import ray

        with self._lock:
            got = ray.get(self.agent.read_logs.remote(self._offsets), timeout=30)
            for rank, data in got.items():
                if data:
                    with open(self.logs[rank], "ab") as f:
                        f.write(data)
                    self._offsets[rank] += len(data)

    def close(self) -> None:
        """Once: the last log lines, the agent's final ingest, the actor gone."""
        import ray

        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._puller.join()
        with contextlib.suppress(Exception):
            while True:  # every line, even a long traceback's
                before = sum(self._offsets.values())
                self.pull()
                if sum(self._offsets.values()) == before:
                    break
        with contextlib.suppress(Exception):
            ray.get(self.agent.finish.remote(), timeout=120)
        with contextlib.suppress(Exception):
            ray.kill(self.agent)
        self.placement.release()


class RemoteRank:
    """A rank on another node, with the calls RankGroup makes of a local rank's
    :class:`~runyard.runner.process.ScriptProcess`."""

    remote = True  # not sampled here (roots_of): its node's agent samples it
    pid = -1
    pidfd = None

    def __init__(self, node: RemoteNode, rank: int) -> None:
        self.node, self.rank = node, rank
        self._code: int | None = None
        self._terminated = False

    def wait(self, timeout: float | None = None) -> int | None:
        from ray.exceptions import RayError

        import ray

        deadline = None if timeout is None else time.monotonic() + timeout
        while self._code is None:
            step = 5.0 if deadline is None else max(0.0, min(5.0, deadline - time.monotonic()))
            try:
                self._code = ray.get(self.node.agent.wait_rank.remote(self.rank, step))
            except RayError as exc:  # the node or its agent died: so did the rank
                self._note(f"[runyard] rank {self.rank}'s node was lost: {exc}")
                self._code = 137
            if deadline is not None and time.monotonic() >= deadline:
                break
        return self._code

    def _note(self, line: str) -> None:
        with contextlib.suppress(OSError), open(self.node.logs[self.rank], "a") as f:
            f.write(line + "\n")

    def terminate(self, grace: float) -> None:
        if not self._terminated:
            self._terminated = True
            with contextlib.suppress(Exception):
                self.node.agent.terminate.remote(self.rank, grace)

    def enforce_grace(self) -> float | None:
        return None  # the agent enforces it on its node

    def signal_group(self, sig: int) -> bool:
        with contextlib.suppress(Exception):
            self.node.agent.signal_group.remote(self.rank, sig)
            return True
        return False

    def stop(self, grace: float) -> int:
        self.terminate(grace)
        code = self.wait(grace + 30.0)
        return 137 if code is None else code

    def close(self) -> None:
        self.node.close()


def start_other_nodes(
    plan: RankPlan,
    run_id: str,
    script: ScriptContext,
    definition: Mapping[str, Any],
    epoch: int | None,
    logs_dir: Path,
    *,
    canceled: Callable[[], str | None],
    say: Callable[[str], None],
) -> tuple[RankPlan, dict[int, Any]] | None:
    """Places and prepares rank groups 1.. on other nodes and starts their ranks;
    returns group 0's plan (its rendezvous address) and the remote ranks, or None when
    ``canceled()`` says so meanwhile. Raises SetupFailed with the fix when the cluster
    cannot hold the run or a node cannot prepare it."""
    from ray.util.placement_group import placement_group, placement_group_table
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    import ray

    if not ray.is_initialized():
        # ray.init installs a SIGTERM handler that exits: the runner's must stay (a cancel
        # stops the ranks, and the run is Canceled, not a crashed runner).
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        ray.init(address="auto", log_to_driver=False, configure_logging=False)
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
    bundles = [{"CPU": float(plan.local_world_size)}] * plan.node_count
    pg = placement_group(bundles, strategy="STRICT_SPREAD", name=f"runyard-{run_id}")
    say(f"waiting for {plan.node_count} nodes with {plan.local_world_size} free CPUs each")
    if not _wait(pg.ready(), PLACEMENT_TIMEOUT_S, canceled):
        ray.util.remove_placement_group(pg)
        if canceled() is not None:
            return None
        raise SetupFailed(
            f"the Ray cluster has no {plan.node_count} nodes with {plan.local_world_size} "
            f"free CPUs each (node_count={plan.node_count}, {plan.world_size} processes) "
            f"after {PLACEMENT_TIMEOUT_S:.0f} s: add nodes, or ask for fewer"
        )
    here = ray.get_runtime_context().get_node_id()
    placed = placement_group_table(pg)["bundles_to_node_id"]
    elsewhere = [i for i in sorted(placed) if placed[i] != here][: plan.node_count - 1]
    agent_class: Any = ray.remote(NodeAgent)
    agents = [
        agent_class.options(
            max_concurrency=8,  # wait_rank blocks; logs and stops meanwhile
            num_cpus=0.01,  # inside the bundle, whose CPUs are the ranks'
            scheduling_strategy=PlacementGroupSchedulingStrategy(
                pg, placement_group_bundle_index=i
            ),
        ).remote(run_id, script, dict(definition), group, epoch)
        for group, i in enumerate(elsewhere, start=1)
    ]
    try:
        say(f"preparing the run on {len(agents)} other node(s)")
        refs = [a.prepare.remote() for a in agents]
        if not _wait(refs, None, canceled):
            raise _Canceled
        master_addr = _node_address()
        group0 = RankPlan(**{**asdict(plan), "master_addr": master_addr,
                             "master_port": free_port(master_addr)})  # fmt: skip
        remote: dict[int, RemoteRank] = {}
        placement = _Placement(pg, len(agents))
        for group, agent in enumerate(agents, start=1):
            node_plan = {**asdict(group0), "group_rank": group}
            ranks = ray.get(agent.start.remote(node_plan))
            logs = {r: logs_dir / RANK_LOG.format(rank=r) for r in ranks}
            node = RemoteNode(agent, logs, placement)
            remote.update({r: RemoteRank(node, r) for r in ranks})
    except BaseException as exc:
        for agent in agents:
            with contextlib.suppress(Exception):
                ray.kill(agent)
        ray.util.remove_placement_group(pg)
        if isinstance(exc, _Canceled):
            return None
        cause = getattr(exc, "cause", None)  # a RayTaskError: what the agent raised
        if isinstance(cause, RunyardError):
            raise SetupFailed(str(cause)) from None
        raise
    return group0, remote


def _node_address() -> str:
    import ray

    return str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]


class _Canceled(Exception):
    pass


def _wait(refs: Any, timeout: float | None, canceled: Callable[[], str | None]) -> bool:
    """Waits for ``refs`` (their errors raised); False on a cancel or the timeout."""
    import ray

    pending = list(refs) if isinstance(refs, list) else [refs]
    deadline = None if timeout is None else time.monotonic() + timeout
    while pending:
        if canceled() is not None or (deadline is not None and time.monotonic() > deadline):
            return False
        done, pending = ray.wait(pending, num_returns=len(pending), timeout=1.0)
        ray.get(done)
    return True
