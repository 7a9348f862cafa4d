"""Ray jobs that run Runyard runners: the job's entrypoint, environment and id, and the
few calls of Ray's job submission API that Runyard makes.

One Ray job per run. Its entrypoint is the runner in remote mode, started with an
absolute interpreter path (a bare ``python`` would be whatever was first on the PATH of
``ray start``)::

    exec /abs/python -m runyard.runner RUN_ID --tracking-uri http://studio:8765

The access token travels in the job's environment (``RUNYARD_TOKEN``), not on the
command line, which every user of a node can read in ``ps``. Ray is imported only here
and only when a Ray target is used: it is an optional extra, and a slow import.
"""

from __future__ import annotations

import json
import shlex
import sys
import threading
from dataclasses import dataclass
from typing import Any

from runyard.config import ENV_RAY_ADDRESS, ENV_RAY_TARGET, ENV_TOKEN
from runyard.entities import ComputeTargetConfig, RunInfo
from runyard.errors import ComputeError
from runyard.workspace.targets import cancel_grace_s

PROBE_TIMEOUT_S = 3.0
# How long Ray waits after SIGTERM before it SIGKILLs a stopped job: long enough for the
# runner to stop the script (its grace period) and upload what is left.
STOP_WAIT_EXTRA_S = 60
# Which job owns a run until its runner beats its own heart: "ray-job:<submission id>".
OWNER_PREFIX = "ray-job:"
# Ray's own variable (not ours): how long Ray waits between SIGTERM and SIGKILL.
RAY_STOP_WAIT_VARIABLE = "RAY_JOB_STOP_WAIT_TIME_S"
INSTALL_HINT = "install it with `pip install 'runyard[ray]'` (Ray's job client, ray[default])"

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class JobState:
    """A Ray job's status (``PENDING``, ``RUNNING``, ``SUCCEEDED``, ``FAILED``,
    ``STOPPED``, or ``MISSING`` when the cluster does not know it) and message."""

    status: str
    message: str = ""

    @property
    def terminal(self) -> bool:
        return self.status in ("SUCCEEDED", "FAILED", "STOPPED", "MISSING")


def normalise_address(address: str) -> str:
    """``host:port`` or ``http(s)://host:port`` → a URL without a trailing slash."""
    address = (address or "").strip().rstrip("/")
    if address.startswith("ray://"):
        raise ComputeError(
            f"Ray address {address!r} is a Ray Client address; Runyard submits jobs, so "
            "give the dashboard's job submission address, e.g. http://HEAD:8265"
        )
    if not address:
        raise ComputeError("the Ray target has no address; set it to http://HEAD:8265")
    return address if "://" in address else f"http://{address}"


def submission_id(run_id: str) -> str:
    """The Ray job id of a run: derived from the run id, so it is found without a lookup
    and a run can never be submitted twice."""
    return f"runyard-{run_id}"


def job_client_class() -> Any:
    """``ray.job_submission.JobSubmissionClient``, or a ComputeError saying how to get it."""
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:
        raise ComputeError(
            f"this is a Ray compute target, but Ray is not installed here ({exc}); " + INSTALL_HINT
        ) from None
    return JobSubmissionClient


def probe(address: str, timeout: float = PROBE_TIMEOUT_S) -> str:
    """Checks that a Ray job server answers at ``address``; returns its Ray version.
    Quick on purpose: Ray's own client would wait forever on a black-holed address."""
    import httpx

    url = normalise_address(address)
    fix = (
        "check the address (the head's dashboard, usually port 8265) and that the "
        "cluster is up (`ray status` on the head)"
    )
    try:
        resp = httpx.get(f"{url}/api/version", timeout=timeout)
    except httpx.TimeoutException:
        raise ComputeError(
            f"the Ray cluster at {url} did not answer within {timeout:g} s; {fix}"
        ) from None
    except httpx.HTTPError as exc:
        raise ComputeError(f"cannot reach the Ray cluster at {url} ({exc}); {fix}") from None
    try:
        version = str(resp.json()["ray_version"])
    except (ValueError, KeyError, TypeError):
        raise ComputeError(
            f"{url} answered /api/version with HTTP {resp.status_code}, not as a Ray job "
            f"server does; {fix}"
        ) from None
    return version


def client(address: str) -> Any:
    """A job submission client for ``address`` (probed, and kept for reuse)."""
    url = normalise_address(address)
    with _clients_lock:
        found = _clients.get(url)
    if found is not None:
        return found
    cls = job_client_class()
    probe(url)
    try:
        made = cls(url)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError ...
        raise ComputeError(f"Ray's job client could not connect to {url}: {exc}") from None
    with _clients_lock:
        _clients.setdefault(url, made)
    return made


def entrypoint(run_id: str, tracking_uri: str, python: str | None = None) -> str:
    """The job's shell command: ``exec`` makes the runner the job's process itself, so
    Ray's stop signal reaches it directly."""
    argv = [python or sys.executable, "-m", "runyard.runner", run_id, "--tracking-uri"]
    return "exec " + shlex.join([*argv, tracking_uri])


def runtime_env(
    *, token: str, address: str, target: ComputeTargetConfig, grace_s: float
) -> dict[str, Any]:
    """Environment variables of the job: the token, and what the runner needs to start
    the target's next queued run when it frees a slot."""
    target_json = {
        "name": target.name,
        "type": target.type,
        "max_concurrent_runs": target.max_concurrent_runs,
        "address": normalise_address(address),
        "options": {k: v for k, v in target.options.items() if k != "token"},
    }
    return {
        "env_vars": {
            ENV_TOKEN: token,
            ENV_RAY_ADDRESS: normalise_address(address),
            ENV_RAY_TARGET: json.dumps(target_json),
            RAY_STOP_WAIT_VARIABLE: str(int(grace_s) + STOP_WAIT_EXTRA_S),
        }
    }


def submit(
    address: str,
    run_id: str,
    *,
    tracking_uri: str,
    token: str,
    target: ComputeTargetConfig,
    grace_s: float,
    python: str | None = None,
) -> str:
    """Submits the Ray job of ``run_id``; returns its submission id. The runner runs
    with ``python``, else the target's ``options["python"]`` (the interpreter's path on
    the nodes, when it differs from this one's), else ``sys.executable``."""
    job_id = submission_id(run_id)
    option = target.options.get("python")
    python = python or (option if isinstance(option, str) and option else None)
    try:
        client(address).submit_job(
            entrypoint=entrypoint(run_id, tracking_uri, python),
            submission_id=job_id,
            runtime_env=runtime_env(token=token, address=address, target=target, grace_s=grace_s),
            metadata={"runyard_run_id": run_id},
            **placement(target),
        )
    except ComputeError:
        raise
    except Exception as exc:
        raise ComputeError(
            f"the Ray cluster at {normalise_address(address)} refused job {job_id}: {exc}"
        ) from None
    return job_id


_PLACEMENT = ("entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory")


def placement(target: ComputeTargetConfig) -> dict[str, Any]:
    """What each run's job asks of a node, from the target's options (Ray's own names:
    ``entrypoint_num_cpus``, ``entrypoint_num_gpus``, ``entrypoint_memory`` in bytes,
    ``entrypoint_resources`` a dict of custom resources). Without any, Ray runs every
    job's runner on the head node; with them, on a node that has them free (and a job
    waits while none has)."""
    asked: dict[str, Any] = {}
    for name in _PLACEMENT:
        value = target.options.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ComputeError(
                f"Ray target {target.name!r}: option {name}={value!r} must be a number >= 0"
            )
        asked[name] = int(value) if name == "entrypoint_memory" else value
    resources = target.options.get("entrypoint_resources")
    if resources is not None:
        if not isinstance(resources, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
            for k, v in resources.items()
        ):
            raise ComputeError(
                f"Ray target {target.name!r}: option entrypoint_resources={resources!r} "
                'must map resource names to amounts, e.g. {"gpu_node": 1}'
            )
        asked["entrypoint_resources"] = dict(resources)
    return asked


class RayJobStarter:
    """A :class:`~runyard.runner.slots.RunStarter` that submits one Ray job per run,
    whose runner reports to the studio at ``tracking_uri``."""

    def __init__(
        self, address: str, tracking_uri: str, token: str, target: ComputeTargetConfig
    ) -> None:
        self.address = address
        self.tracking_uri = tracking_uri
        self.token = token
        self.target = target

    def start(self, run: RunInfo) -> str:
        try:
            job_id = submit(
                self.address,
                run.run_id,
                tracking_uri=self.tracking_uri,
                token=self.token,
                target=self.target,
                grace_s=cancel_grace_s(self.target),
            )
        except ComputeError as exc:
            raise ComputeError(f"could not submit the Ray job: {exc}") from None
        return OWNER_PREFIX + job_id


def state(address: str, job_id: str) -> JobState:
    """The job's status and Ray's message about it."""
    try:
        info = client(address).get_job_info(job_id)
    except ComputeError:
        raise
    except Exception as exc:
        if "does not exist" in str(exc) or "404" in str(exc):
            return JobState("MISSING", f"the Ray cluster has no job {job_id}")
        raise ComputeError(f"cannot read Ray job {job_id}: {exc}") from None
    return JobState(str(info.status.value), str(info.message or ""))


def log_tail(address: str, job_id: str, max_chars: int = 2000) -> str:
    """The end of the job's own log (the runner's messages), or "" if unavailable."""
    try:
        text = str(client(address).get_job_logs(job_id))
    except Exception:  # a log is a nice-to-have in an error message, never a new error
        return ""
    return text[-max_chars:].strip()


def stop(address: str, job_id: str) -> bool:
    """Asks Ray to stop the job (SIGTERM, SIGKILL later); False if it was not running."""
    try:
        return bool(client(address).stop_job(job_id))
    except ComputeError:
        raise
    except Exception as exc:
        raise ComputeError(f"cannot stop Ray job {job_id}: {exc}") from None
