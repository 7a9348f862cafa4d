"""Finding, reading and writing a workspace's ``.runyard/config.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from runyard.config import CONFIG_DIRNAME, CONFIG_FILENAME, WorkspaceConfig
from runyard.errors import ConfigError, WorkspaceNotFoundError


def find_config(start: Path | None = None) -> Path:
    """Walks up from ``start`` (default: the current folder) to the first
    ``.runyard/config.json``."""
    here = (start or Path.cwd()).resolve()
    looked: list[str] = []
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_DIRNAME / CONFIG_FILENAME
        looked.append(str(folder))
        if candidate.is_file():
            return candidate
    where = looked[0] if len(looked) == 1 else f"{looked[0]} and its {len(looked) - 1} parents"
    raise WorkspaceNotFoundError(
        f"no workspace found: looked for {CONFIG_DIRNAME}/{CONFIG_FILENAME} in {where}. "
        "Create one with `runyard init` in your project folder, or "
        "Workspace.create(path='.')"
    )


def read_config(path: Path) -> WorkspaceConfig:
    """Parses a config file, with errors that name the file and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkspaceNotFoundError(
            f"{path} does not exist; create a workspace with `runyard init`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "fix the file or recreate it with `runyard init --force`"
        ) from None
    return WorkspaceConfig.from_dict(data, str(path))


def write_config(path: Path, config: WorkspaceConfig) -> None:
    """Writes atomically: a crash never leaves a half-written config."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
