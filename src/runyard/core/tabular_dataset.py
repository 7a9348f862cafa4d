"""Tabular datasets (``runyard.data.TabularDataset``): delimited or parquet files read
as one table with pandas (an optional dependency), with the SDK's column selection,
sampling and time-series filters (``with_timestamp_columns`` then ``time_before`` and
the like). Each call returns a new dataset whose definition has one more step (see
``tabular_steps``); nothing is read until ``to_pandas_dataframe()``."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from runyard.assets import datasets as _ds
from runyard.core.file_dataset import AbstractDataset, MountContext
from runyard.core.partition_format import PartitionFormat
from runyard.core.tabular_steps import apply_steps, time_bound
from runyard.errors import DatasetTimestampMissingError, ValidationError

__all__ = ["TabularDataset"]


class TabularDataset(AbstractDataset):
    """Delimited or parquet files read as one table (``runyard.data.TabularDataset``)."""

    kind = "tabular"

    def _with(self, **changes: Any) -> TabularDataset:
        tabular = {**(self.definition.get("tabular") or {}), **changes}
        return TabularDataset({**self.definition, "tabular": tabular}, workspace=self._workspace)

    @property
    def _tab(self) -> dict[str, Any]:
        return dict(self.definition.get("tabular") or {})

    def _step(self, op: str, **fields: Any) -> TabularDataset:
        return self._with(steps=[*(self._tab.get("steps") or []), {"op": op, **fields}])

    # -- rows ---------------------------------------------------------------------------

    def take(self, count: int) -> TabularDataset:
        """The first ``count`` rows."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValidationError("take(count) needs a whole number >= 0")
        return self._step("take", count=count)

    def skip(self, count: int) -> TabularDataset:
        """All rows but the first ``count``."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValidationError("skip(count) needs a whole number >= 0")
        return self._step("skip", count=count)

    def take_sample(self, probability: float, seed: int | None = None) -> TabularDataset:
        """Each row kept with ``probability`` (a fixed ``seed`` gives the same rows on
        every read; without one, a seed is drawn now and kept)."""
        return self._step("sample", probability=_fraction(probability), seed=_seed(seed))

    def random_split(
        self, percentage: float, seed: int | None = None
    ) -> tuple[TabularDataset, TabularDataset]:
        """Two datasets: about ``percentage`` of the rows, and the rest (no row in both)."""
        p, s = _fraction(percentage), _seed(seed)
        return (
            self._step("sample", probability=p, seed=s, part="below"),
            self._step("sample", probability=p, seed=s, part="above"),
        )

    # -- columns ------------------------------------------------------------------------

    def drop_columns(self, columns: str | Sequence[str]) -> TabularDataset:
        """Without ``columns``; a timestamp column dropped drops that trait too."""
        names = _names(columns, "drop_columns")
        return self._step("drop", columns=names)._without_timestamps(names)

    def keep_columns(self, columns: str | Sequence[str], validate: bool = False) -> TabularDataset:
        """Only ``columns`` (``validate``: check now that the table has them); a
        timestamp column left out drops that trait."""
        names = _names(columns, "keep_columns")
        kept = self._step("keep", columns=names)
        if validate:
            kept._columns()
        ts, pts = self.timestamp_columns
        return kept._without_timestamps([c for c in (ts, pts) if c and c not in names])

    def _without_timestamps(self, gone: Sequence[str]) -> TabularDataset:
        ts, pts = self.timestamp_columns
        if ts in gone:  # a partition timestamp needs a timestamp beside it
            return self._with(timestamp=None, partition_timestamp=None)
        return self._with(partition_timestamp=None) if pts in gone else self

    # -- time series --------------------------------------------------------------------

    @property
    def timestamp_columns(self) -> tuple[str | None, str | None]:
        """(timestamp, partition_timestamp), as ``with_timestamp_columns`` set them."""
        return self._tab.get("timestamp"), self._tab.get("partition_timestamp")

    def with_timestamp_columns(
        self,
        timestamp: str | None = None,
        partition_timestamp: str | None = None,
        validate: bool = False,
        **kwargs: Any,
    ) -> TabularDataset:
        """The columns the ``time_*`` filters read: ``timestamp`` (each row's time) and
        optionally ``partition_timestamp`` (a coarser one, e.g. a ``partition_format``
        date). Both None clears them."""
        timestamp = kwargs.pop("fine_grain_timestamp", timestamp)  # the SDK's older names
        partition_timestamp = kwargs.pop("coarse_grain_timestamp", partition_timestamp)
        if kwargs:
            raise ValidationError(
                f"with_timestamp_columns() got unknown arguments {sorted(kwargs)}"
            )
        if timestamp is None and partition_timestamp is not None:
            raise ValidationError(
                "partition_timestamp can be set only beside a timestamp: pass "
                "timestamp='<column>' too, or None for both to clear them"
            )
        if timestamp is not None and timestamp == partition_timestamp:
            raise ValidationError(f"timestamp and partition_timestamp are both {timestamp!r}")
        for column in (timestamp, partition_timestamp):
            if column is not None and (not isinstance(column, str) or not column):
                raise ValidationError(f"a timestamp column is a column name, not {column!r}")
        out = self._with(timestamp=timestamp, partition_timestamp=partition_timestamp)
        if validate:
            have = out._columns()
            missing = [c for c in (timestamp, partition_timestamp) if c and c not in have]
            if missing:
                raise ValidationError(f"timestamp columns {missing} not in the dataset {have}")
        return out

    def time_before(
        self, end_time: datetime, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """The rows up to ``end_time`` (at it too, with ``include_boundary``)."""
        return self._time("time_before", None, end_time, include_boundary, validate)

    def time_after(
        self, start_time: datetime, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """The rows from ``start_time`` on."""
        return self._time("time_after", start_time, None, include_boundary, validate)

    def time_between(
        self,
        start_time: datetime,
        end_time: datetime,
        include_boundary: bool = True,
        validate: bool = True,
    ) -> TabularDataset:
        """The rows from ``start_time`` to ``end_time``."""
        return self._time("time_between", start_time, end_time, include_boundary, validate)

    def time_recent(
        self, time_delta: timedelta, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """The rows of the last ``time_delta`` before now (now: when this is called)."""
        if not isinstance(time_delta, timedelta):
            raise ValidationError(
                "time_recent(time_delta) needs a timedelta, e.g. timedelta(days=2)"
            )
        start = datetime.now() - time_delta
        return self._time("time_recent", start, None, include_boundary, validate)

    def _time(
        self, method: str, lower: Any, upper: Any, include_boundary: bool, validate: bool
    ) -> TabularDataset:
        ts, pts = self.timestamp_columns
        if ts is None:
            raise DatasetTimestampMissingError(
                f"{method}() needs the dataset's timestamp column; set it first with "
                "with_timestamp_columns(timestamp='<column>')"
            )
        out = self._step(
            "time",
            column=ts,
            lower=time_bound(lower, f"{method}: start_time"),
            upper=time_bound(upper, f"{method}: end_time"),
            include_boundary=bool(include_boundary),
        )
        if validate:
            have = self._columns()
            missing = [c for c in (ts, pts) if c and c not in have]
            if missing:
                raise ValidationError(
                    f"{method}(): timestamp columns {missing} are not in the dataset "
                    f"(its columns: {have}); fix them with with_timestamp_columns()"
                )
        return out

    # -- reading ------------------------------------------------------------------------

    def _columns(self) -> list[str]:
        """The table's columns, from its first file (what ``validate`` checks)."""
        return list(self._read(first_only=True).columns)

    def to_pandas_dataframe(
        self, on_error: str = "null", out_of_range_datetime: str = "null"
    ) -> Any:
        """The table: every file read and joined, then each step in turn."""
        return self._read(first_only=False)

    def _read(self, *, first_only: bool) -> Any:
        try:
            import pandas as pd
        except ImportError:
            raise ValidationError(
                "to_pandas_dataframe() needs pandas: `pip install pandas` (or "
                "`pip install 'runyard[assets]'`, which also brings pyarrow for parquet)"
            ) from None
        tab = self._tab
        parts = (
            PartitionFormat.parse(tab["partition_format"]) if tab.get("partition_format") else None
        )
        where: dict[str, str] = {}
        if parts is not None or tab.get("include_path"):
            where = {name: path for name, path, _ in _ds.list_files(self.definition)}
        with MountContext(self, None) as mounted:
            folder = Path(mounted.mount_point)
            frames = []
            for name in self._names()[:1] if first_only else self._names():
                frame = _read_file(pd, folder / name, tab)
                if tab.get("include_path"):
                    frame["Path"] = "/" + where.get(name, name)
                for column, value in (parts.values(where.get(name, name)) if parts else {}).items():
                    frame[column] = value
                frames.append(frame)
            df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        steps = tab.get("steps") or []
        if first_only:  # the columns only: no row step can change them
            tab = {"steps": [s for s in steps if s["op"] in ("drop", "keep")]}
        return apply_steps(df, tab)


def _read_file(pd: Any, path: Path, tab: dict[str, Any]) -> Any:
    if tab.get("format") == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(
        path,
        sep=tab.get("separator", ","),
        header=0 if tab.get("header", True) else None,
        encoding=tab.get("encoding", "utf8"),
    )


def _names(columns: str | Sequence[str], method: str) -> list[str]:
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names or not all(isinstance(c, str) and c for c in names):
        raise ValidationError(f"{method}(columns) needs a column name or a list of them")
    return names


def _fraction(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(f"a probability or percentage is a number from 0 to 1, not {value!r}")
    return float(value)


def _seed(seed: int | None) -> int:
    if seed is None:
        return random.randrange(2**31)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValidationError(f"seed must be a whole number, not {seed!r}")
    return seed
