"""The one place that knows environment variable names, default paths and limits.

Reading ``os.environ`` is allowed here; reading or writing files is not (that is the
job of :mod:`runyard.workspace` and the store).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.entities import ComputeTargetConfig
from runyard.errors import ConfigError, ValidationError

CONFIG_DIRNAME = ".runyard"
CONFIG_FILENAME = "config.json"
DEFAULT_DB_FILENAME = "runyard.db"
DEFAULT_ARTIFACT_DIRNAME = "artifacts"
DEFAULT_STUDIO_PORT = 8765
# What a local workspace reports as its SDK subscription, resource group and location.
LOCAL_LABEL = "local"

# Variables the runner sets for the script it starts; Run.get_context() reads them.
ENV_RUN_ID = "RUNYARD_RUN_ID"
ENV_TRACKING_URI = "RUNYARD_TRACKING_URI"
ENV_ARTIFACT_ROOT = "RUNYARD_ARTIFACT_ROOT"
ENV_JOURNAL = "RUNYARD_JOURNAL"
ENV_WORKSPACE = "RUNYARD_WORKSPACE"
ENV_TOKEN = "RUNYARD_TOKEN"
ENV_STUDIO_URL = "RUNYARD_STUDIO_URL"
# "3.11:SITE[:SITE]": the runner's own site-packages, for a script whose environment lacks
# what Runyard's store needs (see client_site / use_client_site).
ENV_CLIENT_SITE = "RUNYARD_CLIENT_SITE"
# Where built environments are cached, shared by all of a user's workspaces.
ENV_CACHE_DIR = "RUNYARD_CACHE_DIR"
# What a Ray job's runner is given, to start the target's next queued run from the node.
ENV_RAY_ADDRESS = "RUNYARD_RAY_ADDRESS"
ENV_RAY_TARGET = "RUNYARD_RAY_TARGET"
# How long a runner may go without a heartbeat before the reaper takes its run (seconds).
ENV_HEARTBEAT_TIMEOUT_S = "RUNYARD_HEARTBEAT_TIMEOUT_S"
# Overrides of the snapshot limits below.
ENV_SNAPSHOT_MAX_BYTES = "RUNYARD_SNAPSHOT_MAX_BYTES"
ENV_SNAPSHOT_MAX_FILES = "RUNYARD_SNAPSHOT_MAX_FILES"

# Limits. Each is enforced with an error that names it and the fix.
MAX_NAME_LENGTH = 255  # experiment, metric, tag and property names
MAX_TAG_VALUE_LENGTH = 5000
MAX_STRING_METRIC_LENGTH = 5000
DEFAULT_SNAPSHOT_MAX_BYTES = 300 * 1024 * 1024
DEFAULT_SNAPSHOT_MAX_FILES = 2000

# A runner that has not beaten its heart for this long is presumed dead.
HEARTBEAT_INTERVAL_S = 2.0
HEARTBEAT_TIMEOUT_S = 30.0
CANCEL_GRACE_S = 10.0


def heartbeat_timeout_s(default: float = HEARTBEAT_TIMEOUT_S) -> float:
    """The reaper's heartbeat timeout: ``$RUNYARD_HEARTBEAT_TIMEOUT_S`` or ``default``.
    It must exceed two heartbeat intervals, or live runners would be taken."""
    text = os.environ.get(ENV_HEARTBEAT_TIMEOUT_S)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 2 * HEARTBEAT_INTERVAL_S or value == float("inf"):
        raise ConfigError(
            f"{ENV_HEARTBEAT_TIMEOUT_S}={text!r} must be a number of seconds over "
            f"{2 * HEARTBEAT_INTERVAL_S:g} (two heartbeats), e.g. 30"
        )
    return value


_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def cache_dir() -> Path:
    """The user's cache for built environments (``$RUNYARD_CACHE_DIR`` or XDG)."""
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runyard"


def snapshot_limits() -> tuple[int, int]:
    """(max bytes, max files) of a snapshot: ``$RUNYARD_SNAPSHOT_MAX_BYTES`` and
    ``$RUNYARD_SNAPSHOT_MAX_FILES``, else the defaults. ValidationError for a value
    that is not a positive whole number."""
    return (
        _positive_int(ENV_SNAPSHOT_MAX_BYTES, DEFAULT_SNAPSHOT_MAX_BYTES),
        _positive_int(ENV_SNAPSHOT_MAX_FILES, DEFAULT_SNAPSHOT_MAX_FILES),
    )


def _positive_int(var: str, default: int) -> int:
    raw = os.environ.get(var)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{var}={raw!r} is not a whole number") from None
    if value <= 0:
        raise ValidationError(f"{var} must be positive")
    return value


def check_utf8(what: str, text: str) -> str:
    """Refuses text that cannot be stored: lone surrogates are not valid Unicode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{what} contains {text[exc.start : exc.end]!r}, which is not valid Unicode "
            "text (a lone surrogate); pass real characters"
        ) from None
    return text


def validate_resource_name(kind: str, name: object) -> str:
    """Names of experiments, compute targets and environments: letters, digits, ``_.-``."""
    if not isinstance(name, str):
        raise ConfigError(f"{kind} name must be a string, got {type(name).__name__}")
    if not name:
        raise ConfigError(f"{kind} name is empty; give it a name such as 'my-{kind}'")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"{kind} name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
        )
    if not _NAME_RE.match(name):
        raise ConfigError(
            f"{kind} name {name!r} may only contain letters, digits, '_', '.' and '-', "
            "and must not start with '.' or '-'"
        )
    return name


@dataclass(frozen=True)
class WorkspaceConfig:
    """The contents of ``.runyard/config.json``. Relative paths are relative to the
    ``.runyard`` folder."""

    name: str
    tracking_uri: str
    artifact_root: str
    compute_targets: Mapping[str, ComputeTargetConfig] = field(default_factory=dict)
    studio_url: str = f"http://127.0.0.1:{DEFAULT_STUDIO_PORT}"
    # The SDK-v1 identity (``ws.subscription_id`` ...): labels recorded locally.
    subscription_id: str = LOCAL_LABEL
    resource_group: str = LOCAL_LABEL
    location: str = LOCAL_LABEL
    # A Ray cluster the SDK's AmlCompute targets are made on: {"address", "options"}.
    ray_cluster: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tracking_uri": self.tracking_uri,
            "artifact_root": self.artifact_root,
            "studio_url": self.studio_url,
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "location": self.location,
            **({"ray_cluster": dict(self.ray_cluster)} if self.ray_cluster else {}),
            "compute_targets": {
                name: {
                    "type": c.type,
                    "max_concurrent_runs": c.max_concurrent_runs,
                    **({"address": c.address} if c.address else {}),
                    **({"options": dict(c.options)} if c.options else {}),
                }
                for name, c in sorted(self.compute_targets.items())
            },
        }

    @classmethod
    def from_dict(cls, data: object, source: str) -> WorkspaceConfig:
        """Validates a parsed config; ``source`` names the file in error messages."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
        missing = [k for k in ("name", "tracking_uri", "artifact_root") if k not in data]
        if missing:
            raise ConfigError(
                f"{source}: missing {', '.join(missing)}; "
                "recreate it with `runyard init` or add the keys"
            )
        for key in ("name", "tracking_uri", "artifact_root"):
            if not isinstance(data[key], str) or not data[key]:
                raise ConfigError(f"{source}: {key!r} must be a non-empty string")
        targets: dict[str, ComputeTargetConfig] = {}
        raw_targets = data.get("compute_targets", {})
        if not isinstance(raw_targets, dict):
            raise ConfigError(f"{source}: 'compute_targets' must be an object")
        for name, raw in raw_targets.items():
            targets[name] = compute_target_from_dict(name, raw, source)
        studio_url = data.get("studio_url", f"http://127.0.0.1:{DEFAULT_STUDIO_PORT}")
        if not isinstance(studio_url, str):
            raise ConfigError(f"{source}: 'studio_url' must be a string")
        labels = {
            k: data.get(k, LOCAL_LABEL) for k in ("subscription_id", "resource_group", "location")
        }
        for key, value in labels.items():
            if not isinstance(value, str):
                raise ConfigError(f"{source}: {key!r} must be a string")
        ray_cluster = data.get("ray_cluster")
        if ray_cluster is not None and not (
            isinstance(ray_cluster, dict) and isinstance(ray_cluster.get("address"), str)
        ):
            raise ConfigError(
                f"{source}: 'ray_cluster' must be an object with an 'address' such as "
                "http://127.0.0.1:8265"
            )
        return cls(
            name=data["name"],
            tracking_uri=data["tracking_uri"],
            artifact_root=data["artifact_root"],
            compute_targets=targets,
            studio_url=studio_url,
            ray_cluster=ray_cluster,
            **labels,
        )


def compute_target_from_dict(name: str, raw: object, source: str) -> ComputeTargetConfig:
    validate_resource_name("compute target", name)
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: compute target {name!r} must be an object")
    kind = raw.get("type", "local")
    if kind not in ("local", "ray"):
        raise ConfigError(
            f"{source}: compute target {name!r} has type {kind!r}; use 'local' or 'ray'"
        )
    slots = raw.get("max_concurrent_runs", 1)
    if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
        raise ConfigError(
            f"{source}: compute target {name!r}: max_concurrent_runs must be an integer >= 1"
        )
    address = raw.get("address")
    if kind == "ray" and not isinstance(address, str):
        raise ConfigError(
            f"{source}: ray compute target {name!r} needs an 'address' "
            "such as http://127.0.0.1:8265"
        )
    options = raw.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{source}: compute target {name!r}: 'options' must be an object")
    return ComputeTargetConfig(
        name=name, type=kind, max_concurrent_runs=slots, address=address, options=options
    )


@dataclass(frozen=True)
class RunContextEnv:
    """What the runner told the script through its environment, if anything."""

    run_id: str
    tracking_uri: str
    artifact_root: str
    journal: str
    token: str | None
    studio_url: str | None


def run_context_from_environ(environ: Mapping[str, str] | None = None) -> RunContextEnv | None:
    env = os.environ if environ is None else environ
    run_id = env.get(ENV_RUN_ID)
    if not run_id:
        return None
    missing = [v for v in (ENV_TRACKING_URI, ENV_ARTIFACT_ROOT, ENV_JOURNAL) if not env.get(v)]
    if missing:
        raise ConfigError(
            f"{ENV_RUN_ID} is set but {', '.join(missing)} is not; "
            "a Runyard runner sets all of them, so unset "
            f"{ENV_RUN_ID} to run the script on its own"
        )
    return RunContextEnv(
        run_id=run_id,
        tracking_uri=env[ENV_TRACKING_URI],
        artifact_root=env[ENV_ARTIFACT_ROOT],
        journal=env[ENV_JOURNAL],
        token=env.get(ENV_TOKEN),
        studio_url=env.get(ENV_STUDIO_URL),
    )


def client_site() -> str:
    """``ENV_CLIENT_SITE``'s value for a script this interpreter's runner starts: its
    Python version and site-packages folders."""
    import sys
    import sysconfig

    paths = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    return os.pathsep.join([f"{sys.version_info[0]}.{sys.version_info[1]}", *paths])


def use_client_site(environ: Mapping[str, str] | None = None) -> None:
    """In a submitted script, before Runyard's store is imported: a run's environment
    holds the script's packages, not necessarily SQLAlchemy & co. (a script that only
    logs needs none of them), so the runner's site-packages go at the end of
    ``sys.path``, after the environment's own (whose versions win). Only for the same
    Python version: another one's compiled modules would not load."""
    import sys

    value = (os.environ if environ is None else environ).get(ENV_CLIENT_SITE, "")
    version, _, rest = value.partition(os.pathsep)
    if version != f"{sys.version_info[0]}.{sys.version_info[1]}":
        return
    sys.path.extend(p for p in rest.split(os.pathsep) if p and p not in sys.path)
