"""A distributed run's ranks on one machine: torchrun's environment, one process per rank,
one log per rank, and one failure stopping them all.

:class:`RankGroup` has the calls of :class:`~runyard.runner.process.ScriptProcess` that the
supervisor makes (``returncode``, ``terminate``, ``enforce_grace``, ``signal_group``,
``stop``, ``close``), so a distributed run is supervised, canceled and timed out exactly
as a one-process run. Each rank is started as torchrun would start it (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``GROUP_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``; no ``TORCHELASTIC_*``), writes ``user_logs/std_log_process_<rank>.txt``
(the cloud's names), and rank r >= 1 logs to ``journal.rank<r>.bin`` (ingest stores its
metrics as ``rank<r>/<name>``: :func:`runyard.tracking.ingest.rank_prefix`). The ranks'
lines are copied into the driver log as ``[rank r] ...`` by :class:`RankLogMerger`.

When a rank exits non-zero the others are stopped (SIGTERM, SIGKILL after
:data:`FAIL_GRACE_S`) and the first rank to fail, by exit time, is the run's error.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.config import ENV_JOURNAL
from runyard.errors import ValidationError
from runyard.runner.process import ScriptProcess, lower_thread_priority

if TYPE_CHECKING:
    from runyard.runner.outcome import Outcome

# After one rank failed, how long the others get between SIGTERM and SIGKILL: well
# inside the 30 s in which every rank must be stopped.
FAIL_GRACE_S = 10.0
RANK_LOG = "user_logs/std_log_process_{rank}.txt"
# torchrun's elastic agent variables: a rank started here has no agent to talk to.
_AGENT_PREFIXES = ("TORCHELASTIC_", "TORCH_ELASTIC_")


@dataclass(frozen=True)
class RankPlan:
    """Which ranks this machine starts, of how many in all."""

    world_size: int
    local_world_size: int
    group_rank: int = 0  # this node's index
    master_addr: str = "127.0.0.1"
    master_port: int = 0
    launcher: str = "torch"  # "torch" (ranks started here) or "mpi" (one mpirun)
    node_count: int = 1  # several: on Ray (runner.ray_nodes), torch only

    @property
    def ranks(self) -> range:
        first = self.group_rank * self.local_world_size
        return range(first, first + self.local_world_size)


def plan_of(definition: Mapping[str, Any]) -> RankPlan | None:
    """The plan of a run whose definition asks for more than one process on one node;
    None for a one-process run."""
    recorded = definition.get("distributed")
    if not isinstance(recorded, Mapping):
        return None
    count = int(recorded.get("processCount") or 1)
    if count <= 1:
        return None
    launcher = "mpi" if recorded.get("framework") == "Mpi" else "torch"
    nodes = max(1, int(recorded.get("nodeCount") or 1))
    return RankPlan(count, count // nodes, launcher=launcher, node_count=nodes)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (what torchrun does for a standalone rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def rank_journal(main: Path, rank: int) -> Path:
    """The journal of ``rank``: the run's main journal for rank 0, else
    ``journal.rank<r>.bin`` beside it."""
    return main if rank == 0 else main.with_name(f"{main.stem}.rank{rank}{main.suffix}")


def rank_env(base: Mapping[str, str], plan: RankPlan, rank: int, journal: Path) -> dict[str, str]:
    """The environment of ``rank``: ``base`` plus torchrun's variables."""
    env = {k: v for k, v in base.items() if not k.startswith(_AGENT_PREFIXES)}
    local = rank - plan.group_rank * plan.local_world_size
    env.update(
        {
            "RANK": str(rank),
            "WORLD_SIZE": str(plan.world_size),
            "LOCAL_RANK": str(local),
            "LOCAL_WORLD_SIZE": str(plan.local_world_size),
            "GROUP_RANK": str(plan.group_rank),
            "ROLE_RANK": str(rank),
            "ROLE_WORLD_SIZE": str(plan.world_size),
            "MASTER_ADDR": plan.master_addr,
            "MASTER_PORT": str(plan.master_port),
            ENV_JOURNAL: str(rank_journal(journal, rank)),
        }
    )
    # torchrun's default: N ranks each with every core's threads would oversubscribe.
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def mpirun_argv(argv: Sequence[str], plan: RankPlan, logs_dir: Path, journal: Path) -> list[str]:
    """``mpirun -np N PYTHON -m runyard.runner.distributed_mpi LOGS JOURNAL SCRIPT ...``
    for the script's ``argv`` (``PYTHON SCRIPT ...``)."""
    python, script, *args = argv
    mpirun = shutil.which("mpirun")
    if mpirun is None:  # submit checks this too; the runner's PATH may differ
        raise ValidationError(
            "MpiConfiguration: mpirun is not on the runner's PATH; install an MPI "
            "(e.g. `apt-get install openmpi-bin`) or use PyTorchConfiguration"
        )
    bootstrap = [python, "-m", "runyard.runner.distributed_mpi", str(logs_dir), str(journal)]
    return [mpirun, "-np", str(plan.world_size), *bootstrap, script, *args]


def mpi_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment mpirun is started with. Open MPI counts cores as slots and
    refuses more ranks than that, and refuses root, unless told; a run asks for its
    ranks on purpose, and a root user runs everything as root anyway."""
    env = {k: v for k, v in base.items() if not k.startswith(_AGENT_PREFIXES)}
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    if os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


class RankLogMerger:
    """Copies each rank's new whole lines into the driver log as ``[rank r] line``,
    from a background thread, until ``stop`` (which copies the rest, partial lines
    too)."""

    def __init__(self, logs: Mapping[int, Path], driver_log: Path, interval: float = 0.1) -> None:
        self.logs = dict(logs)
        self.interval = interval
        self._offsets = dict.fromkeys(self.logs, 0)
        self._partial = {rank: b"" for rank in self.logs}
        driver_log.parent.mkdir(parents=True, exist_ok=True)
        self._out = os.open(driver_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-rank-logs", daemon=True)

    def start(self) -> RankLogMerger:
        self._thread.start()
        return self

    def _loop(self) -> None:
        lower_thread_priority()
        while not self._stop.wait(self.interval):
            self.merge()

    def merge(self, final: bool = False) -> None:
        with self._lock:
            if self._out < 0:
                return
            for rank, path in self.logs.items():
                self._merge_one(rank, path, final)

    def _merge_one(self, rank: int, path: Path, final: bool) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            while chunk := os.pread(fd, 1 << 20, self._offsets[rank]):
                self._offsets[rank] += len(chunk)
                data = self._partial[rank] + chunk
                cut = data.rfind(b"\n") + 1
                self._partial[rank] = data[cut:]
                self._write(rank, data[:cut])
        finally:
            os.close(fd)
        if final and self._partial[rank]:
            self._write(rank, self._partial[rank] + b"\n")
            self._partial[rank] = b""

    def _write(self, rank: int, lines: bytes) -> None:
        if not lines:
            return
        tag = f"[rank {rank}] ".encode()
        out = b"".join(tag + line + b"\n" for line in lines.split(b"\n")[:-1])
        with contextlib.suppress(OSError):  # a full disk must not stop the run's ranks
            os.write(self._out, out)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.merge(final=True)
        with self._lock:
            if self._out >= 0:
                os.close(self._out)
                self._out = -1


class RankGroup:
    """The ranks of a distributed run on this machine, supervised as one script."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        plan: RankPlan,
        journal: Path,
        logs_dir: Path,
        driver_log: Path,
        remote: Mapping[int, Any] | None = None,
    ) -> None:
        if plan.master_port == 0:
            plan = RankPlan(**{**plan.__dict__, "master_port": free_port(plan.master_addr)})
        self.plan = plan
        self.logs = {r: logs_dir / RANK_LOG.format(rank=r) for r in [*plan.ranks, *(remote or ())]}
        # The ranks on other nodes (runner.ray_nodes.RemoteRank) have the same calls.
        self.ranks: dict[int, ScriptProcess] = {}
        self._ended: dict[int, tuple[float, int]] = {}  # rank -> (monotonic time, code)
        self._lock = threading.Lock()
        self.failed: int | None = None  # the first rank to exit non-zero
        self._failed_code = 0  # and its return code
        try:
            if plan.launcher == "mpi":  # one mpirun starts them all (distributed_mpi)
                self.ranks[-1] = ScriptProcess(
                    mpirun_argv(argv, plan, logs_dir, journal),
                    cwd=cwd,
                    env=mpi_env(env),
                    log_path=driver_log,
                )
            for rank in plan.ranks if plan.launcher == "torch" else ():
                self.ranks[rank] = ScriptProcess(
                    argv,
                    cwd=cwd,
                    env=rank_env(env, plan, rank, journal),
                    log_path=self.logs[rank],
                )
            self.ranks.update(remote or {})
        except BaseException:
            self.stop(0.0)
            raise
        self.pid = next(iter(self.ranks.values())).pid
        self.pidfd: int | None = None  # several processes: the supervisor polls
        self.started = time.monotonic()
        self._merger = RankLogMerger(self.logs, driver_log).start()
        for rank, proc in self.ranks.items():
            threading.Thread(
                target=self._watch, args=(rank, proc), name=f"runyard-rank-{rank}", daemon=True
            ).start()

    def _watch(self, rank: int, proc: ScriptProcess) -> None:
        """Records when ``rank`` ended: the first to fail is told by its exit time, not
        by when the supervisor happened to look (a SIGKILLed rank's peers fail soon
        after it)."""
        code = proc.wait()
        if code is None:
            return
        with self._lock:
            self._ended[rank] = (time.monotonic(), code)

    def _check(self) -> None:
        with self._lock:
            failures = sorted((t, r, c) for r, (t, c) in self._ended.items() if c != 0)
        if failures and self.failed is None:
            _, rank, self._failed_code = failures[0]
            self.failed = rank if rank >= 0 else self._mpi_failed()  # -1: mpirun
            for proc in self.ranks.values():
                proc.terminate(FAIL_GRACE_S)  # only the first call counts per rank

    @property
    def returncode(self) -> int | None:
        """None while any rank runs; then the first failed rank's code, else 0."""
        self._check()
        with self._lock:
            if len(self._ended) < len(self.ranks):
                return None
        return self._failed_code

    def _mpi_failed(self) -> int:
        """Which rank mpirun's failure came from: the first (by the time its log last
        changed) whose log ends in a traceback; else rank 0."""
        from runyard.runner.outcome import last_traceback, read_tail

        found = []
        for rank, path in self.logs.items():
            with contextlib.suppress(OSError):
                if last_traceback(read_tail(path)):
                    found.append((path.stat().st_mtime, rank))
        return min(found)[1] if found else self.plan.ranks[0]

    def terminate(self, grace: float) -> None:
        """SIGTERM to every rank now, SIGKILL after ``grace`` (:meth:`enforce_grace`)."""
        for proc in self.ranks.values():
            proc.terminate(grace)

    def enforce_grace(self) -> float | None:
        left = [x for p in self.ranks.values() if (x := p.enforce_grace()) is not None]
        return min(left, default=None)

    def signal_group(self, sig: int) -> bool:
        sent = [p.signal_group(sig) for p in self.ranks.values()]
        return any(sent)

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.returncode) is None:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
        return code

    def stop(self, grace: float) -> int:
        """Stops every rank (blocking); returns the group's return code."""
        for proc in self.ranks.values():
            proc.terminate(grace)
        codes = [p.stop(grace) for p in self.ranks.values()]
        return next((c for c in codes if c != 0), 0)

    def close(self) -> None:
        """Copies the ranks' last lines into the driver log; closes what is open."""
        self._merger.stop()
        for proc in self.ranks.values():
            proc.close()

    def outcome(self, *, stop_reason: str | None, canceled: bool) -> Outcome:
        """The run's outcome: a stop by the runner as for one script; else the first
        failed rank's traceback (from its own log), led by which rank it was."""
        from runyard.runner.outcome import Outcome, decide, describe_exit

        code = self.returncode
        assert code is not None
        rank = self.failed if self.failed is not None else self.plan.ranks[0]
        found = decide(code, stop_reason=stop_reason, canceled=canceled, driver_log=self.logs[rank])
        if self.failed is None or stop_reason is not None:
            return found
        others = "the other ranks were stopped" if self.plan.world_size > 1 else "no other rank"
        words = describe_exit(code)[1]
        head = f"rank {rank} of {self.plan.world_size} failed first ({words}); {others}"
        error = head if found.error == words else f"{head}\n{found.error}"
        return Outcome(found.status, found.exit_code, error)
