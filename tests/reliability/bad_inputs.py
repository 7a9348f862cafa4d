"""The bad-input catalogue: one row per bad input, across the Python API, the CLI,
config files, environment specs and the REST API. ``test_bad_input.py`` runs every
row against a copy of a workspace that holds earlier data, and checks that the data is
intact and the store opens afterwards; ``report.py`` renders the rows as the table in
docs/reliability.md.

A row gives the input (``given``), what the user must get (``expect``: an exception
class, ``exit N`` of the CLI, ``HTTP status type`` of the REST API, or an outcome of
concurrent calls) and fragments the message must contain (``says``): the problem and,
where there is one, the fix. ``fixed`` records the bug a row found (the
test was a strict xfail with that description until the bug was fixed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from runyard.core import Environment, Experiment, Run, ScriptRunConfig, Workspace
from runyard.entities import RunStatus
from runyard.errors import ConflictError, ValidationError

TOKEN = "bad-input-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Outcome:
    """What a bad input got: ``kind`` as in ``BadInput.expect``, and the message."""

    kind: str
    message: str
    also: tuple[str, ...] = ()  # exception class names above ``kind`` (its bases)


class Context:
    """What a row acts on: a copy of the workspace with earlier data (``ws``), a source
    folder (``src``), a scratch folder (``tmp``), a live interactive run (``run()``),
    the CLI (``cli()``) and the studio (``http()``). Implemented by test_bad_input."""

    root: Path
    ws: Workspace
    src: Path
    tmp: Path
    earlier_run: str

    def run(self, display_name: str | None = None) -> Run:
        raise NotImplementedError

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        raise NotImplementedError

    def http(self) -> httpx.Client:
        raise NotImplementedError


@dataclass(frozen=True)
class BadInput:
    id: str
    surface: str  # python, cli, config, environment, rest
    given: str
    expect: str
    says: tuple[str, ...]
    act: Callable[[Context], Any]
    # The bug this row found, fixed since (kept for the record; the row now passes).
    fixed: str | None = None
    changes_config: bool = False
    tags: tuple[str, ...] = field(default=())


def write(ctx: Context, name: str, content: str | bytes) -> Path:
    path = ctx.tmp / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def config_file(ctx: Context) -> Path:
    return ctx.root / ".runyard" / "config.json"


def with_config(text: str | bytes) -> Callable[[Context], Any]:
    def act(ctx: Context) -> Any:
        path = config_file(ctx)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return Workspace.from_config(ctx.root).store

    return act


def switch_type(run: Run) -> None:
    run.log("label", "cat")
    run.log("label", 2.0)


def log_after_complete(run: Run) -> None:
    run.complete()
    run.log("x", 1.0)


def change_property(run: Run) -> None:
    run.add_properties({"p": "1"})
    run.add_properties({"p": "2"})


def without_config(ctx: Context) -> Workspace:
    config_file(ctx).unlink()
    return Workspace.from_config(ctx.root)


def config_is_folder(ctx: Context) -> Workspace:
    config_file(ctx).unlink()
    config_file(ctx).mkdir()
    return Workspace.from_config(ctx.root)


def submit(ctx: Context, **config: Any) -> Run:
    base: dict[str, Any] = {"source_directory": str(ctx.src), "script": "train.py"}
    base.update(config)
    return Experiment(ctx.ws, "bad-input").submit(ScriptRunConfig(**base))


def concurrently(calls: list[Callable[[], Any]]) -> list[BaseException | None]:
    """Runs the calls at the same moment (a barrier), each in its own thread; returns
    each one's exception (None where it succeeded)."""
    barrier = threading.Barrier(len(calls))
    results: list[BaseException | None] = [None] * len(calls)

    def one(i: int) -> None:
        barrier.wait()
        try:
            calls[i]()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def one_conflict(results: list[BaseException | None]) -> Outcome:
    """``one ConflictError`` when exactly one call lost the race with a ConflictError."""
    errors = [r for r in results if r is not None]
    if len(errors) == 1 and isinstance(errors[0], ConflictError):
        return Outcome("one ConflictError", str(errors[0]))
    return Outcome(f"{len(errors)} errors", "; ".join(repr(e) for e in errors))


def conflicting_properties(ctx: Context) -> Outcome:
    run = ctx.run()
    return one_conflict(
        concurrently(
            [
                lambda: run.add_properties({"dataset": "cifar"}),
                lambda: run.add_properties({"dataset": "mnist"}),
            ]
        )
    )


def conflicting_status(ctx: Context) -> Outcome:
    store = ctx.ws.store
    run = ctx.run()
    results = concurrently(
        [
            lambda s=s: store.set_status(run.id, s, expected=[RunStatus.RUNNING])  # type: ignore[misc]
            for s in (RunStatus.COMPLETED, RunStatus.FAILED)
        ]
    )
    return one_conflict(results)


def same_experiment_at_once(ctx: Context) -> Outcome:
    results = concurrently([lambda: Experiment(ctx.ws, "raced") for _ in range(8)])
    errors = [r for r in results if r is not None]
    count = sum(1 for s in ctx.ws.store.list_experiments() if s.experiment.name == "raced")
    return Outcome(f"{len(errors)} errors, {count} experiment", "; ".join(map(repr, errors)))


def same_environment_at_once(ctx: Context) -> Outcome:
    def register(package: str) -> Callable[[], Any]:
        def call() -> Any:
            env = Environment("raced-env")
            env.python.conda_dependencies.add_pip_package(package)
            return env.register(ctx.ws)

        return call

    results = concurrently([register(f"pkg{i}==1.0") for i in range(6)])
    errors = [r for r in results if r is not None]
    versions = sorted(e.version for e in ctx.ws.store.list_environments() if e.name == "raced-env")
    shape = "versions 1-6" if versions == list(range(1, 7)) else f"versions {versions}"
    return Outcome(f"{len(errors)} errors, {shape}", "; ".join(map(repr, errors)))


def conflicting_rest_status(ctx: Context) -> Outcome:
    client = ctx.http()
    run = ctx.run()
    results: list[int] = []

    def post(status: str) -> Callable[[], Any]:
        def call() -> None:
            body = {"status": status, "expected": ["Running"]}
            results.append(
                client.post(f"/api/runs/{run.id}/status", json=body, headers=AUTH).status_code
            )

        return call

    errors = concurrently([post(s) for s in ("Completed", "Failed", "Canceled", "Completed")])
    counts = f"{results.count(200)} x 200, {results.count(409)} x 409"
    return Outcome(counts, "; ".join(repr(e) for e in errors if e is not None))


def rest(method: str, path: str, **kwargs: Any) -> Callable[[Context], httpx.Response]:
    """A request; ``{run}`` in the path is the earlier run's id, ``{exp}`` its
    experiment's."""

    def act(ctx: Context) -> httpx.Response:
        run = ctx.ws.store.get_run(ctx.earlier_run)
        url = path.format(run=run.run_id, exp=run.experiment_id)
        options = dict(kwargs)
        # Reads are open on loopback; every write carries the token.
        headers = {**options.pop("headers", {}), **(AUTH if method != "GET" else {})}
        return ctx.http().request(method, url, headers=headers, **options)

    return act


def raw_json(text: str) -> dict[str, Any]:
    """A body sent as written (JSON with NaN, lone surrogates, or broken on purpose)."""
    return {"content": text.encode(), "headers": {"content-type": "application/json"}}


SURROGATES = (
    "the journal and the store accept str values with lone surrogates (they cannot be "
    "encoded as UTF-8) without a check: check_metric_name / JournalWriter._log_other "
    "(tracking/journal.py, encode with 'surrogatepass') and check_string_map / check_name "
    "(store/sql/validate.py) should refuse them with a ValidationError naming the value"
)

ARGUMENTS = (
    "core/submit.py: arguments were not checked: a NUL or a lone surrogate (what Python "
    "makes of a non-UTF-8 byte in argv) was queued, then the runner crashed ('embedded null "
    "byte') or every JSON read of the run (/api/runs/ID, the run page, the runs list, POST "
    "/api/runs/search) answered 500 for good"
)


def log_list_over_scalars(run: Run) -> None:
    run.log("m", 1.0)
    run.log_list("m", [1, 2])


def missing_database(ctx: Context) -> Any:
    """A tracking_uri to a database that is not there: an error, and nothing created."""
    import json

    path = config_file(ctx)
    config = json.loads(path.read_text())
    config["tracking_uri"] = "sqlite:///typo.db"
    path.write_text(json.dumps(config))
    try:
        return Workspace.from_config(ctx.root).store
    finally:
        created = sorted(p.name for p in path.parent.iterdir() if p.name.startswith("typo"))
        assert not created, f"opening the workspace created {created}"


def numpy_step_then_plain(run: Run) -> None:
    """A refused step must not poison the calls after it (issue 13 item 5)."""
    import numpy as np

    try:
        run.log("a", 1.0, step=np.uint64(2**63))  # type: ignore[arg-type]
    except ValidationError:
        run.log("a", 2.0)
        run.log("b", 3.0)
        got = run.get_metrics()
        assert got["a"] == 2.0 and got["b"] == 3.0, got
        raise
    raise AssertionError("step=np.uint64(2**63) was accepted")


def source_with(ctx: Context, name: str, setup: Callable[[Path], Any]) -> Run:
    folder = ctx.tmp / name
    folder.mkdir()
    (folder / "train.py").write_text("print(1)\n")
    setup(folder)
    return submit(ctx, source_directory=str(folder))


def link_out_of_source(ctx: Context) -> Outcome:
    """A symlink to /etc/passwd is skipped (with a warning), never stored."""
    import warnings

    from runyard.store.snapshots import SnapshotStore

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = source_with(ctx, "linked", lambda f: (f / "x").symlink_to("/etc/passwd"))
    manifest = SnapshotStore(ctx.ws.artifact_root / "snapshots").manifest(
        run.info.definition["snapshot_id"]
    )
    said = "; ".join(str(w.message) for w in caught)
    return Outcome("x not stored" if "x" not in manifest else "x stored", said)


# A table: one row per line group, kept as written (the formatter would spread each
# row over a dozen lines).
# fmt: off
INT64 = (
    "server/api_read.py, api_files.py, schemas.py: whole-number parameters have no upper "
    "bound, so a value beyond 64 bits reaches SQLite or the file API and raises "
    "OverflowError, answered as a 500 (offset of the runs list and children, version of "
    "an environment, offset/length of a file, RunQueryIn.offset, MetricsIn."
    "journal_offset). Fix: le=2**63-1 on each Query/Field (or map OverflowError to "
    "ValidationError in SqlStore._tx)"
)

CATALOGUE: list[BadInput] = [
    # -- Python API: names ------------------------------------------------------------
    BadInput("py-experiment-name-empty", "python", 'Experiment(ws, "")',
             "ValidationError", ("experiment name is empty", "give it a name"),
             lambda c: Experiment(c.ws, "")),
    BadInput("py-experiment-name-huge", "python", "an experiment name of 10,000 characters",
             "ValidationError", ("10000 characters long", "the limit is 255"),
             lambda c: Experiment(c.ws, "e" * 10_000)),
    BadInput("py-experiment-name-control", "python", 'an experiment name with a newline "a\\nb"',
             "ValidationError", ("may only contain letters, digits",),
             lambda c: Experiment(c.ws, "a\nb")),
    BadInput("py-experiment-name-unicode", "python", 'an experiment name "héllo wörld"',
             "ValidationError", ("may only contain letters, digits",),
             lambda c: Experiment(c.ws, "héllo wörld")),
    BadInput("py-experiment-name-type", "python", "Experiment(ws, 42)",
             "ValidationError", ("must be a string, got int",),
             lambda c: Experiment(c.ws, 42)),  # type: ignore[arg-type]
    BadInput("py-experiment-workspace-type", "python", 'Experiment("ws", "x"): a str workspace',
             "ValidationError", ("needs a Workspace, got str", "Workspace.from_config()"),
             lambda c: Experiment("ws", "x")),  # type: ignore[arg-type]
    BadInput("py-experiment-name-250", "python",
             "a valid 250-character experiment name, then start_logging()", "no error", (),
             lambda c: Experiment(c.ws, "e" * 250).start_logging().complete(),
             fixed="store/sql/runs.py create: the generated run id is f'{experiment.name}_"
                 "{int(now)}_{hex8}', so an experiment name of 236-255 characters (valid) "
                 "makes every run fail with 'run id is 270 characters long; the limit is "
                 "255', about an id the user never chose. Fix: cut the name part, e.g. "
                 "experiment.name[:200]"),
    BadInput("py-display-name-huge", "python",
             "start_logging(display_name=<1,000,000 characters>)",
             "ValidationError", ("display name", "limit"),
             lambda c: c.run(display_name="d" * 10**6),
             fixed="store/sql/runs.py create: display_name is not validated (no length limit; "
                 "NUL accepted by SQLite): a 1 MB display name is stored and sent with every "
                 "runs list. Fix: check it like a name in store/sql/validate.py "
                 "(at most 255 characters, no NUL)"),
    # -- Python API: metrics ----------------------------------------------------------
    BadInput("py-metric-name-empty", "python", 'run.log("", 1.0)',
             "ValidationError", ("metric name is empty", "such as 'loss'"),
             lambda c: c.run().log("", 1.0)),
    BadInput("py-metric-name-huge", "python", "a metric name of 10,000 characters",
             "ValidationError", ("10000 characters long", "the limit is 255"),
             lambda c: c.run().log("m" * 10_000, 1.0)),
    BadInput("py-metric-name-control", "python", 'a metric name with NUL "a\\x00b"',
             "ValidationError", ("contains control characters",),
             lambda c: c.run().log("a\x00b", 1.0)),
    BadInput("py-metric-name-type", "python", "run.log(3, 1.0)",
             "MetricTypeError", ("metric name must be a string, got int",),
             lambda c: c.run().log(3, 1.0)),  # type: ignore[arg-type]
    BadInput("py-metric-name-surrogate", "python",
             'a metric name with a lone surrogate "a\\ud800"',
             "ValidationError", ("a\\ud800",),
             lambda c: c.run().log("a\ud800", 1.0),
             fixed=SURROGATES + "; today the name is accepted, then every ingest of the batch "
                 "holding it fails with UnicodeEncodeError: no later point of any metric is "
                 "stored, and flush(), get_metrics() and complete() raise it, so the run "
                 "stays Running"),
    BadInput("py-metric-str-surrogate", "python", 'a str metric value "bad \\udcff"',
             "ValidationError", ("'note'",),
             lambda c: c.run().log("note", "bad \udcff"),
             fixed=SURROGATES),
    BadInput("py-metric-value-list", "python", 'run.log("loss", [1, 2])',
             "MetricTypeError", ("'loss'", "cannot log a value of type list", "log_list"),
             lambda c: c.run().log("loss", [1, 2])),
    BadInput("py-metric-value-none", "python", 'run.log("loss", None)',
             "MetricTypeError", ("'loss'", "NoneType", "log a float, int, bool or str"),
             lambda c: c.run().log("loss", None)),
    BadInput("py-metric-value-complex", "python", 'run.log("loss", 1j)',
             "MetricTypeError", ("'loss'", "complex"),
             lambda c: c.run().log("loss", 1j)),
    BadInput("py-metric-type-switch", "python",
             'run.log("label", "cat"), then run.log("label", 2.0)',
             "MetricTypeError", ("'label'", "was logged as str before", "under another name"),
             lambda c: switch_type(c.run())),
    BadInput("py-metric-str-huge", "python", "a str metric value of 10,000 characters",
             "ValidationError", ("over the limit of 5000", "upload_file"),
             lambda c: c.run().log("note", "x" * 10_000)),
    BadInput("py-step-nan", "python", 'run.log("a", 1.0, step=float("nan"))',
             "MetricTypeError", ("'a'", "step must be an int, got float"),
             lambda c: c.run().log("a", 1.0, step=float("nan"))),  # type: ignore[arg-type]
    BadInput("py-step-inf", "python", 'run.log("a", 1.0, step=float("inf"))',
             "MetricTypeError", ("step must be an int, got float",),
             lambda c: c.run().log("a", 1.0, step=float("inf"))),  # type: ignore[arg-type]
    BadInput("py-step-too-big", "python", 'run.log("a", 1.0, step=2**63)',
             "ValidationError", ("'a'", "does not fit in 64 bits"),
             lambda c: c.run().log("a", 1.0, step=2**63),
             fixed="tracking/journal.py JournalWriter.log: an int step is range-checked only "
                 "when it is not of type int, so step=2**63 reaches struct.pack and raises "
                 "struct.error 'argument out of range' (not a RunyardError; it names neither "
                 "the metric nor the limit). Worse, entry[2] (the next automatic step) is "
                 "already 2**63+1 by then, so every later run.log(name, v) without a step "
                 "fails too. Fix: `elif type(step) is not int or not _INT64_MIN <= step <= "
                 "_INT64_MAX: step = _check_step(name, step)`"),
    BadInput("py-step-numpy-uint64", "python",
             'run.log("a", 1.0, step=np.uint64(2**63)), then plain run.log calls',
             "ValidationError", ("'a'", "does not fit in 64 bits"),
             lambda c: numpy_step_then_plain(c.run()),
             fixed="tracking/journal.py _check_step: a numpy int step was converted with "
                 "__index__ but never range-checked, so np.uint64(2**63) raised a raw "
                 "struct.error and left the next automatic step at 2**63+1: every later "
                 "run.log(name, v) failed with 'does not fit in 64 bits'"),
    BadInput("py-log-list-over-scalars", "python",
             'run.log("m", 1.0), then run.log_list("m", [1, 2])',
             "MetricTypeError", ("'m'", "holds single values", "under another name"),
             lambda c: log_list_over_scalars(c.run()),
             fixed="tracking/journal.py log_record: a record under a scalar metric's name was "
                 "taken, and get_metrics() then showed the record only (the scalars hidden)"),
    BadInput("py-log-list-str", "python", 'run.log_list("l", "abc")',
             "MetricTypeError", ("log_list('l')", "must be a list, got str"),
             lambda c: c.run().log_list("l", "abc")),
    BadInput("py-log-list-nested", "python", 'run.log_list("l", [[1, 2]])',
             "MetricTypeError", ("'l'", "cannot log a value of type list"),
             lambda c: c.run().log_list("l", [[1, 2]])),
    BadInput("py-log-row-empty", "python", 'run.log_row("r"), no columns',
             "ValidationError", ("log_row('r')", "needs column values as keyword arguments"),
             lambda c: c.run().log_row("r")),
    BadInput("py-log-table-uneven", "python", 'run.log_table("t", {"a": [1], "b": [1, 2]})',
             "ValidationError", ("log_table('t')", "columns have different lengths"),
             lambda c: c.run().log_table("t", {"a": [1], "b": [1, 2]})),
    BadInput("py-log-image-missing", "python", 'run.log_image("i", path="missing.png")',
             "ValidationError", ("log_image('i')", "is not a file"),
             lambda c: c.run().log_image("i", path=c.tmp / "missing.png")),
    BadInput("py-log-image-both", "python", "run.log_image with both path= and plot=",
             "ValidationError", ("exactly one of path= or plot=",),
             lambda c: c.run().log_image("i", path="a.png", plot=object())),
    BadInput("py-log-after-complete", "python", "run.log after run.complete()",
             "ConflictError", ("is not being logged by this process", "start_logging()"),
             lambda c: log_after_complete(c.run())),
    # -- Python API: tags, properties, files -----------------------------------------
    BadInput("py-tag-value-huge", "python", "a tag value of 6,000 characters",
             "ValidationError", ("over the limit of 5000",),
             lambda c: c.run().tag("k", "v" * 6000)),
    BadInput("py-tag-name-empty", "python", 'run.tag("", "v")',
             "ValidationError", ("must be a non-empty string of at most 255 characters",),
             lambda c: c.run().tag("", "v")),
    BadInput("py-tag-value-nul", "python", 'run.tag("k", "a\\x00b")',
             "ValidationError", ("'k'", "NUL character"),
             lambda c: c.run().tag("k", "a\x00b")),
    BadInput("py-tag-value-surrogate", "python", 'run.tag("k", "\\udcff")',
             "ValidationError", ("'k'",),
             lambda c: c.run().tag("k", "\udcff"),
             fixed=SURROGATES + "; today run.tag raises a bare UnicodeEncodeError from the "
                 "database driver"),
    BadInput("py-tags-not-mapping", "python", 'run.set_tags([("a", "b")])',
             "ValidationError", ("must be given as a dict",),
             lambda c: c.run().set_tags([("a", "b")])),  # type: ignore[arg-type]
    BadInput("py-property-changed", "python", "add_properties({'p': '1'}), then {'p': '2'}",
             "ConflictError", ("properties are add-only", "'p'", "use a tag"),
             lambda c: change_property(c.run())),
    BadInput("py-upload-missing", "python", 'run.upload_file("outputs/x", "missing")',
             "ValidationError", ("upload_file('outputs/x')", "is not a file"),
             lambda c: c.run().upload_file("outputs/x", c.tmp / "missing")),
    BadInput("py-upload-escape", "python", 'run.upload_file("../../escape.txt", file)',
             "ValidationError", ("must be relative and stay inside the run's folder",),
             lambda c: c.run().upload_file("../../escape.txt", write(c, "f.txt", "x"))),
    BadInput("py-upload-absolute", "python", 'run.upload_file("/etc/x", file)',
             "ValidationError", ("'/etc/x'", "must be relative"),
             lambda c: c.run().upload_file("/etc/x", write(c, "f.txt", "x"))),
    BadInput("py-download-unknown", "python", 'run.download_file("nope.txt")',
             "ArtifactNotFoundError", ("has no file 'nope.txt'",),
             lambda c: Run.get(c.ws, c.earlier_run).download_file("nope.txt", c.tmp / "o")),
    BadInput("py-run-unknown", "python", 'Run.get(ws, "nope")',
             "RunNotFoundError", ("no run with id 'nope'",),
             lambda c: Run.get(c.ws, "nope")),
    BadInput("py-run-id-traversal", "python", 'Run.get(ws, "../../etc/passwd")',
             "RunNotFoundError", ("no run with id",),
             lambda c: Run.get(c.ws, "../../etc/passwd")),
    # -- Python API: submitting ------------------------------------------------------
    BadInput("py-submit-no-source-dir", "python", "ScriptRunConfig(source_directory=<missing>)",
             "ValidationError", ("is not a folder", "point it at the folder"),
             lambda c: submit(c, source_directory=str(c.tmp / "missing"))),
    BadInput("py-submit-no-script", "python", 'script="nope.py", not in source_directory',
             "ValidationError", ("'nope.py' was not found", "relative to source_directory"),
             lambda c: submit(c, script="nope.py")),
    BadInput("py-submit-script-outside", "python", 'script="../outside.py"',
             "ValidationError", ("must be inside source_directory",),
             lambda c: submit(c, script="../outside.py")),
    BadInput("py-submit-unknown-compute", "python", 'compute_target="gpu-cluster", never created',
             "ComputeTargetNotFoundError",
             ("'gpu-cluster' does not exist", "runyard compute create gpu-cluster"),
             lambda c: submit(c, compute_target="gpu-cluster")),
    BadInput("py-config-no-script", "python", "ScriptRunConfig(source_directory='.')",
             "ValidationError", ("needs script=", "script='train.py'"),
             lambda c: ScriptRunConfig(source_directory=".")),
    BadInput("py-config-arguments-str", "python", 'arguments="--epochs 2", a str',
             "ValidationError", ("arguments must be a list", "['--epochs', 2]"),
             lambda c: ScriptRunConfig(script="t.py", arguments="--epochs 2")),
    BadInput("py-config-duration-inf", "python", 'max_run_duration_seconds=float("inf")',
             "ValidationError", ("max_run_duration_seconds must be a positive whole number",),
             lambda c: ScriptRunConfig(script="t.py",
                                       max_run_duration_seconds=float("inf"))),  # type: ignore[arg-type]
    BadInput("py-config-duration-nan", "python", 'max_run_duration_seconds=float("nan")',
             "ValidationError", ("max_run_duration_seconds must be a positive whole number",),
             lambda c: ScriptRunConfig(script="t.py",
                                       max_run_duration_seconds=float("nan"))),  # type: ignore[arg-type]
    BadInput("py-config-env-var-nul", "python",
             'environment_variables={"B": "a\\x00b"} (a NUL in a value)',
             "ValidationError", ("'B'", "NUL"),
             lambda c: submit(c, compute_target="pool", environment_variables={"B": "a\x00b"}),
             fixed="core/script_run_config.py ScriptRunConfig / core/submit.py: environment "
                 "variables are not checked (a NUL in a name or value, '=' or nothing as a "
                 "name): the run is queued, then its runner crashes and the run ends Failed "
                 "with 'runner crashed: ValueError: embedded null byte' (or 'illegal "
                 "environment variable name'), naming neither the variable nor the fix. "
                 "Fix: check names and values when the ScriptRunConfig is made"),
    BadInput("py-submit-argument-nul", "python", 'arguments=["a\\x00b"] (a NUL)',
             "ValidationError", ("argument 1", "NUL character"),
             lambda c: submit(c, arguments=["a\x00b"]), fixed=ARGUMENTS),
    BadInput("py-submit-argument-surrogate", "python", 'arguments=["\\udcff"] (a lone surrogate)',
             "ValidationError", ("argument 1", "not valid UTF-8"),
             lambda c: submit(c, arguments=["\udcff"]), fixed=ARGUMENTS),
    BadInput("py-submit-script-link-loop", "python", "train.py is a symlink to itself",
             "ValidationError", ("'train.py' cannot be resolved", "Symlink loop"),
             lambda c: source_with(c, "loop", lambda f: ((f / "train.py").unlink(),
                                                         (f / "train.py").symlink_to("train.py"))),
             fixed="core/submit.py prepare: Path.resolve() raised a raw RuntimeError"),
    BadInput("py-submit-ignore-everything", "python", "a .runyardignore holding '*'",
             "ValidationError", ("'train.py' is left out of the snapshot", "Remove the rule"),
             lambda c: source_with(c, "ignored",
                                   lambda f: (f / ".runyardignore").write_text("*\n")),
             fixed="core/submit.py prepare: the run was queued with an empty snapshot and "
                 "failed at start"),
    BadInput("py-submit-name-not-utf8", "python", "a file named b'bad\\xff.txt' in the source",
             "ValidationError", ("is not UTF-8", "bad\\xff.txt", "rename it"),
             lambda c: source_with(c, "bytes", lambda f: (f / os.fsdecode(b"bad\xff.txt"))
                                   .write_text("x")),
             fixed="store/source_walk.py: the name reached the manifest's UTF-8 encode: a raw "
                 "UnicodeEncodeError"),
    BadInput("py-submit-link-out-of-source", "python", "src/x -> /etc/passwd",
             "x not stored", ("skipped", "/etc/passwd", "outside"),
             link_out_of_source,
             fixed="store/source_walk.py: a symlinked file was followed wherever it led, so "
                 "/etc/passwd's content was stored and served at /api/snapshots/ID/files/x"),
    BadInput("py-config-duration-zero", "python", "max_run_duration_seconds=0",
             "ValidationError", ("max_run_duration_seconds must be a positive whole number",),
             lambda c: ScriptRunConfig(script="t.py", max_run_duration_seconds=0)),
    BadInput("py-snapshot-too-many-files", "python",
             "a source folder over the snapshot file limit (RUNYARD_SNAPSHOT_MAX_FILES=3)",
             "SnapshotTooLargeError", ("over the limit of 3 files", "Fix:", ".runyardignore"),
             lambda c: snapshot_over_limit(c)),
    BadInput("py-snapshot-limit-env-bad", "python", "RUNYARD_SNAPSHOT_MAX_BYTES=lots",
             "ValidationError", ("RUNYARD_SNAPSHOT_MAX_BYTES='lots' is not a whole number",),
             lambda c: with_env(c, "RUNYARD_SNAPSHOT_MAX_BYTES", "lots")),
    BadInput("py-workspace-on-file", "python", "Workspace.create(<a file>)",
             "ConfigError", ("is a file; give a folder",),
             lambda c: Workspace.create(write(c, "afile", "x"))),
    BadInput("py-workspace-name-bad", "python", 'Workspace.create(path, name="my workspace!")',
             "ConfigError", ("workspace name 'my workspace!' may only contain",),
             lambda c: Workspace.create(c.tmp / "ws2", name="my workspace!")),
    BadInput("py-workspace-not-found", "python", "Workspace.from_config(<a folder without one>)",
             "WorkspaceNotFoundError", ("no workspace found", "runyard init"),
             lambda c: Workspace.from_config(c.tmp)),
    BadInput("py-tracking-uri-unsupported", "python", 'tracking_uri="mysql://db/x"',
             "ConfigError", ("unsupported tracking URI 'mysql://db/x'", "sqlite:///PATH"),
             lambda c: Workspace.create(c.tmp / "ws3", tracking_uri="mysql://db/x")),
    BadInput("py-tracking-uri-unreachable", "python",
             'tracking_uri="postgresql://u@127.0.0.1:1/db", nobody listening',
             "StoreError", ("Connection refused", "check that the database server is running"),
             lambda c: Workspace.create(c.tmp / "ws4",
                                        tracking_uri="postgresql://u@127.0.0.1:1/db")),
    # -- concurrent conflicting calls ------------------------------------------------
    BadInput("py-concurrent-properties", "python",
             "two threads set one property to different values at the same moment",
             "one ConflictError", ("properties are add-only",),
             conflicting_properties),
    BadInput("py-concurrent-status", "python",
             "two threads move one Running run to Completed and to Failed at once",
             "one ConflictError", ("already", "a finished run never changes status"),
             conflicting_status),
    BadInput("py-concurrent-experiment", "python",
             "8 threads create the same experiment at once",
             "0 errors, 1 experiment", (),
             same_experiment_at_once),
    BadInput("py-concurrent-environment", "python",
             "6 threads register 6 different specs under one environment name at once",
             "0 errors, versions 1-6", (),
             same_environment_at_once),
    # -- config files ----------------------------------------------------------------
    BadInput("cfg-tracking-uri-missing-db", "config",
             'tracking_uri="sqlite:///typo.db", a database that does not exist',
             "WorkspaceNotFoundError", ("typo.db does not exist", "runyard init"),
             missing_database, changes_config=True,
             fixed="opening the store created an empty database (and a lock file) for any "
                 "SQLite path: a typo in tracking_uri silently gave an empty workspace. Only "
                 "Workspace.create (runyard init) creates a store now"),
    BadInput("cfg-missing", "config", ".runyard/config.json deleted",
             "WorkspaceNotFoundError", ("no workspace found", "runyard init"),
             without_config, changes_config=True),
    BadInput("cfg-not-json", "config", "config.json holding '{not json'",
             "ConfigError", ("is not valid JSON", "line 1 column 2", "runyard init --force"),
             with_config("{not json"), changes_config=True),
    BadInput("cfg-not-utf8", "config", "config.json holding bytes that are not UTF-8",
             "ConfigError", ("cannot read", "config.json"),
             with_config(b"\xff\xfe\x00{"), changes_config=True),
    BadInput("cfg-empty", "config", "an empty config.json",
             "ConfigError", ("is not valid JSON", "runyard init --force"),
             with_config(""), changes_config=True),
    BadInput("cfg-is-folder", "config", "config.json is a folder",
             "WorkspaceNotFoundError", ("no workspace found",),
             config_is_folder, changes_config=True),
    BadInput("cfg-list", "config", "config.json holding a JSON list",
             "ConfigError", ("expected a JSON object, got list",),
             with_config("[1, 2]"), changes_config=True),
    BadInput("cfg-keys-missing", "config", "config.json holding {}",
             "ConfigError", ("missing name, tracking_uri, artifact_root", "runyard init"),
             with_config("{}"), changes_config=True),
    BadInput("cfg-tracking-uri-empty", "config", 'tracking_uri: ""',
             "ConfigError", ("'tracking_uri' must be a non-empty string",),
             with_config('{"name": "w", "tracking_uri": "", "artifact_root": "artifacts"}'),
             changes_config=True),
    BadInput("cfg-slots-nan", "config", "max_concurrent_runs: NaN",
             "ConfigError", ("max_concurrent_runs must be an integer >= 1",),
             with_config('{"name": "w", "tracking_uri": "sqlite:///runyard.db", '
                         '"artifact_root": "a", "compute_targets": '
                         '{"pool": {"type": "local", "max_concurrent_runs": NaN}}}'),
             changes_config=True),
    BadInput("cfg-slots-string", "config", 'max_concurrent_runs: "2"',
             "ConfigError", ("max_concurrent_runs must be an integer >= 1",),
             with_config('{"name": "w", "tracking_uri": "sqlite:///runyard.db", '
                         '"artifact_root": "a", "compute_targets": '
                         '{"pool": {"type": "local", "max_concurrent_runs": "2"}}}'),
             changes_config=True),
    BadInput("cfg-compute-type", "config", 'a compute target of type "k8s"',
             "ConfigError", ("has type 'k8s'", "use 'local' or 'ray'"),
             with_config('{"name": "w", "tracking_uri": "sqlite:///runyard.db", '
                         '"artifact_root": "a", "compute_targets": {"pool": {"type": "k8s"}}}'),
             changes_config=True),
    BadInput("cfg-ray-no-address", "config", "a ray compute target without an address",
             "ConfigError", ("needs an 'address'", "http://127.0.0.1:8265"),
             with_config('{"name": "w", "tracking_uri": "sqlite:///runyard.db", '
                         '"artifact_root": "a", "compute_targets": {"ray": {"type": "ray"}}}'),
             changes_config=True),
    BadInput("cfg-studio-url-type", "config", "studio_url: 8765, a number",
             "ConfigError", ("'studio_url' must be a string",),
             with_config('{"name": "w", "tracking_uri": "sqlite:///runyard.db", '
                         '"artifact_root": "a", "studio_url": 8765}'),
             changes_config=True),
    # -- environment specs -----------------------------------------------------------
    BadInput("env-name-bad", "environment", 'Environment("my env")',
             "ConfigError", ("environment name 'my env' may only contain",),
             lambda c: Environment("my env")),
    BadInput("env-unknown", "environment", 'Environment.get(ws, "nope")',
             "EnvironmentNotFoundError",
             ("no registered environment 'nope'", "Environment.list(ws)"),
             lambda c: Environment.get(c.ws, "nope")),
    BadInput("env-reserved-name", "environment", 'registering "Runyard-mine", a curated prefix',
             "ValidationError", ("is reserved", "set env.name to another name"),
             lambda c: Environment("Runyard-mine").register(c.ws)),
    BadInput("env-variables-not-str", "environment", 'environment_variables = {"A": 5}',
             "ValidationError", ("must map strings to strings", "str()"),
             lambda c: env_with(variables={"A": 5}).to_spec()),
    BadInput("env-python-version", "environment", 'python_version = "banana"',
             "ValidationError", ("python version 'banana' is not understood", "'3.11'"),
             lambda c: env_with(python="banana").to_spec()),
    BadInput("env-requirements-missing", "environment", "a requirements file that does not exist",
             "ValidationError", ("requirements file", "does not exist"),
             lambda c: Environment.from_pip_requirements("e", c.tmp / "missing.txt")),
    BadInput("env-requirements-not-utf8", "environment", "a requirements file that is not UTF-8",
             "ValidationError", ("cannot read requirements file",),
             lambda c: Environment.from_pip_requirements(
                 "e", write(c, "r.txt", b"\xff\xfe\x00x"))),
    BadInput("env-requirements-editable", "environment", "a requirements line '-e .'",
             "ValidationError",
             (":2:", "editable install '-e .' is not supported", "name @ URL"),
             lambda c: Environment.from_pip_requirements("e", write(c, "r.txt", "numpy\n-e .\n"))),
    BadInput("env-requirements-loop", "environment", "a requirements file that includes itself",
             "ValidationError", ("more than 10 levels deep", "'-r' loop"),
             lambda c: Environment.from_pip_requirements("e", write(c, "r.txt", "-r r.txt\n"))),
    BadInput("env-requirements-bad-version", "environment", "a requirement 'numpy>=>1'",
             "ValidationError", (":1:", "'numpy>=>1'", "'==1.2'"),
             lambda c: Environment.from_pip_requirements("e", write(c, "r.txt", "numpy>=>1\n"))),
    BadInput("env-conda-missing", "environment", "a conda file that does not exist",
             "ValidationError", ("conda file", "does not exist"),
             lambda c: Environment.from_conda_specification("e", c.tmp / "missing.yml")),
    BadInput("env-conda-bad-yaml", "environment", "a conda file that is not valid YAML",
             "ValidationError", ("is not valid YAML at line 2", "Expected keys"),
             lambda c: Environment.from_conda_specification(
                 "e", write(c, "e.yml", "name: x\n  bad: [\n"))),
    BadInput("env-conda-unknown-key", "environment", "a conda file with a key 'foo'",
             "ValidationError", ("unknown key(s) 'foo'", "Expected keys"),
             lambda c: Environment.from_conda_specification(
                 "e", write(c, "e.yml", "name: x\nfoo: 1\n"))),
    BadInput("env-conda-pip-entry", "environment", "a conda file whose pip list holds 5",
             "ValidationError", ("pip entry 5 must be a requirement string",),
             lambda c: Environment.from_conda_specification(
                 "e", write(c, "e.yml", "dependencies:\n  - python=3.11\n  - pip: [5]\n"))),
    BadInput("env-conda-variables", "environment", "a conda file whose variables are a list",
             "ValidationError", ("'variables' must be a mapping",),
             lambda c: Environment.from_conda_specification(
                 "e", write(c, "e.yml", "variables: [a]\n"))),
    # -- the CLI ---------------------------------------------------------------------
    BadInput("cli-runs-show-unknown", "cli", "runyard runs show nope",
             "exit 1", ("error: no run with id 'nope'",),
             lambda c: c.cli("runs", "show", "nope")),
    BadInput("cli-runs-list-unknown-experiment", "cli",
             "runyard runs list --experiment missing",
             "exit 1", ("no experiment named 'missing'", "runyard experiments list"),
             lambda c: c.cli("runs", "list", "--experiment", "missing")),
    BadInput("cli-runs-list-bad-status", "cli", "runyard runs list --status sleeping",
             "exit 1", ("unknown run status 'sleeping'", "expected one of"),
             lambda c: c.cli("runs", "list", "--status", "sleeping")),
    BadInput("cli-runs-list-bad-tag", "cli", "runyard runs list --tag novalue",
             "exit 1", ("--tag 'novalue' must look like KEY=VALUE",),
             lambda c: c.cli("runs", "list", "--tag", "novalue")),
    BadInput("cli-runs-list-bad-sort", "cli", "runyard runs list --sort bogus",
             "exit 1", ("cannot sort runs by 'bogus'", "metric:NAME"),
             lambda c: c.cli("runs", "list", "--sort", "bogus")),
    BadInput("cli-runs-list-limit-zero", "cli", "runyard runs list --limit 0",
             "exit 2", ("Invalid value for '--limit'",),
             lambda c: c.cli("runs", "list", "--limit", "0")),
    BadInput("cli-runs-metrics-format", "cli", "runyard runs metrics ID --format xml",
             "exit 2", ("Invalid value for '--format'", "'csv', 'json'"),
             lambda c: c.cli("runs", "metrics", c.earlier_run, "--format", "xml")),
    BadInput("cli-runs-cancel-unknown", "cli", "runyard runs cancel nope",
             "exit 1", ("no run with id 'nope'",),
             lambda c: c.cli("runs", "cancel", "nope")),
    BadInput("cli-submit-missing-script", "cli", "runyard submit nope.py -e x --source-dir src",
             "exit 1", ("'nope.py' was not found", "relative to source_directory"),
             lambda c: c.cli("submit", "nope.py", "-e", "x", "--source-dir", str(c.src))),
    BadInput("cli-submit-bad-experiment", "cli", "runyard submit train.py -e 'bad name!'",
             "exit 1", ("experiment name 'bad name!' may only contain",),
             lambda c: c.cli("submit", "train.py", "-e", "bad name!", "--source-dir", str(c.src))),
    BadInput("cli-submit-negative-duration", "cli", "runyard submit ... --max-duration -5",
             "exit 1", ("max_run_duration_seconds must be a positive whole number",),
             lambda c: c.cli("submit", "train.py", "-e", "x", "--source-dir", str(c.src),
                             "--max-duration", "-5")),
    BadInput("cli-submit-unknown-environment", "cli", "runyard submit ... --environment nope",
             "exit 1", ("no registered environment 'nope'",),
             lambda c: c.cli("submit", "train.py", "-e", "x", "--source-dir", str(c.src),
                             "--environment", "nope")),
    BadInput("cli-compute-bad-name", "cli", "runyard compute create 'bad name!'",
             "exit 1", ("compute target name 'bad name!' may only contain",),
             lambda c: c.cli("compute", "create", "bad name!")),
    BadInput("cli-compute-ray-no-address", "cli", "runyard compute create r --type ray",
             "exit 2", ("--type ray needs --address",),
             lambda c: c.cli("compute", "create", "r", "--type", "ray")),
    BadInput("cli-no-workspace", "cli", "runyard -w <empty folder> runs list",
             "exit 1", ("no workspace found", "runyard init"),
             lambda c: c.cli("-w", str(c.tmp), "runs", "list")),
    BadInput("cli-init-on-file", "cli", "runyard init <a file>",
             "exit 2", ("is a file",),
             lambda c: c.cli("init", str(write(c, "afile", "x")))),
    BadInput("cli-studio-open-bind", "cli", "runyard studio --host 0.0.0.0, no token",
             "exit 1",
             ("refusing to serve the studio on '0.0.0.0' without an access token", "--token"),
             lambda c: c.cli("studio", "--host", "0.0.0.0")),
    BadInput("cli-submit-argument-not-utf8", "cli", "runyard submit train.py $'\\xff'",
             "exit 1", ("argument", "not valid UTF-8"),
             lambda c: c.cli("submit", "train.py", "-e", "x", "--source-dir", str(c.src),
                             "\udcff"),
             fixed="core/submit.py: the byte was stored as a lone surrogate and every JSON "
                 "read of the run answered 500 for good"),
    BadInput("cli-studio-weak-token", "cli", "runyard studio --host 0.0.0.0 --token a",
             "exit 1", ("1-character access token", "at least 16"),
             lambda c: c.cli("studio", "--host", "0.0.0.0", "--token", "a"),
             fixed="server/binding.py check_bind: any non-empty token passed for an open "
                 "address"),
    # -- the REST API ----------------------------------------------------------------
    BadInput("rest-run-unknown", "rest", "GET /api/runs/nope",
             "HTTP 404 RunNotFoundError", ("no run with id 'nope'",),
             rest("GET", "/api/runs/nope")),
    BadInput("rest-experiment-unknown", "rest", "GET /api/experiments/nope",
             "HTTP 404 ExperimentNotFoundError", ("'nope'",),
             rest("GET", "/api/experiments/nope")),
    BadInput("rest-route-unknown", "rest", "GET /api/nope",
             "HTTP 404 NotFoundError", ("no such page or endpoint: /api/nope",),
             rest("GET", "/api/nope")),
    BadInput("rest-method", "rest", "DELETE /api/runs/{run}",
             "HTTP 405 MethodNotAllowed", ("Method Not Allowed",),
             rest("DELETE", "/api/runs/{run}")),
    BadInput("rest-json-broken", "rest", "POST /api/experiments with the body '{bad'",
             "HTTP 400 ValidationError", ("JSON decode error",),
             rest("POST", "/api/experiments", **raw_json("{bad"))),
    BadInput("rest-field-type", "rest", 'POST /api/experiments {"name": 5}',
             "HTTP 400 ValidationError", ("name: Input should be a valid string",),
             rest("POST", "/api/experiments", json={"name": 5})),
    BadInput("rest-field-missing", "rest", "POST /api/experiments {}",
             "HTTP 400 ValidationError", ("name: Field required",),
             rest("POST", "/api/experiments", json={})),
    BadInput("rest-field-unknown", "rest", 'POST /api/experiments {"name": "x", "colour": 1}',
             "HTTP 400 ValidationError", ("colour: Extra inputs are not permitted",),
             rest("POST", "/api/experiments", json={"name": "x", "colour": 1})),
    BadInput("rest-name-huge", "rest", "POST /api/experiments, a 100,000-character name",
             "HTTP 400 ValidationError", ("the limit is 255",),
             rest("POST", "/api/experiments", json={"name": "n" * 100_000})),
    BadInput("rest-name-markup", "rest", 'POST /api/experiments {"name": "<script>é"}',
             "HTTP 400 ValidationError", ("may only contain letters, digits",),
             rest("POST", "/api/experiments", json={"name": "<script>é"})),
    BadInput("rest-no-token", "rest", "POST /api/experiments without a token",
             "HTTP 401 AuthError", ("no access token", "Authorization: Bearer <token>"),
             lambda c: c.http().post("/api/experiments", json={"name": "x"})),
    BadInput("rest-wrong-token", "rest", "POST /api/experiments with a wrong token",
             "HTTP 401 AuthError", ("a wrong access token",),
             lambda c: c.http().post("/api/experiments", json={"name": "x"},
                                     headers={"Authorization": "Bearer nope"})),
    BadInput("rest-status-unknown", "rest", 'POST /api/runs/{run}/status {"status": "Sleeping"}',
             "HTTP 400 ValidationError", ("unknown run status 'Sleeping'",),
             rest("POST", "/api/runs/{run}/status", json={"status": "Sleeping"})),
    BadInput("rest-status-reopen", "rest", "moving a Completed run back to Running",
             "HTTP 409 ConflictError", ("is Completed already", "never changes status"),
             rest("POST", "/api/runs/{run}/status", json={"status": "Running"})),
    BadInput("rest-run-id-taken", "rest", "POST /api/runs with the id of an existing run",
             "HTTP 409 ConflictError", ("exists already", "pick another id"),
             lambda c: rest("POST", "/api/runs", json={
                 "experiment_id": c.ws.store.get_run(c.earlier_run).experiment_id,
                 "kind": "interactive", "status": "Running", "run_id": c.earlier_run})(c)),
    BadInput("rest-metrics-lengths", "rest", "a metrics batch with 2 steps and 1 value",
             "HTTP 400 ValidationError", ("must be equally long",),
             rest("POST", "/api/runs/{run}/metrics", json={"columns": [
                 {"key": "z", "value_type": "float", "steps": [0, 1],
                  "timestamps": [1.0, 2.0], "values": [1.0]}]})),
    BadInput("rest-metrics-type-switch", "rest", "str values for the float metric 'loss'",
             "HTTP 400 MetricTypeError", ("'loss' holds float values", "another metric name"),
             rest("POST", "/api/runs/{run}/metrics", json={"columns": [
                 {"key": "loss", "value_type": "str", "steps": [5000],
                  "timestamps": [1.0], "values": ["high"]}]})),
    BadInput("rest-metrics-step-inf", "rest", "a metrics batch with the step 1e400 (infinite)",
             "HTTP 400 ValidationError", ("steps.0", "finite number"),
             rest("POST", "/api/runs/{run}/metrics", **raw_json(
                 '{"columns": [{"key": "z", "value_type": "float", "steps": [1e400], '
                 '"timestamps": [1.0], "values": [1.0]}]}'))),
    BadInput("rest-metrics-timestamp-nan", "rest", "a metrics batch with the timestamp NaN",
             "HTTP 400 ValidationError", ("timestamps",),
             rest("POST", "/api/runs/{run}/metrics", **raw_json(
                 '{"columns": [{"key": "z", "value_type": "float", "steps": [0], '
                 '"timestamps": [NaN], "values": [1.0]}]}')),
             fixed="server/schemas.py ColumnsIn.timestamps (list[float]) accepts NaN and "
                 "Infinity, and the store then fails on them: the answer is 409 "
                 "ConflictError 'could not append metrics: NOT NULL constraint failed: "
                 "metric_blocks.time_min' (a conflict, with SQL in it) instead of a 400 "
                 "naming the timestamps. Fix: list[FiniteFloat] in ColumnsIn and a finite "
                 "check in store/sql/blocks.normalize"),
    BadInput("rest-metric-key-surrogate", "rest", 'a metrics batch for the key "\\ud800"',
             "HTTP 400 ValidationError", ("metric",),
             rest("POST", "/api/runs/{run}/metrics", **raw_json(
                 '{"columns": [{"key": "\\ud800", "value_type": "float", "steps": [0], '
                 '"timestamps": [1.0], "values": [1.0]}]}')),
             fixed=SURROGATES + "; over REST the UnicodeEncodeError becomes a 500"),
    BadInput("rest-tag-surrogate", "rest", 'PATCH /api/runs/{run}/tags {"k": "\\ud800"}',
             "HTTP 400 ValidationError", ("'k'",),
             rest("PATCH", "/api/runs/{run}/tags", **raw_json('{"tags": {"k": "\\ud800"}}')),
             fixed=SURROGATES + "; over REST the UnicodeEncodeError becomes a 500"),
    BadInput("rest-tag-nul", "rest", 'PATCH /api/runs/{run}/tags {"k": "a\\u0000b"}',
             "HTTP 400 ValidationError", ("'k' has a value with a NUL character",),
             rest("PATCH", "/api/runs/{run}/tags", json={"tags": {"k": "a\x00b"}})),
    BadInput("rest-offset-beyond-int64", "rest", "GET /api/experiments/{exp}/runs?offset=2**70",
             "HTTP 400 ValidationError", ("offset",),
             rest("GET", "/api/experiments/{exp}/runs?offset=" + str(2**70)), fixed=INT64),
    BadInput("rest-version-beyond-int64", "rest", "GET /api/environments/earlier-env?version=2**70",
             "HTTP 400 ValidationError", ("version",),
             rest("GET", "/api/environments/earlier-env?version=" + str(2**70)), fixed=INT64),
    BadInput("rest-file-offset-beyond-int64", "rest",
             "GET /api/runs/{run}/files/outputs/weights.bin?offset=2**70",
             "HTTP 400 ValidationError", ("offset",),
             rest("GET", "/api/runs/{run}/files/outputs/weights.bin?offset=" + str(2**70)),
             fixed=INT64),
    BadInput("rest-search-offset-beyond-int64", "rest", 'POST /api/runs/search {"offset": 2**70}',
             "HTTP 400 ValidationError", ("offset",),
             rest("POST", "/api/runs/search", json={"offset": 2**70}), fixed=INT64),
    BadInput("rest-journal-offset-beyond-int64", "rest",
             'POST /api/runs/{run}/metrics {"journal_offset": 2**70}',
             "HTTP 400 ValidationError", ("journal_offset",),
             rest("POST", "/api/runs/{run}/metrics", json={"journal_offset": 2**70}), fixed=INT64),
    BadInput("rest-max-points-inf", "rest", "GET .../metrics/loss?max_points=inf",
             "HTTP 400 ValidationError", ("max_points", "valid integer"),
             rest("GET", "/api/runs/{run}/metrics/loss?max_points=inf")),
    BadInput("rest-limit-negative", "rest", "GET /api/experiments/{exp}/runs?limit=-1",
             "HTTP 400 ValidationError", ("limit", "greater than or equal to 0"),
             rest("GET", "/api/experiments/{exp}/runs?limit=-1")),
    BadInput("rest-order-bad", "rest", "GET /api/experiments/{exp}/runs?order=sideways",
             "HTTP 400 ValidationError", ("order must be 'asc' or 'desc'",),
             rest("GET", "/api/experiments/{exp}/runs?order=sideways")),
    BadInput("rest-sort-bad", "rest", "GET /api/experiments/{exp}/runs?sort=metric:",
             "HTTP 400 ValidationError", ("names no metric", "metric:NAME"),
             rest("GET", "/api/experiments/{exp}/runs?sort=metric:")),
    BadInput("rest-tag-filter-bad", "rest", "GET /api/experiments/{exp}/runs?tag=novalue",
             "HTTP 400 ValidationError", ("must look like key:value",),
             rest("GET", "/api/experiments/{exp}/runs?tag=novalue")),
    BadInput("rest-search-limit", "rest", 'POST /api/runs/search {"limit": 10**9}',
             "HTTP 400 ValidationError", ("limit", "100000"),
             rest("POST", "/api/runs/search", json={"limit": 10**9})),
    BadInput("rest-claim-zero", "rest", 'POST /api/compute/pool/claim {"max_concurrent": 0}',
             "HTTP 400 ValidationError", ("max_concurrent", "greater than or equal to 1"),
             rest("POST", "/api/compute/pool/claim", json={"max_concurrent": 0})),
    BadInput("rest-file-traversal", "rest", "GET /api/runs/{run}/files/..%2F..%2Fconfig.json",
             "HTTP 400 ValidationError", ("must be relative and stay inside",),
             rest("GET", "/api/runs/{run}/files/..%2F..%2Fconfig.json")),
    BadInput("rest-file-unknown", "rest", "GET /api/runs/{run}/files/nope.txt",
             "HTTP 404 ArtifactNotFoundError", ("has no file 'nope.txt'",),
             rest("GET", "/api/runs/{run}/files/nope.txt")),
    BadInput("rest-append-without-flag", "rest", "POST /api/runs/{run}/files/log.txt, no ?append=1",
             "HTTP 400 ValidationError", ("needs ?append=1", "use PUT to upload"),
             rest("POST", "/api/runs/{run}/files/log.txt", content=b"x")),
    BadInput("rest-blob-mismatch", "rest", "PUT /api/blobs/<the sha256 of other bytes>",
             "HTTP 400 ValidationError", ("blob content hashes to",),
             rest("PUT", "/api/blobs/" + "a" * 64, content=b"x")),
    BadInput("rest-snapshot-id-bad", "rest", "GET /api/snapshots/nothex",
             "HTTP 400 ValidationError", ("is not a sha256 hex digest",),
             rest("GET", "/api/snapshots/nothex")),
    BadInput("rest-stream-since-bad", "rest", "GET /api/runs/{run}/stream?since=notjson",
             "HTTP 400 ValidationError", ("'since' must be a JSON object",),
             rest("GET", "/api/runs/{run}/stream?since=notjson")),
    BadInput("rest-concurrent-status", "rest",
             "4 concurrent POST .../status from Running, compare-and-set",
             "1 x 200, 3 x 409", (),
             conflicting_rest_status),
]
# fmt: on


def env_with(*, variables: dict[str, Any] | None = None, python: str | None = None) -> Environment:
    env = Environment("bad-input-env")
    if variables is not None:
        env.environment_variables = variables
    if python is not None:
        env.python.conda_dependencies.python_version = python
    return env


def with_env(ctx: Context, name: str, value: str) -> Any:
    import os

    old = os.environ.get(name)
    os.environ[name] = value
    try:
        return submit(ctx)
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def snapshot_over_limit(ctx: Context) -> Any:
    folder = ctx.tmp / "big-src"
    folder.mkdir()
    (folder / "train.py").write_text("print(1)\n")
    for i in range(5):
        (folder / f"data{i}.csv").write_text("1,2\n")
    import os

    os.environ["RUNYARD_SNAPSHOT_MAX_FILES"] = "3"
    try:
        return submit(ctx, source_directory=str(folder))
    finally:
        os.environ.pop("RUNYARD_SNAPSHOT_MAX_FILES", None)


def python_cli(root: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``runyard -w ROOT ARGS`` in a real process (a leading ``-w`` overrides ROOT)."""
    prefix = [] if args and args[0] == "-w" else ["-w", str(root)]
    return subprocess.run(
        [sys.executable, "-m", "runyard.cli", *prefix, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
