"""The run's working folder: the snapshot materialised into it, the environment the
script runs in, and ``./outputs`` and ``./logs`` collected from it afterwards."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.config import (
    ENV_ARTIFACT_ROOT,
    ENV_JOURNAL,
    ENV_RUN_ID,
    ENV_STUDIO_URL,
    ENV_TOKEN,
    ENV_TRACKING_URI,
    ENV_WORKSPACE,
)
from runyard.errors import EnvironmentBuildError, RunyardError, ValidationError
from runyard.runner.parts import ScriptContext
from runyard.runner.paths import RunPaths
from runyard.store.artifacts import LocalArtifactRepository, clean_relative_path
from runyard.store.runner_protocol import RunnerStore
from runyard.store.snapshots import SnapshotStore

_log = logging.getLogger("runyard.runner")

_CONTEXT_VARIABLES = (
    ENV_RUN_ID,
    ENV_TRACKING_URI,
    ENV_ARTIFACT_ROOT,
    ENV_JOURNAL,
    ENV_WORKSPACE,
    ENV_TOKEN,
    ENV_STUDIO_URL,
)


@dataclass(frozen=True)
class Interpreter:
    """What the runner needs of ``runyard.environments.PreparedEnvironment``."""

    python: Path
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    spec_hash: str = ""
    lock: str = ""


@dataclass(frozen=True)
class Launch:
    script: str
    python: Path
    env: dict[str, str]
    interpreter: Interpreter


def command(
    launch: Launch,
    definition: Mapping[str, Any],
    work_dir: Path,
    manifest_of: Callable[[str], Mapping[str, Any]],
    run_id: str,
) -> tuple[list[str], dict[str, str]]:
    """The script's command line and environment, its dataset inputs made local paths on
    this machine (:mod:`runyard.assets.inputs`). Raises a RunyardError naming the input
    that cannot be read."""
    from runyard.assets.inputs import ENV_INPUT_DATASETS, resolve_inputs

    arguments, inputs_env = resolve_inputs(definition, work_dir, manifest_of, run_id=run_id)
    env = {k: v for k, v in launch.env.items() if k != ENV_INPUT_DATASETS}  # a parent run's
    return [str(launch.python), launch.script, *arguments], {**env, **inputs_env}


def prepare(paths: RunPaths, context: ScriptContext, definition: Mapping[str, Any]) -> Launch:
    """Materialises the snapshot, resolves the environment and builds the script's
    environment variables. Raises a RunyardError saying why the run cannot start."""
    try:
        script = clean_relative_path(str(definition.get("script") or ""))
    except ValidationError as exc:
        raise ValidationError(f"the run's script is invalid: {exc}") from None
    snapshot_id = definition.get("snapshot_id")
    if not isinstance(snapshot_id, str):
        raise ValidationError("the run's definition has no snapshot_id; submit it again")
    shutil.rmtree(paths.work_dir, ignore_errors=True)  # a rerun of a crashed runner
    try:
        SnapshotStore(paths.snapshots).materialise(snapshot_id, paths.work_dir)
    except RunyardError as exc:
        raise ValidationError(f"cannot materialise snapshot {snapshot_id}: {exc}") from None
    if not (paths.work_dir / script).is_file():
        source = definition.get("source_directory", "the source folder")
        raise ValidationError(
            f"script {script!r} is not in the snapshot of {source}; give ScriptRunConfig "
            "a script path relative to source_directory (and check the ignore rules)"
        )
    interpreter = _resolve_environment(definition.get("environment"), paths.build_log)
    env = dict(os.environ)
    for name in _CONTEXT_VARIABLES:  # a run submitted from inside another run
        env.pop(name, None)
    env.update(interpreter.environment_variables)
    if context.token:
        # The script reads the run's details from the studio, and needs the token for
        # that when the studio is not on loopback (the run's own variables may differ).
        env[ENV_TOKEN] = context.token
    given = {str(k): str(v) for k, v in (definition.get("environment_variables") or {}).items()}
    env.update(given)
    # MLflow in the script logs to this run's workspace unless the run's own variables
    # point it elsewhere (runyard: alone is the run's workspace): its first start_run()
    # continues this run (runyard.mlflow.store). No MLFLOW_RUN_ID: a script that sends
    # MLflow to its own server must not be told to continue a run that server lacks.
    if "MLFLOW_TRACKING_URI" not in given:
        env["MLFLOW_TRACKING_URI"] = "runyard:"
    env.update(
        {
            ENV_RUN_ID: paths.run_id,
            ENV_TRACKING_URI: context.tracking_uri,
            ENV_ARTIFACT_ROOT: str(context.artifact_root),
            ENV_JOURNAL: str(paths.journal),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if context.workspace_config is not None:
        env[ENV_WORKSPACE] = str(context.workspace_config)
    if context.studio_url:
        env[ENV_STUDIO_URL] = context.studio_url
    if interpreter.python != Path(sys.executable):
        # A built environment has its own packages but not Runyard: put this
        # installation's package (alone) on its path so `from runyard.core import Run`
        # works there. The script-side API needs only the standard library.
        from runyard.environments.runyard_link import put_runyard_on_path

        put_runyard_on_path(env)
    return Launch(script, interpreter.python, env, interpreter)


def _resolve_environment(environment: Any, build_log: Path) -> Interpreter:
    spec = environment.get("spec") if isinstance(environment, Mapping) else None
    if spec is None:
        # What prepare(None) returns, without importing the environments package:
        # that import is a third of the time a run takes to start.
        return Interpreter(python=Path(sys.executable))
    from runyard.environments import prepare as prepare_environment

    try:
        prepared = prepare_environment(spec, build_log)
    except (EnvironmentBuildError, ValidationError) as exc:
        raise EnvironmentBuildError(f"the environment could not be prepared: {exc}") from None
    return Interpreter(
        python=Path(prepared.python),
        environment_variables=dict(prepared.environment_variables),
        spec_hash=prepared.spec_hash,
        lock=prepared.lock,
    )


def record_environment(
    store: RunnerStore, run_id: str, definition: Mapping[str, Any], interpreter: Interpreter
) -> None:
    """Writes the environment's hash and lock into the run's definition, so that the
    run can be reproduced (``run.resubmit()`` uses the lock)."""
    environment = definition.get("environment")
    if not isinstance(environment, Mapping):
        return
    store.update_definition(
        run_id,
        {
            "environment": {
                **environment,
                "spec_hash": interpreter.spec_hash,
                "lock": interpreter.lock,
                "python": str(interpreter.python),
            }
        },
    )


def collect(store: RunnerStore, run_id: str, folder: Path, prefix: str) -> int:
    """Moves (same disk) or uploads the files under ``folder`` to the run's files
    ``<prefix>/...``; returns how many."""
    if not folder.is_dir() or folder.is_symlink():
        return 0  # ``outputs -> /`` must not upload the machine
    repo = store.artifacts
    local = isinstance(repo, LocalArtifactRepository)
    run_folder = os.path.realpath(folder.parent)
    count = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            full = Path(dirpath) / name
            rel = f"{prefix}/{full.relative_to(folder).as_posix()}"
            if full.is_symlink() and not Path(os.path.realpath(full)).is_relative_to(run_folder):
                # A link out of the run's folder (outputs/x -> /etc/passwd) is never
                # followed: its target is not the run's to publish.
                _log.warning("run %s: skipped %s, a symlink out of the run's folder", run_id, rel)
                continue
            if local and not full.is_symlink():
                assert isinstance(repo, LocalArtifactRepository)
                target = repo.local_path(run_id, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.replace(full, target)
                except OSError:  # another disk: copy instead
                    repo.put_file(run_id, rel, full)
            elif full.is_file():
                repo.put_file(run_id, rel, full)
            else:
                continue
            count += 1
    return count
