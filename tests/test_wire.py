"""The wire format: values travel exactly (round trips through a real server over
SQLite and PostgreSQL), the error table covers the whole exception tree, and the
OpenAPI schema the studio serves is built from the wire models."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runyard import errors, wire
from runyard.entities import MetricColumns, MetricRecord, RunKind, RunStatus
from runyard.errors import RunyardError, ValidationError
from runyard.remote import HttpStore
from runyard.server import create_app
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.base import Store
from runyard.store.sql import SqlStore
from runyard.wire.values import decode_value
from tests.support.server import RunningServer, start_server

TOKEN = "wire-token"
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)  # -0.0 included
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
VALUES = {"int": INT64, "float": FLOATS, "bool": st.booleans(), "str": TEXT}
JSONABLE = st.recursive(
    st.none() | st.booleans() | INT64 | FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type: NaN equals NaN, -0.0 is not 0.0, True is not 1."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# -- the encoding alone ----------------------------------------------------------------


@given(values=st.lists(st.one_of(*VALUES.values())))
def test_metric_values_survive_json(values: list[Any]) -> None:
    text = json.dumps(wire.encode_values(values), allow_nan=False)
    assert same(wire.decode_values(json.loads(text)), values)


@given(obj=JSONABLE)
def test_payloads_survive_json(obj: Any) -> None:
    text = json.dumps(wire.encode_any(obj), allow_nan=False)
    assert same(wire.decode_any(json.loads(text)), obj)


def test_numpy_columns_encode_as_plain_values() -> None:
    np = pytest.importorskip("numpy")
    floats = np.array([1.5, math.nan, -math.inf, -0.0])
    encoded = wire.encode_values(floats)
    assert encoded[1:3] == [{"$float": "NaN"}, {"$float": "-Infinity"}]
    assert same(wire.decode_values(encoded), [1.5, math.nan, -math.inf, -0.0])
    ints = wire.encode_values(np.array([2**62, -3], dtype=np.int64))
    assert same(ints, [2**62, -3])


def test_an_integer_beyond_int64_is_refused_not_rounded() -> None:
    with pytest.raises(ValidationError, match=r"metric 'n'.*64-bit"):
        wire.decode_values([1, 2**63], "metric 'n'")
    with pytest.raises(ValidationError):
        decode_value(-(2**63) - 1)
    body = {"key": "n", "value_type": "int", "steps": [0], "timestamps": [1.0]}
    cols = wire.ColumnsIn.model_validate({**body, "values": [2**64]})
    with pytest.raises(ValidationError, match="64-bit"):
        cols.to_entity()


def test_a_string_that_names_a_float_stays_a_string() -> None:
    assert wire.decode_values(["NaN", "Infinity", {"$float": "NaN"}])[:2] == ["NaN", "Infinity"]
    assert wire.decode_any({"$float": "NaN", "other": 1}) == {"$float": "NaN", "other": 1}


# -- the error table -------------------------------------------------------------------


def test_every_error_class_has_one_row() -> None:
    classes = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, RunyardError)
    }
    rows = [row.exception for row in wire.ERROR_TABLE]
    assert len(rows) == len(set(rows))
    assert set(rows) == classes, "add the new exception class to runyard.wire.errors"


@pytest.mark.parametrize("row", wire.ERROR_TABLE, ids=lambda r: r.code)
def test_each_error_goes_out_and_comes_back_as_its_class(row: wire.ErrorKind) -> None:
    assert row.exception is not None
    exc = row.exception("boom")
    kind = wire.kind_of(exc)
    assert (kind.code, kind.status) == (row.code, row.status)
    back = wire.exception_for(kind.code, "boom")
    assert type(back) is row.raise_as and str(back) == "boom"


def test_statuses_of_the_main_errors() -> None:
    def status(exc: RunyardError) -> int:
        return wire.status_for(exc)

    assert status(errors.RunNotFoundError("x")) == 404
    assert status(errors.MetricTypeError("x")) == 400
    assert status(errors.ConflictError("x")) == 409
    assert status(errors.AuthError("x")) == 401
    assert status(errors.StoreError("x")) == 503
    assert wire.code_for_status(413) == "RequestTooLarge"
    assert type(wire.exception_for("RequestTooLarge", "m")) is errors.ValidationError
    assert type(wire.exception_for("FromANewerServer", "m")) is errors.StoreError


# -- through a real server -------------------------------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("wire")
    if request.param == "sqlite":
        uri = f"sqlite:///{folder / 'runyard.db'}"
    else:
        uri = str(request.getfixturevalue("postgres_session_db"))
    store = SqlStore(uri, LocalArtifactRepository(folder / "artifacts"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def server(backend: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(backend, token=TOKEN))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def remote(server: RunningServer) -> Iterator[HttpStore]:
    store = HttpStore(server.url, token=TOKEN, retry_for=5)
    yield store
    store.close()


_names = (f"m{i}" for i in itertools.count())


@EXAMPLES
@given(
    value_type=st.sampled_from(sorted(VALUES)),
    data=st.data(),
)
def test_metric_values_round_trip_through_the_server(
    remote: HttpStore, backend: Store, value_type: str, data: st.DataObject
) -> None:
    values = data.draw(st.lists(VALUES[value_type], min_size=1, max_size=30), label="values")
    n = len(values)
    steps = data.draw(st.lists(INT64, min_size=n, max_size=n), label="steps")
    stamps = st.floats(min_value=0, max_value=2e10, allow_subnormal=False)
    timestamps = data.draw(st.lists(stamps, min_size=n, max_size=n), label="timestamps")
    exp = remote.get_or_create_experiment("wire-values")
    run = remote.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    key = next(_names)
    remote.append_metrics(run.run_id, [MetricColumns(key, value_type, steps, timestamps, values)])

    series = remote.get_metric_series(run.run_id, key)
    assert same(list(series.values), values)
    assert same(list(series.steps), steps) and same(list(series.timestamps), timestamps)
    direct = backend.get_metric_series(run.run_id, key)
    assert same(list(series.values), list(direct.values))
    summary = remote.get_metric_summaries(run.run_id)[key]
    want = backend.get_metric_summaries(run.run_id)[key]
    assert same(summary.last, want.last) and same(summary.last, values[-1])
    assert same([summary.min, summary.max], [want.min, want.max])
    assert (summary.count, summary.last_step, summary.value_type) == (
        want.count,
        want.last_step,
        want.value_type,
    )


@EXAMPLES
@given(payload=JSONABLE, definition=st.dictionaries(TEXT, JSONABLE, max_size=4))
def test_payloads_and_definitions_round_trip_through_the_server(
    remote: HttpStore, payload: Any, definition: dict[str, Any]
) -> None:
    exp = remote.get_or_create_experiment("wire-payloads")
    run = remote.create_run(
        exp.experiment_id,
        kind=RunKind.SUBMITTED,
        status=RunStatus.QUEUED,
        definition=definition,
    )
    assert same(dict(run.definition), definition)
    assert same(dict(remote.get_run(run.run_id).definition), definition)
    key = next(_names)
    remote.append_metrics(run.run_id, [], [MetricRecord(key, "row", payload, 1.5, seq=2**40)])
    (record,) = remote.get_metric_records(run.run_id, key)
    assert same(record.payload, payload) and record.seq == 2**40


def test_the_issue_values_read_back_exactly_over_rest(
    remote: HttpStore, server: RunningServer
) -> None:
    """``2**60 + 1``, ``-(2**62) - 3`` and a 5,000-step series of ``2**53 + i``, from
    the HTTP store and from the raw REST answer."""
    exp = remote.get_or_create_experiment("wire-issue")
    run = remote.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    n = 5000
    remote.append_metrics(
        run.run_id,
        [
            MetricColumns("big", "int", [0], [1.0], [2**60 + 1]),
            MetricColumns("neg", "int", [0], [1.0], [-(2**62) - 3]),
            MetricColumns(
                "series", "int", list(range(n)), [1.0] * n, [2**53 + i for i in range(n)]
            ),
            MetricColumns("zero", "float", [0, 1], [1.0, 2.0], [-0.0, math.nan]),
        ],
    )
    assert same(list(remote.get_metric_series(run.run_id, "big").values), [2**60 + 1])
    assert same(list(remote.get_metric_series(run.run_id, "neg").values), [-(2**62) - 3])
    series = remote.get_metric_series(run.run_id, "series")
    assert same(list(series.values), [2**53 + i for i in range(n)])
    raw = httpx.get(f"{server.url}/api/runs/{run.run_id}/metrics/series").json()
    assert raw["values"][-1] == 2**53 + n - 1 and type(raw["values"][-1]) is int
    zero = httpx.get(f"{server.url}/api/runs/{run.run_id}/metrics/zero").text
    assert '"values":[-0.0,{"$float":"NaN"}]' in zero


def test_the_openapi_schema_is_built_from_the_wire_models(server: RunningServer) -> None:
    schema = httpx.get(f"{server.url}/api/openapi.json").json()
    components = set(schema["components"]["schemas"])
    for name in ("RunOut", "RunIn", "MetricsIn", "SeriesOut", "SummariesOut", "ClaimOut"):
        assert name in components
    series = schema["paths"]["/api/runs/{run_id}/metrics/{key}"]["get"]
    answer = series["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/SeriesOut"}
