"""Finding a workspace the SDK-v1 way: by name (``Workspace.get(name, subscription_id=,
resource_group=)``, ``Workspace(subscription_id, resource_group, workspace_name)``), and
through the pointer files ``ws.write_config(path=)`` leaves in other folders.

A workspace is a folder's ``.runyard/config.json``. Looked up by name, it is searched
for where a script can mean it: the workspace of the run the script is in
(``$RUNYARD_WORKSPACE``), then the current folder and its parents, as ``from_config``
does. Its SDK labels (subscription, resource group) must match when both sides set them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from runyard.config import CONFIG_DIRNAME, CONFIG_FILENAME, ENV_WORKSPACE, LOCAL_LABEL
from runyard.errors import ConfigError, ConflictError, WorkspaceNotFoundError
from runyard.workspace import check_store_exists as _check_store_exists
from runyard.workspace import read_config

POINTER_KEY = "runyard_workspace"  # a pointer file names the real config by this key


def config_file_name(file_name: str | None) -> str:
    """``file_name`` as the SDK normalises it: ``.json`` added when missing."""
    if not file_name:
        return CONFIG_FILENAME
    name = os.path.basename(file_name)
    return name if name.endswith(".json") else f"{name}.json"


def follow_pointer(path: Path) -> Path:
    """The workspace config ``path`` stands for: itself, or the config a pointer file
    written by ``write_config`` names."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return path  # read_config reports what is wrong with it
    if not isinstance(data, dict) or POINTER_KEY not in data:
        return path
    target = Path(str(data[POINTER_KEY]))
    if not target.is_file():
        raise WorkspaceNotFoundError(
            f"{path} points at workspace config {target}, which no longer exists; "
            "write it again with ws.write_config() from the workspace, or delete it"
        )
    return target


def find_config_named(start: Path, file_name: str) -> Path | None:
    """The first ``.runyard/<file_name>`` in ``start`` and its parents."""
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_DIRNAME / file_name
        if candidate.is_file():
            return candidate
    return None


def run_workspace_config() -> Path | None:
    """The workspace config of the submitted run this process is, if any."""
    value = os.environ.get(ENV_WORKSPACE)
    if value and Path(value).is_file():
        return Path(value)
    return None


def _labels_match(recorded: str, asked: str | None) -> bool:
    return asked is None or recorded in (LOCAL_LABEL, asked)


def find_named(
    name: str, subscription_id: str | None = None, resource_group: str | None = None
) -> Path:
    """The config path of the workspace called ``name``. Raises WorkspaceNotFoundError
    saying where it looked and how to make one."""
    candidates: list[Path] = []
    here = Path.cwd().resolve()
    mine = run_workspace_config()
    if mine is not None:
        candidates.append(mine)
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_DIRNAME / CONFIG_FILENAME
        if candidate.is_file():
            candidates.append(candidate)
    mismatched: list[str] = []
    for candidate in candidates:
        try:
            path = follow_pointer(candidate)
            config = read_config(path)
        except (ConfigError, WorkspaceNotFoundError):
            continue
        if config.name != name:
            continue
        if _labels_match(config.subscription_id, subscription_id) and _labels_match(
            config.resource_group, resource_group
        ):
            return path
        mismatched.append(
            f"{path} has subscription {config.subscription_id!r}, "
            f"resource group {config.resource_group!r}"
        )
    if mismatched:
        raise WorkspaceNotFoundError(
            f"workspace {name!r} exists, but not in subscription {subscription_id!r} and "
            f"resource group {resource_group!r} ({'; '.join(mismatched)}); pass the "
            "recorded values, or leave them out"
        )
    raise WorkspaceNotFoundError(
        f"no workspace called {name!r} in {here} or its parents"
        + (f" or at {mine}" if mine else "")
        + f". Make it in your project folder with Workspace.create({name!r}, "
        "subscription_id=..., resource_group=..., location=...) or "
        f"`runyard init --name {name}`, then run this from that folder (or below it)"
    )


def write_pointer(config_path: Path, folder: Path, file_name: str, labels: dict[str, str]) -> Path:
    """Writes ``folder/.runyard/<file_name>`` naming the workspace at ``config_path``;
    returns its path. The workspace's own config is left as it is."""
    target = folder.expanduser().resolve() / CONFIG_DIRNAME / file_name
    if target.resolve() == config_path.resolve():
        return target
    if target.is_file() and follow_pointer(target) == target:
        raise ConflictError(
            f"{target} is the config of another workspace; write this one's config "
            "somewhere else (ws.write_config(path=..., file_name=...))"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {POINTER_KEY: str(config_path.resolve()), **labels}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def is_sdk_name(path: str | Path, subscription_id: str | None, resource_group: str | None) -> bool:
    """Whether ``Workspace.create``'s first argument is the SDK's workspace name rather
    than Runyard's folder: a plain name that is not an existing folder, or any call
    that passes the SDK's subscription or resource group."""
    if isinstance(path, Path):
        return False
    if subscription_id is not None or resource_group is not None:
        return True
    text = str(path)
    return (
        bool(text)
        and os.sep not in text
        and not text.startswith((".", "~"))
        and not Path(text).exists()
    )


# Re-exported: every opening path (this, the runner's, the studio's) shares one check.
check_store_exists = _check_store_exists


def name_of_folder(root: Path) -> str:
    """A workspace's default name: its folder's, with what a resource name may not hold
    (anything but letters, digits, ``_.-``; a leading ``.`` or ``-``) made ``-`` or cut."""
    name = "".join(c if c.isalnum() or c in "_.-" else "-" for c in root.name or "workspace")
    return name.lstrip(".-") or "workspace"
