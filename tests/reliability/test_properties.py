"""Properties and fuzzing: the journal's encoder and decoders, the snapshot ignore
rules (against git itself), and the REST API (schemathesis, against the OpenAPI schema
the studio serves, on a real server on 127.0.0.1).

tests/test_journal.py already covers a plain round trip and truncation of float and
str records; these add what it lacks: every record kind with explicit steps, the bulk
(numpy) decoder against the plain one, decoding in arbitrary pieces as ingest reads the
file, and a writer that reopens a journal torn at any offset.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from runyard.store.snapshots import SnapshotStore
from runyard.tracking.decode import decode
from runyard.tracking.journal import KIND_NUMBER, KIND_RECORD, KIND_STRING, JournalWriter
from runyard.tracking.journal_reader import DecodeState, Record, iter_records
from tests.reliability.harness import record

# -- the journal -----------------------------------------------------------------------

NAMES = st.sampled_from(["loss", "acc", "lr", "métrique/ü", "a" * 255, "x y"])
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
)
TEXT = st.text(
    st.characters(codec="utf-8"),  # no lone surrogates: those are a bad_inputs.py row
    max_size=60,
)
JSONABLE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=10,
)
# Room at the top for the automatic steps that follow (a step past 64 bits is refused,
# see the bad-input catalogue).
STEPS = st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1_000)

# One call on a writer: ("num", name, value, step), ("str", name, text, step) or
# ("rec", name, payload). Numbers and text use different names, as a metric keeps its
# type (switching is refused, and tested in bad_inputs.py).
CALLS = st.lists(
    st.one_of(
        st.tuples(st.just("num"), NAMES, NUMBERS, STEPS),
        st.tuples(st.just("str"), st.sampled_from(["note", "phase"]), TEXT, STEPS),
        st.tuples(st.just("rec"), st.sampled_from(["row", "table"]), JSONABLE),
    ),
    max_size=80,
)


def write_calls(path: Path, calls: list[tuple[Any, ...]]) -> int:
    writer = JournalWriter(path)
    for call in calls:
        if call[0] == "rec":
            writer.log_record(call[1], "row", call[2])
        else:
            writer.log(call[1], call[2], step=call[3])
    size = writer.size
    writer.close()
    return size


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN, and of the same type (True is not 1)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def expected_records(calls: list[tuple[Any, ...]]) -> list[tuple[str, Any, int | None]]:
    """(name, value, step) per call; a step of None is the automatic one."""
    steps: dict[str, int] = {}
    out: list[tuple[str, Any, int | None]] = []
    for call in calls:
        if call[0] == "rec":
            out.append((call[1], call[2], None))
            continue
        _, name, value, step = call
        step = steps.get(name, 0) if step is None else step
        steps[name] = step + 1
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            value = float(value)
        out.append((name, value, step))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=CALLS)
def test_every_record_kind_round_trips_with_its_step(
    tmp_path_factory: pytest.TempPathFactory, calls: list[tuple[Any, ...]]
) -> None:
    path = tmp_path_factory.mktemp("j") / "journal.bin"
    write_calls(path, calls)
    got = list(iter_records(path.read_bytes(), 0, DecodeState()))
    want = expected_records(calls)
    assert len(got) == len(want)
    for rec, (name, value, step) in zip(got, want):
        assert rec.name == name
        if rec.kind == KIND_RECORD:
            assert same(rec.value["payload"], json.loads(json.dumps(value)))
        else:
            assert same(rec.value, value) and rec.step == step


def bulk(data: bytes, base: int, state: DecodeState) -> dict[str, list[Any]]:
    """What the bulk decoder hands to the store, per metric, as plain values."""
    batch = decode(data, base, state, 10**9)
    out: dict[str, list[Any]] = {}
    for column in batch.columns(state.names):
        text = column.value_type == "str"
        values = [v if text else float(v) for v in column.values]
        out.setdefault(column.key, []).extend(zip([int(s) for s in column.steps], values))
    for structured in batch.records:
        out.setdefault(structured.key, []).append(structured.payload)
    return out


def plain(records: list[Record]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for rec in records:
        if rec.kind == KIND_NUMBER:
            out.setdefault(rec.name, []).append((rec.step, float(rec.value)))
        elif rec.kind == KIND_STRING:
            out.setdefault(rec.name, []).append((rec.step, rec.value))
        else:
            out.setdefault(rec.name, []).append(rec.value["payload"])
    return out


@settings(max_examples=60, deadline=None)
@given(calls=CALLS)
def test_bulk_decoder_agrees_with_the_plain_decoder(
    tmp_path_factory: pytest.TempPathFactory, calls: list[tuple[Any, ...]]
) -> None:
    path = tmp_path_factory.mktemp("j") / "journal.bin"
    end = write_calls(path, calls)
    data = path.read_bytes()
    state = DecodeState()
    got = bulk(data, 0, state)
    assert state.offset == end and state.stopped is None
    assert same(got, plain(list(iter_records(data, 0, DecodeState()))))


@settings(max_examples=60, deadline=None)
@given(calls=CALLS, cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_decoding_in_pieces_equals_decoding_at_once(
    tmp_path_factory: pytest.TempPathFactory, calls: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    """Ingest reads the file in windows that end anywhere, even mid-record, and carries
    the decode state from one window to the next: the result must not depend on where
    the windows end."""
    path = tmp_path_factory.mktemp("j") / "journal.bin"
    end = write_calls(path, calls)
    data = path.read_bytes()[:end]
    state = DecodeState()
    pieces: dict[str, list[Any]] = {}
    for cut in sorted({c % (end + 1) for c in cuts} | {end}):
        window = data[state.offset : cut]
        for key, values in bulk(window, state.offset, state).items():
            pieces.setdefault(key, []).extend(values)
        assert state.stopped in (None, "incomplete")
    assert state.offset == end
    assert same(pieces, bulk(data, 0, DecodeState()))


@settings(max_examples=60, deadline=None)
@given(calls=CALLS, data=st.data())
def test_reopening_a_journal_torn_anywhere_appends_after_the_last_whole_record(
    tmp_path_factory: pytest.TempPathFactory, calls: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    """A process died mid-record (the file ends early, or in zeros); the run is resumed
    and logs on: every whole record from before is kept, the new ones follow, and each
    metric's automatic step goes on after the largest step it had."""
    path = tmp_path_factory.mktemp("j") / "journal.bin"
    end = write_calls(path, calls)
    cut = data.draw(st.integers(min_value=0, max_value=end), label="cut")
    raw = bytearray(path.read_bytes())
    raw[cut:end] = bytes(end - cut)  # what was being copied when the process died
    path.write_bytes(bytes(raw))
    kept = list(iter_records(bytes(raw), 0, DecodeState()))
    steps: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for rec in kept:
        if rec.kind != KIND_RECORD:
            steps[rec.name] = max(steps.get(rec.name, 0), rec.step + 1)
            kinds[rec.name] = rec.kind
    writer = JournalWriter(path)
    for name, kind in kinds.items():
        writer.log(name, 1.5 if kind == KIND_NUMBER else "again")
    writer.log("after", 7)
    writer.close()
    after = list(iter_records(path.read_bytes(), 0, DecodeState()))
    assert [(r.name, r.step, r.offset) for r in after[: len(kept)]] == [
        (r.name, r.step, r.offset) for r in kept
    ]
    assert same([r.value for r in after[: len(kept)]], [r.value for r in kept])
    new = [(r.name, r.step) for r in after[len(kept) :]]
    assert new == [(name, steps[name]) for name in kinds] + [("after", 0)]


# -- snapshot ignore rules, against git --------------------------------------------------

FOLDERS = ["", "a/", "b/", "build/", "data/", "a/build/", "a/deep/", "data/raw/"]
FILES = ["x.py", "y.txt", "z.log", "model.bin", ".env", "keep.log", "#hash.txt", "Ab.PY"]
PATTERNS = [
    "*.log", "!keep.log", "build/", "/data", "data/*", "!data/x.py", "a/**/y.txt",
    "**/z.log", "*.bin", "a/", "y.*", "[ab]/x.py", "**/build", "#comment", "",
    "\\#hash.txt", "deep", "/x.py", "raw/", "*.PY", ".env", "!/a/build/", "data/**",
    "b/*.txt", "*", "!*.py", "a/deep/*.log", "z.log/", "a/**", "*/x.py", "/*.txt",
    "a/*/", "!a/", "\\!keep.log", "y.txt ", "**/deep/**", "!**/keep.log", "*.l?g",
    "data/raw", "!data/", "**",
]  # fmt: skip
TREES = st.lists(st.tuples(st.sampled_from(FOLDERS), st.sampled_from(FILES)), min_size=1,
                 max_size=25, unique=True)  # fmt: skip
RULES = st.lists(st.sampled_from(PATTERNS), max_size=8)

def git_oracle(tree: Path, work: Path) -> set[str]:
    """The files git would add from ``tree``: untracked and not ignored. Runs in a copy
    with its own repository and no user or system git config."""
    copy = work / "git-copy"
    shutil.copytree(tree, copy)
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(work),
    }
    subprocess.run(["git", "init", "-q", str(copy)], check=True, env=env, capture_output=True)
    out = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"],
        cwd=copy,
        check=True,
        env=env,
        capture_output=True,
    ).stdout.decode()
    return {p for p in out.split("\0") if p}


@pytest.fixture
def snapshots(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")


def make_tree(root: Path, files: list[tuple[str, str]]) -> None:
    for folder, name in files:
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{folder}{name}\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    files=TREES,
    top=RULES,
    nested=st.lists(st.tuples(st.sampled_from(["a/", "data/", "a/deep/"]), RULES), max_size=2),
)
def test_gitignore_rules_select_what_git_would_add(
    tmp_path_factory: pytest.TempPathFactory,
    files: list[tuple[str, str]],
    top: list[str],
    nested: list[tuple[str, list[str]]],
) -> None:
    note(f"files={files!r} top={top!r} nested={nested!r}")
    work = tmp_path_factory.mktemp("ignore")
    tree = work / "src"
    make_tree(tree, files)
    (tree / ".gitignore").write_text("\n".join(top) + "\n")
    for folder, rules in nested:
        (tree / folder).mkdir(parents=True, exist_ok=True)
        (tree / folder / ".gitignore").write_text("\n".join(rules) + "\n")
    store = SnapshotStore(work / "snapshots")
    captured = set(store.manifest(store.capture(tree).snapshot_id))
    assert captured == git_oracle(tree, work)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=TREES, rules=RULES, decoy=RULES)
def test_runyardignore_replaces_every_gitignore(
    tmp_path_factory: pytest.TempPathFactory,
    files: list[tuple[str, str]],
    rules: list[str],
    decoy: list[str],
) -> None:
    """With a .runyardignore, its rules alone apply (gitignore files are ignored as
    rules, kept as files): git with the same rules as its only .gitignore agrees."""
    note(f"files={files!r} rules={rules!r} decoy={decoy!r}")
    work = tmp_path_factory.mktemp("runyardignore")
    tree = work / "src"
    make_tree(tree, files)
    (tree / ".runyardignore").write_text("\n".join(rules) + "\n")
    (tree / "a").mkdir(exist_ok=True)
    (tree / "a" / ".gitignore").write_text("\n".join(decoy) + "\n")
    store = SnapshotStore(work / "snapshots")
    captured = set(store.manifest(store.capture(tree).snapshot_id))
    oracle_tree = work / "oracle"
    shutil.copytree(tree, oracle_tree)
    (oracle_tree / "a" / ".gitignore").unlink()
    (oracle_tree / ".runyardignore").rename(oracle_tree / ".gitignore")
    expected = git_oracle(oracle_tree, work)
    renamed = {".runyardignore" if p == ".gitignore" else p for p in expected}
    captured.discard("a/.gitignore")  # a file like any other for Runyard, absent in the copy
    assert captured == renamed


def captured_and_git(
    tmp_path: Path, files: dict[str, str], gitignore: str
) -> tuple[set[str], set[str]]:
    tree = tmp_path / "src"
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    (tree / ".gitignore").write_text(gitignore)
    store = SnapshotStore(tmp_path / "snapshots")
    return set(store.manifest(store.capture(tree).snapshot_id)), git_oracle(tree, tmp_path)


def test_a_negated_folder_does_not_bring_back_what_an_earlier_rule_ignored(
    tmp_path: Path,
) -> None:
    """'build/' then '!a/': a negation re-includes only the path it matches, never a
    file whose folder is excluded (this suite found the snapshot shipping a/build/*)."""
    files = {"a/y.txt": "y", "a/build/model.bin": "weights"}
    captured, git = captured_and_git(tmp_path, files, "build/\n!a/\n")
    assert git == {".gitignore", "a/y.txt"}
    assert captured == git


def test_a_negation_brings_back_a_file_inside_a_folder_matched_by_slash_star_star(
    tmp_path: Path,
) -> None:
    """'data/**' matches what is inside data/, not data/ itself, so '!keep.log' brings
    data/keep.log back (this suite found the snapshot pruning data/)."""
    files = {"data/keep.log": "keep", "data/big.bin": "data"}
    captured, git = captured_and_git(tmp_path, files, "data/**\n!keep.log\n")
    assert git == {".gitignore", "data/keep.log"}
    assert captured == git


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=TREES, rules=RULES, modes=st.lists(st.sampled_from([0o644, 0o755, 0o600])))
def test_capture_then_materialise_reproduces_the_folder(
    tmp_path_factory: pytest.TempPathFactory,
    files: list[tuple[str, str]],
    rules: list[str],
    modes: list[int],
) -> None:
    work = tmp_path_factory.mktemp("materialise")
    tree = work / "src"
    make_tree(tree, files)
    (tree / ".gitignore").write_text("\n".join(rules) + "\n")
    for path, mode in zip(sorted(p for p in tree.rglob("*") if p.is_file()), modes):
        path.chmod(mode)
    store = SnapshotStore(work / "snapshots")
    first = store.capture(tree)
    assert store.capture(tree).snapshot_id == first.snapshot_id  # same folder, same id
    out = work / "out"
    store.materialise(first.snapshot_id, out)
    manifest = store.manifest(first.snapshot_id)
    found = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert found == set(manifest)
    for rel, entry in manifest.items():
        assert (out / rel).read_bytes() == (tree / rel).read_bytes()
        assert (
            (out / rel).stat().st_mode & 0o777
            == entry["mode"]
            == (tree / rel).stat().st_mode & 0o777
        )


# -- the REST API, fuzzed against its own OpenAPI schema ---------------------------------

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed: pip install schemathesis"
)

TOKEN = "fuzz-token"
FUZZ_EXAMPLES = int(os.environ.get("RUNYARD_FUZZ_EXAMPLES", "6"))  # make soak: 200


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real studio on 127.0.0.1 over a store with an experiment and finished runs."""
    from runyard.entities import RunKind, RunStatus
    from runyard.server import create_app
    from tests.support.server import open_test_store, start_server

    store = open_test_store(tmp_path_factory.mktemp("fuzz"))
    exp = store.get_or_create_experiment("fuzzed")
    for _ in range(2):
        run = store.create_run(
            exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
        )
        store.set_tags(run.run_id, {"k": "v"})
        store.set_status(run.run_id, RunStatus.COMPLETED)
    srv = start_server(create_app(store, token=TOKEN))
    try:
        yield srv.url
    finally:
        srv.stop()
        store.close()


@pytest.fixture
def api_schema(studio: str) -> Any:
    return schemathesis.openapi.from_url(studio + "/api/openapi.json")


def no_traceback_and_one_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """No traceback or source path in any answer; every error answer is
    ``{"error": {"type", "message"}}`` (the studio's one error shape)."""
    text = response.text if isinstance(response.text, str) else ""
    for leak in ("Traceback", 'File "/', "site-packages", "/src/runyard/"):
        assert leak not in text, f"{leak!r} in the answer to {case.method} {case.formatted_path}"
    if response.status_code >= 400 and "json" in response.headers.get("content-type", [""])[0]:
        body = json.loads(text)
        assert set(body) == {"error"} and {"type", "message"} <= set(body["error"]), text[:500]
    return None


def fuzz_operations(url: str, examples: int) -> list[str]:
    """Fuzzes every operation of the schema served at ``url`` with ``examples`` positive
    and as many negative cases; returns the failures, one line each. (The
    schemathesis pytest plugin's lazy fixture loading does not run under pytest 9, so
    the operations are driven through its Python API.)"""
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_url(url + "/api/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                response = case.call(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
                case.validate_response(
                    response, checks=[not_a_server_error, no_traceback_and_one_error_shape]
                )

            try:
                check()
            except Unsatisfiable:
                continue  # no invalid input exists for it (e.g. only free-text path parts)
            except Exception as exc:
                first = str(exc).strip().splitlines()[:6]
                failures.append(f"{operation.label} ({mode.value}): " + " | ".join(first))
    assert operations >= 20, f"only {operations} operations in the schema"
    record(
        "fuzz:rest-api",
        schemathesis=schemathesis.__version__,
        operations=operations,
        examples_per_operation_and_mode=examples,
        failures=len(failures),
    )
    return failures


def test_every_operation_answers_without_a_server_error(studio: str) -> None:
    failures = fuzz_operations(studio, FUZZ_EXAMPLES)
    assert not failures, "\n".join(failures)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_every_operation_answers_without_a_server_error(studio: str) -> None:
    failures = fuzz_operations(studio, 200)
    assert not failures, "\n".join(failures)
