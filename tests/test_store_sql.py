"""The SQL store's contract (runyard.store.base.Store), against SQLite and PostgreSQL:
experiments, runs, statuses, tags, properties, claims, environments, errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from runyard.config import MAX_NAME_LENGTH, MAX_TAG_VALUE_LENGTH
from runyard.entities import MetricColumns, RunInfo, RunKind, RunStatus
from runyard.errors import (
    ConflictError,
    EnvironmentNotFoundError,
    ExperimentNotFoundError,
    RunNotFoundError,
    StoreError,
    ValidationError,
)
from runyard.store import open_store
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.sql import SqlStore
from tests.conftest import make_store


def _columns(key: str, value_type: str, steps: Any, timestamps: Any, values: Any) -> MetricColumns:
    """MetricColumns from numpy arrays or array.array (the store accepts any sequence)."""
    return MetricColumns(key, value_type, steps, timestamps, values)


def _run(store: SqlStore, status: RunStatus = RunStatus.QUEUED, **kwargs: object) -> RunInfo:
    experiment = store.get_or_create_experiment(str(kwargs.pop("experiment", "exp")))
    return store.create_run(
        experiment.experiment_id,
        kind=RunKind.SUBMITTED,
        status=status,
        **kwargs,  # type: ignore[arg-type]
    )


# -- experiments -----------------------------------------------------------------------


def test_get_or_create_experiment_is_idempotent(store: SqlStore) -> None:
    first = store.get_or_create_experiment("day1-experiment-train")
    again = store.get_or_create_experiment("day1-experiment-train")
    assert first == again
    assert len(first.experiment_id) == 32
    assert store.get_experiment(first.experiment_id) == first
    assert store.get_experiment_by_name("day1-experiment-train") == first
    assert store.get_experiment_by_name("other") is None


def test_unknown_experiment(store: SqlStore) -> None:
    with pytest.raises(ExperimentNotFoundError):
        store.get_experiment("nope")
    with pytest.raises(ExperimentNotFoundError):
        store.create_run("nope", kind=RunKind.SUBMITTED, status=RunStatus.QUEUED)


@pytest.mark.parametrize("name", ["", "a/b", "x" * (MAX_NAME_LENGTH + 1), ".hidden"])
def test_bad_experiment_name(store: SqlStore, name: str) -> None:
    with pytest.raises(ValidationError):
        store.get_or_create_experiment(name)


def test_list_experiments_counts_runs(store: SqlStore) -> None:
    a = _run(store, experiment="a")
    _run(store, experiment="a", status=RunStatus.RUNNING)
    store.get_or_create_experiment("empty")
    stats = {s.experiment.name: s for s in store.list_experiments()}
    assert stats["a"].run_count == 2
    assert stats["a"].status_counts == {"Queued": 1, "Running": 1}
    assert stats["a"].last_run_at is not None and stats["a"].last_run_at >= a.created_at
    assert stats["empty"].run_count == 0 and stats["empty"].last_run_at is None


def test_concurrent_get_or_create_experiment(store: SqlStore) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            ids.append(store.get_or_create_experiment("race").experiment_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(ids)) == 1


# -- runs ------------------------------------------------------------------------------


def test_create_run_round_trip(store: SqlStore) -> None:
    experiment = store.get_or_create_experiment("exp")
    run = store.create_run(
        experiment.experiment_id,
        kind=RunKind.SUBMITTED,
        status=RunStatus.QUEUED,
        compute_target="cpu-cluster",
        display_name="first try",
        tags={"team": "vision"},
        properties={"azureml.git": "abc"},
        definition={"script": "train.py", "arguments": ["--lr", 0.1]},
        owner="1@host",
    )
    assert run.number == 1
    assert run.run_id.startswith("exp_") and "/" not in run.run_id
    assert run.started_at is None and run.ended_at is None
    assert store.get_run(run.run_id) == run
    assert run.tags == {"team": "vision"}
    assert run.properties == {"azureml.git": "abc"}
    assert run.definition == {"script": "train.py", "arguments": ["--lr", 0.1]}
    assert run.compute_target == "cpu-cluster" and run.display_name == "first try"
    assert run.owner == "1@host" and run.kind is RunKind.SUBMITTED


def test_runs_are_numbered_per_experiment(store: SqlStore) -> None:
    assert [_run(store, experiment="a").number for _ in range(3)] == [1, 2, 3]
    assert _run(store, experiment="b").number == 1


def test_explicit_run_id_and_duplicates(store: SqlStore) -> None:
    run = _run(store, run_id="my-run.1")
    assert run.run_id == "my-run.1"
    with pytest.raises(ConflictError):
        _run(store, run_id="my-run.1")
    with pytest.raises(ValidationError):
        _run(store, run_id="a/b")


def test_running_run_has_started_at(store: SqlStore) -> None:
    run = _run(store, status=RunStatus.RUNNING)
    assert run.started_at is not None


def test_child_run(store: SqlStore) -> None:
    parent = _run(store, status=RunStatus.RUNNING)
    child = store.create_run(
        parent.experiment_id,
        kind=RunKind.CHILD,
        status=RunStatus.RUNNING,
        parent_run_id=parent.run_id,
    )
    assert child.parent_run_id == parent.run_id and child.kind is RunKind.CHILD
    with pytest.raises(RunNotFoundError):
        store.create_run(
            parent.experiment_id,
            kind=RunKind.CHILD,
            status=RunStatus.RUNNING,
            parent_run_id="missing",
        )


def test_unknown_run(store: SqlStore) -> None:
    for call in (
        lambda: store.get_run("missing"),
        lambda: store.set_status("missing", RunStatus.RUNNING),
        lambda: store.heartbeat("missing"),
        lambda: store.set_tags("missing", {"a": "b"}),
        lambda: store.add_properties("missing", {"a": "b"}),
        lambda: store.update_definition("missing", {"a": 1}),
        lambda: store.get_journal_offset("missing"),
        lambda: store.get_metric_summaries("missing"),
        lambda: store.get_metric_series("missing", "loss"),
        lambda: store.get_metric_records("missing"),
        lambda: store.append_metrics("missing", []),
    ):
        with pytest.raises(RunNotFoundError):
            call()


def test_status_lifecycle(store: SqlStore) -> None:
    run = _run(store)
    running = store.set_status(run.run_id, RunStatus.RUNNING)
    assert running.started_at is not None
    again = store.set_status(run.run_id, RunStatus.FINALIZING)
    assert again.started_at == running.started_at
    done = store.set_status(run.run_id, RunStatus.COMPLETED, exit_code=0)
    assert done.status is RunStatus.COMPLETED and done.exit_code == 0
    assert done.ended_at is not None and done.ended_at >= done.started_at  # type: ignore[operator]
    assert done.duration is not None
    with pytest.raises(ConflictError):
        store.set_status(run.run_id, RunStatus.FAILED)
    with pytest.raises(ConflictError):
        store.set_status(run.run_id, RunStatus.COMPLETED)
    assert store.get_run(run.run_id) == done


def test_status_compare_and_set(store: SqlStore) -> None:
    run = _run(store)
    with pytest.raises(ConflictError):
        store.set_status(run.run_id, RunStatus.RUNNING, expected=[RunStatus.STARTING])
    assert store.get_run(run.run_id).status is RunStatus.QUEUED
    failed = store.set_status(
        run.run_id,
        RunStatus.FAILED,
        error="boom",
        exit_code=3,
        expected=[RunStatus.QUEUED, RunStatus.PREPARING],
    )
    assert (failed.status, failed.error, failed.exit_code) == (RunStatus.FAILED, "boom", 3)


def test_heartbeat(store: SqlStore) -> None:
    run = _run(store, status=RunStatus.RUNNING)
    store.heartbeat(run.run_id, owner="42@node")
    after = store.get_run(run.run_id)
    assert after.heartbeat_at is not None and after.owner == "42@node"
    store.heartbeat(run.run_id)
    assert store.get_run(run.run_id).owner == "42@node"


def test_tags_overwrite_and_limits(store: SqlStore) -> None:
    run = _run(store, tags={"a": "1"})
    store.set_tags(run.run_id, {"a": "2", "b": "3"})
    assert store.get_run(run.run_id).tags == {"a": "2", "b": "3"}
    with pytest.raises(ValidationError, match="limit"):
        store.set_tags(run.run_id, {"k" * (MAX_NAME_LENGTH + 1): "v"})
    with pytest.raises(ValidationError, match="limit"):
        store.set_tags(run.run_id, {"k": "v" * (MAX_TAG_VALUE_LENGTH + 1)})
    with pytest.raises(ValidationError):
        store.set_tags(run.run_id, {"k": 3})  # type: ignore[dict-item]
    assert store.get_run(run.run_id).tags == {"a": "2", "b": "3"}


def test_properties_are_add_only(store: SqlStore) -> None:
    run = _run(store, properties={"a": "1"})
    store.add_properties(run.run_id, {"a": "1", "b": "2"})
    with pytest.raises(ConflictError, match="'a'"):
        store.add_properties(run.run_id, {"c": "3", "a": "other"})
    assert store.get_run(run.run_id).properties == {"a": "1", "b": "2"}


def test_update_definition_merges(store: SqlStore) -> None:
    run = _run(store, definition={"script": "train.py", "environment": {"name": "x"}})
    updated = store.update_definition(run.run_id, {"environment_hash": "abc"})
    assert updated.definition == {
        "script": "train.py",
        "environment": {"name": "x"},
        "environment_hash": "abc",
    }
    assert store.get_run(run.run_id).definition == updated.definition


# -- claiming queued runs --------------------------------------------------------------


def test_claim_next_queued_takes_oldest_within_slots(store: SqlStore) -> None:
    queued = [_run(store, compute_target="cpu") for _ in range(3)]
    _run(store, compute_target="gpu")
    first = store.claim_next_queued("cpu", 2)
    second = store.claim_next_queued("cpu", 2)
    assert first is not None and second is not None
    assert [first.run_id, second.run_id] == [queued[0].run_id, queued[1].run_id]
    assert first.status is RunStatus.PREPARING
    assert store.claim_next_queued("cpu", 2) is None  # both slots busy
    store.set_status(first.run_id, RunStatus.COMPLETED)
    third = store.claim_next_queued("cpu", 2)
    assert third is not None and third.run_id == queued[2].run_id
    store.set_status(third.run_id, RunStatus.FAILED)
    assert store.claim_next_queued("cpu", 5) is None  # nothing queued


def test_concurrent_claims_respect_slots(store: SqlStore) -> None:
    for _ in range(20):
        _run(store, compute_target="pool")
    slots = 4
    claimed: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer() -> None:
        try:
            for _ in range(5):
                got = store.claim_next_queued("pool", slots)
                if got is not None:
                    with lock:
                        claimed.append(got.run_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claimer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(claimed) == slots and len(set(claimed)) == slots


# -- environments ----------------------------------------------------------------------


def test_environment_versions(store: SqlStore) -> None:
    first = store.register_environment("torch", {"pip": ["torch"]}, "h1")
    assert first.version == 1 and first.spec == {"pip": ["torch"]}
    assert store.register_environment("torch", {"pip": ["torch"]}, "h1") == first
    second = store.register_environment("torch", {"pip": ["torch==2"]}, "h2")
    assert second.version == 2
    back = store.register_environment("torch", {"pip": ["torch"]}, "h1")
    assert back.version == 3
    store.register_environment("alpha", {}, "h0")
    assert store.get_environment("torch") == back
    assert store.get_environment("torch", 2) == second
    listed = [(e.name, e.version) for e in store.list_environments()]
    assert listed == [("alpha", 1), ("torch", 1), ("torch", 2), ("torch", 3)]
    with pytest.raises(EnvironmentNotFoundError):
        store.get_environment("torch", 9)
    with pytest.raises(EnvironmentNotFoundError):
        store.get_environment("nope")


# -- errors and lifetime ---------------------------------------------------------------


def test_closed_store_refuses(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_experiments()


def test_open_store_by_uri(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'sub' / 'w.db'}", tmp_path / "art") as store:
        assert isinstance(store, SqlStore)
        assert store.get_or_create_experiment("e").name == "e"


def test_unreachable_postgres_is_a_store_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError, match="could not open"):
        SqlStore(
            f"postgresql://nobody@127.0.0.1:{port}/none?connect_timeout=2",
            LocalArtifactRepository(tmp_path),
        )


def test_disk_full_is_a_store_error(tmp_path: Path) -> None:
    import numpy as np
    import sqlalchemy as sa

    store = make_store(tmp_path)
    run = _run(store, status=RunStatus.RUNNING)
    engine = store._engine

    @sa.event.listens_for(engine, "connect")
    def _tiny(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute("PRAGMA max_page_count = 64")  # type: ignore[attr-defined]

    engine.dispose()
    n = 200_000
    columns = _columns("loss", "float", np.arange(n), np.zeros(n), np.ones(n))
    with pytest.raises(StoreError) as info:
        store.append_metrics(run.run_id, [columns])
    message = str(info.value)
    assert "full" in message and "INSERT" not in message and "metric_blocks" not in message
    assert store.get_metric_summaries(run.run_id) == {}
    store.close()


def test_timestamps_are_wall_clock(store: SqlStore) -> None:
    before = time.time()
    run = _run(store)
    assert before - 1 <= run.created_at <= time.time() + 1
