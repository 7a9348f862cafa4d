"""Stored rows to entities, without SQLAlchemy: shared by the SQLAlchemy queries (which
pass ``row._mapping``) and by the standard-library reader (``store.sql.reader``, whose
``sqlite3.Row`` is indexed by column name the same way), so both read a row alike."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Protocol

from runyard.entities import Experiment, MetricSummary, MetricValue, RunInfo, RunKind, RunStatus


class Columns(Protocol):
    """A row's values by column name: SQLAlchemy's ``RowMapping``, ``sqlite3.Row``."""

    def __getitem__(self, column: str, /) -> Any: ...


def run_of(row: Columns, tags: Mapping[str, str], properties: Mapping[str, str]) -> RunInfo:
    """A ``runs`` row with its tags and properties."""
    return RunInfo(
        run_id=row["id"],
        experiment_id=row["experiment_id"],
        number=row["number"],
        kind=RunKind(row["kind"]),
        status=RunStatus(row["status"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        parent_run_id=row["parent_run_id"],
        display_name=row["display_name"],
        compute_target=row["compute_target"],
        tags=dict(tags),
        properties=dict(properties),
        definition=load_definition(row["definition"]),
        exit_code=row["exit_code"],
        error=row["error"],
        heartbeat_at=row["heartbeat_at"],
        owner=row["owner"],
        cancel_requested_at=row["cancel_requested_at"],
        change_seq=int(row["change_seq"]),
        epoch=int(row["epoch"]),
        deleted_at=row["deleted_at"],
    )


def load_definition(text: str) -> dict[str, Any]:
    """A stored definition. One stored before submit checked arguments may hold a lone
    surrogate (a non-UTF-8 byte of a CLI argument): it reads back as its escape
    (``"\\udcff"``), so that no view fails to encode it (a 500 on every read)."""
    value: dict[str, Any] = json.loads(text)
    if "\\ud" not in text:  # json.dumps escapes every surrogate: none here
        return value
    return _safe(value)  # type: ignore[no-any-return]


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_safe(v) for v in value]
    if isinstance(value, dict):
        return {_safe(k): _safe(v) for k, v in value.items()}
    return value


def experiment_of(row: Columns) -> Experiment:
    """An ``experiments`` row."""
    return Experiment(
        experiment_id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        deleted_at=row["deleted_at"],
        tags=json.loads(row["tags"]),
    )


def _exact(exact: int | None, approx: float | None, value_type: str) -> int | None:
    """An int or bool metric's value: the exact column, or (rows written before it
    existed) the float one."""
    if exact is None:
        if approx is None or math.isnan(approx):
            return None
        exact = int(approx)
    return bool(exact) if value_type == "bool" else int(exact)


def summary_of(row: Columns) -> MetricSummary:
    """A ``metric_summaries`` row. Values come back exactly as logged: int and bool
    metrics from their int64 columns, a float's last value from its repr (the float64
    columns are the sort keys)."""
    count = int(row["count"])
    value_type: str = row["value_type"]
    last: MetricValue | None
    lo: float | int | None = row["min"]
    hi: float | int | None = row["max"]
    if value_type == "str":
        last = row["last_text"]
    elif value_type in ("int", "bool"):
        last = _exact(row["last_int"], row["last"], value_type)
        lo = _exact(row["min_int"], row["min"], value_type)
        hi = _exact(row["max_int"], row["max"], value_type)
    elif row["last_text"] is not None:
        last = float(row["last_text"])  # repr() of the float: exact, -0.0 and NaN too
    elif row["last"] is None:
        last = math.nan if count else None  # NaN is stored as NULL
    else:
        last = row["last"]
    return MetricSummary(
        key=row["key"],
        count=count,
        last=last,
        min=lo,
        max=hi,
        last_step=int(row["last_step"]),
        value_type=value_type,
    )
