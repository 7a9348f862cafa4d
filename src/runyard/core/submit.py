"""``experiment.submit``: snapshot, queue, and hand the run to its compute target."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.entities import ComputeTargetConfig, RunKind, RunStatus
from runyard.errors import ValidationError
from runyard.sysmetrics.settings import settings_from

if TYPE_CHECKING:
    from runyard.core.experiment import Experiment
    from runyard.core.run import Run
    from runyard.core.script_run_config import ScriptRunConfig
    from runyard.core.workspace import Workspace


def _check_variables(variables: Mapping[str, Any]) -> dict[str, str]:
    """Environment variables a process can be given: checked now, not when the runner
    tries to start the script."""
    out = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not name or "=" in name or "\x00" in name:
            raise ValidationError(
                f"environment variable name {name!r} is invalid: it must be a non-empty "
                "string without '=' or NUL characters"
            )
        text = str(value)
        if "\x00" in text:
            raise ValidationError(f"environment variable {name!r} has a NUL character in its value")
        out[name] = text
    return out


def _check_arguments(arguments: list[str]) -> list[str]:
    """Arguments a process can be given and the studio can show: a NUL cannot be in an
    argv, and a lone surrogate (what Python makes of a non-UTF-8 byte on the command
    line) cannot be stored as text or sent as JSON."""
    for i, arg in enumerate(arguments):
        if "\x00" in arg:
            raise ValidationError(f"argument {i + 1} ({arg!r}) has a NUL character")
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                f"argument {i + 1} ({arg!r}) is not valid UTF-8 text (a byte that is not "
                "UTF-8, or a lone surrogate); pass the argument as UTF-8 text"
            ) from None
    return arguments


def _target_name(config: ScriptRunConfig) -> str:
    target = config.compute_target
    return target if isinstance(target, str) else target.name


def submit(
    experiment: Experiment, config: ScriptRunConfig, tags: Mapping[str, str] | None = None
) -> Run:
    from runyard.assets.inputs import record_lineage

    target, definition = prepare(experiment, config)
    run = _queue(experiment.workspace, experiment.id, target, definition, tags)
    record_lineage(experiment.workspace.store, run.id, definition.get("inputs", {}))
    return run


def prepare(
    experiment: Experiment, config: ScriptRunConfig
) -> tuple[ComputeTargetConfig, dict[str, Any]]:
    """Checks ``config`` and snapshots its source: the target and the definition a run
    of it gets (a sweep's trials share one: runyard.train.hyperdrive)."""
    from runyard.assets.inputs import submission_inputs
    from runyard.config import snapshot_limits
    from runyard.core.local_build import submittable_spec
    from runyard.store.snapshots import SnapshotStore, git_info

    ws = experiment.workspace
    target = ws.compute_target_config(_target_name(config))
    recorded = config.submission_record(target.type)  # refuses what cannot run there, early
    # Dataset inputs become tokens the runner replaces by local paths (assets/inputs.py).
    # ``run_config.data = {"input": ds.as_named_input("input").as_mount()}`` works too.
    # ``ScriptRunConfig(inputs=[ds.as_named_input("x").as_mount()])`` too.
    data = getattr(config.run_config, "data", None)
    extra = [*(data.values() if isinstance(data, dict) else ()), *getattr(config, "inputs", [])]
    arguments, inputs = submission_inputs(config.arguments, extra)
    source = Path(config.source_directory).expanduser().resolve()
    if not source.is_dir():
        raise ValidationError(
            f"source_directory {config.source_directory!r} ({source}) is not a folder; "
            "point it at the folder holding your training script"
        )
    try:
        script = (source / config.script).resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop
        raise ValidationError(f"script {config.script!r} cannot be resolved: {exc}") from None
    if not script.is_relative_to(source):
        raise ValidationError(f"script {config.script!r} must be inside source_directory {source}")
    if not script.is_file():
        raise ValidationError(
            f"script {config.script!r} was not found in {source}; give its path relative "
            "to source_directory"
        )
    max_bytes, max_files = snapshot_limits()
    snapshot = SnapshotStore(ws.artifact_root / "snapshots").capture(
        source, max_bytes=max_bytes, max_files=max_files
    )
    rel_script = script.relative_to(source).as_posix()
    if rel_script not in SnapshotStore(ws.artifact_root / "snapshots").manifest(
        snapshot.snapshot_id
    ):
        raise ValidationError(
            f"script {rel_script!r} is left out of the snapshot by the ignore rules "
            f"({source / '.runyardignore'} or a .gitignore); the run could not start. "
            "Remove the rule that matches it"
        )
    variables = _check_variables(config.run_config.environment_variables)
    settings_from(variables)  # a bad RUNYARD_SYSTEM_METRICS_INTERVAL is refused here
    env = config.environment
    if env is not None:
        _check_variables(env.environment_variables)
    environment: dict[str, Any] | None = None
    if env is not None:
        environment = {"name": env.name, "version": env.version, "spec": submittable_spec(env)}
    definition: dict[str, Any] = {
        "script": script.relative_to(source).as_posix(),
        "arguments": _check_arguments(arguments),
        "source_directory": str(source),
        "snapshot_id": snapshot.snapshot_id,
        "snapshot": {"files": snapshot.file_count, "bytes": snapshot.total_bytes},
        "environment": environment,
        "max_run_duration_seconds": config.max_run_duration_seconds,
        "environment_variables": variables,
        "git": git_info(source),
        **recorded,
    }
    if inputs:
        definition["inputs"] = inputs
    return target, definition


def _queue(
    ws: Workspace,
    experiment_id: str,
    target: ComputeTargetConfig,
    definition: Mapping[str, Any],
    tags: Mapping[str, str] | None,
    properties: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
) -> Run:
    from runyard.core.run import Run
    from runyard.targets import get_dispatcher

    store = ws.store
    dispatcher = get_dispatcher(target)
    # A run that could not start is an error now, not a stuck run later.
    dispatcher.check_submission(ws.config_path, target, definition, experiment_id)
    info = store.create_run(
        experiment_id,
        kind=RunKind.SUBMITTED,
        status=RunStatus.QUEUED,
        compute_target=target.name,
        tags=dict(tags or {}),
        properties=dict(properties or {}),
        definition=definition,
        parent_run_id=parent_run_id,  # run.submit_child (core/run_sdk.py)
    )
    dispatcher.dispatch(store, ws.config_path, target)
    return Run(store, store.get_run(info.run_id), workspace=ws)


def resubmit(ws: Workspace, run: Run, compute_target: str | None = None) -> Run:
    """A new run from ``run``'s snapshot and arguments, in its *locked* environment."""
    info = run.info
    if info.kind is not RunKind.SUBMITTED:
        raise ValidationError(f"run {info.run_id} was not submitted, so it cannot be rerun")
    definition = dict(info.definition)
    env = definition.get("environment")
    if isinstance(env, dict) and env.get("spec") and env.get("lock"):
        from runyard.environments import spec_from_lock

        definition["environment"] = {**env, "spec": spec_from_lock(env["spec"], env["lock"])}
    target = ws.compute_target_config(compute_target or info.compute_target)
    return _queue(
        ws,
        info.experiment_id,
        target,
        definition,
        dict(info.tags),
        properties={"rerun_of": info.run_id},
    )
