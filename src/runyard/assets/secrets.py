"""Datastore credentials: from the environment, or a secrets file only its owner reads.

The file is ``$RUNYARD_SECRETS_FILE`` or ``~/.config/runyard/secrets.json`` (mode
0600, refused when anyone else may read it), mapping a datastore name to its
settings (``key``/``secret`` for S3, ``account_key``/``sas_token`` for Azure). The
environment wins: ``RUNYARD_DATASTORE_<NAME>_<SETTING>`` (name upper-cased, ``-`` and
``.`` as ``_``), then the library's own variables (``AWS_ACCESS_KEY_ID`` ...). Nothing
here is ever written to the store, a run definition or a log.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from runyard.errors import ConfigError

ENV_SECRETS_FILE = "RUNYARD_SECRETS_FILE"
SETTINGS = ("key", "secret", "token", "account_key", "sas_token")


def secrets_path() -> Path:
    explicit = os.environ.get(ENV_SECRETS_FILE)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "runyard" / "secrets.json"


def _read() -> dict[str, dict[str, str]]:
    path = secrets_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} can be read by other users (mode {stat.S_IMODE(mode):o}); it holds "
            f"credentials: run `chmod 600 {path}`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the secrets file {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def _write(data: Mapping[str, Mapping[str, str]]) -> None:
    path = secrets_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def save(name: str, settings: Mapping[str, str]) -> None:
    """Keeps a datastore's credentials in the secrets file."""
    data = _read()
    data[name] = {k: str(v) for k, v in settings.items() if v}
    _write(data)


def forget(name: str) -> None:
    data = _read()
    if data.pop(name, None) is not None:
        _write(data)


def _env_prefix(name: str) -> str:
    return "RUNYARD_DATASTORE_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_"


def load(name: str) -> dict[str, str]:
    """A datastore's credentials: the environment's, else the secrets file's (may be
    empty: the storage library then looks in its own places)."""
    prefix = _env_prefix(name)
    from_env = {
        s: os.environ[prefix + s.upper()] for s in SETTINGS if os.environ.get(prefix + s.upper())
    }
    return from_env or dict(_read().get(name, {}))
