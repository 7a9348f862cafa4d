"""Tabular datasets as the SDK's time-series notebook uses them, on a real workspace:
partition folders read as columns (``partition_format``), ``with_timestamp_columns`` and
the ``time_*`` filters, column selection dropping the traits it removes, the SDK's
exception names, samples and splits; each result checked against pandas on the same
rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runyard.core import Dataset, Workspace
from runyard.errors import ValidationError
from runyard.exceptions import DatasetTimestampMissingError, UserErrorException

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

MONTHS = (1, 2, 3)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("RUNYARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RUNYARD_SECRETS_FILE", str(tmp_path / "secrets.json"))
    workspace = Workspace.create(tmp_path / "project")
    yield workspace
    workspace.close()


def _weather(tmp_path: Path) -> Any:
    """Three monthly parquet files (times in UTC, every 7 hours) under
    ``weather/2019/MM/data.parquet``; returns every row as one frame."""
    frames = []
    for month in MONTHS:
        times = pd.date_range(f"2019-{month:02d}-01", periods=90, freq="7h", tz="UTC")
        times = times[times.month == month]
        frame = pd.DataFrame(
            {
                "datetime": times,
                "snowDepth": [float(i % 5) for i in range(len(times))],
                "version": 1.0,
                "station": [f"s{i % 3}" for i in range(len(times))],
            }
        )
        folder = tmp_path / "weather" / "2019" / f"{month:02d}"
        folder.mkdir(parents=True)
        frame.to_parquet(folder / "data.parquet")
        frame["partition_time"] = datetime(2019, month, 1)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _dataset(ws: Workspace, tmp_path: Path) -> tuple[Any, Any]:
    rows = _weather(tmp_path)
    store = ws.get_default_datastore()
    store.upload(str(tmp_path / "weather"), "weather-florida", overwrite=True, show_progress=False)
    dataset = Dataset.Tabular.from_parquet_files(
        path=[(store, "weather-florida/*/*/data.parquet")],
        partition_format="weather-florida/{partition_time:yyyy/MM}/data.parquet",
    )
    return dataset, rows


def _same(got: Any, want: Any) -> None:
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False
    )


def test_partition_columns_timestamps_and_time_filters(ws: Workspace, tmp_path: Path) -> None:
    dataset, rows = _dataset(ws, tmp_path)
    df = dataset.to_pandas_dataframe()
    assert list(df.columns) == ["datetime", "snowDepth", "version", "station", "partition_time"]
    _same(df, rows)
    assert dataset.timestamp_columns == (None, None)

    tsd = dataset.with_timestamp_columns(timestamp="datetime", partition_timestamp="partition_time")
    tsd.register(ws, "weather", create_new_version=True, tags={"type": "TabularDataset"})
    tsd = Dataset.get_by_name(ws, name="weather")  # the traits are part of the version
    assert tsd.timestamp_columns == ("datetime", "partition_time")

    t = rows["datetime"]
    utc = lambda *a: pd.Timestamp(datetime(*a), tz="UTC")  # noqa: E731
    _same(tsd.time_before(datetime(2019, 2, 12)).to_pandas_dataframe(), rows[t <= utc(2019, 2, 12)])
    _same(tsd.time_after(datetime(2019, 1, 30)).to_pandas_dataframe(), rows[t >= utc(2019, 1, 30)])
    both = tsd.time_after(datetime(2019, 1, 1)).time_before(datetime(2019, 1, 10))
    _same(both.to_pandas_dataframe(), rows[(t >= utc(2019, 1, 1)) & (t <= utc(2019, 1, 10))])
    between = tsd.time_between(start_time=datetime(2019, 1, 31, 23, 59, 59), end_time="2019-02-07")
    want = rows[(t >= utc(2019, 1, 31, 23, 59, 59)) & (t <= utc(2019, 2, 7))]
    _same(between.to_pandas_dataframe(), want)
    # A boundary row is kept unless include_boundary=False.
    edge = rows["datetime"].iloc[5].to_pydatetime()
    assert len(tsd.time_before(edge).to_pandas_dataframe()) == 6
    assert len(tsd.time_before(edge, include_boundary=False).to_pandas_dataframe()) == 5
    # time_recent counts back from now: 2019 is long gone.
    assert len(tsd.time_recent(timedelta(days=2)).to_pandas_dataframe()) == 0
    assert len(tsd.time_recent(timedelta(days=365 * 100)).to_pandas_dataframe()) == len(rows)
    # Steps apply in the order asked, as in the SDK.
    after = datetime(2019, 2, 1)
    assert len(tsd.take(5).time_after(after).to_pandas_dataframe()) == 0
    _same(tsd.time_after(after).take(5).to_pandas_dataframe(), rows[t >= utc(2019, 2, 1)].head(5))


def test_column_selection_drops_the_traits_it_removes(ws: Workspace, tmp_path: Path) -> None:
    dataset, rows = _dataset(ws, tmp_path)
    tsd = dataset.with_timestamp_columns(timestamp="datetime", partition_timestamp="partition_time")
    no_time = tsd.drop_columns(columns=["snowDepth", "version", "datetime"])
    assert no_time.timestamp_columns == (None, None)
    assert list(no_time.take(5).to_pandas_dataframe().columns) == ["station", "partition_time"]
    with pytest.raises(DatasetTimestampMissingError, match="with_timestamp_columns"):
        no_time.time_before(datetime(2019, 6, 12))
    # A column the table lacks is nothing to drop (the notebook drops 'upload_date').
    kept = tsd.drop_columns(columns=["snowDepth", "version", "upload_date"])
    assert kept.timestamp_columns == ("datetime", "partition_time")
    assert len(kept.time_before(datetime(2019, 2, 1)).to_pandas_dataframe()) == int(
        (rows["datetime"] <= pd.Timestamp("2019-02-01", tz="UTC")).sum()
    )
    only_snow = tsd.keep_columns(columns=["snowDepth"], validate=False)
    assert list(only_snow.to_pandas_dataframe().columns) == ["snowDepth"]
    with pytest.raises(UserErrorException):  # the SDK's name for bad input
        only_snow.time_before(datetime(2019, 6, 12))
    partial = tsd.keep_columns(columns=["snowDepth", "datetime"])
    assert partial.timestamp_columns == ("datetime", None)
    with pytest.raises(ValidationError, match=r"\['nope'\] not in the dataset"):
        tsd.keep_columns(columns=["nope"], validate=True)
    with pytest.raises(ValidationError, match="keep_columns"):
        tsd.keep_columns(columns=["nope"]).to_pandas_dataframe()

    with pytest.raises(UserErrorException, match="only beside a timestamp"):
        tsd.with_timestamp_columns(timestamp=None, partition_timestamp="partition_time")
    cleared = tsd.with_timestamp_columns(timestamp=None, partition_timestamp=None)
    assert cleared.timestamp_columns == (None, None)
    again = cleared.with_timestamp_columns(timestamp="datetime", partition_timestamp=None)
    assert again.timestamp_columns == ("datetime", None)
    with pytest.raises(ValidationError, match=r"\['when'\]"):
        tsd.with_timestamp_columns(timestamp="when", validate=True)
    with pytest.raises(ValidationError, match="timestamp columns"):
        tsd.with_timestamp_columns(timestamp="when").time_before(datetime(2019, 1, 2))
    with pytest.raises(ValidationError, match="must be a datetime"):
        tsd.time_after(20190101)  # type: ignore[arg-type]


def test_partition_format_paths_samples_and_splits(ws: Workspace, tmp_path: Path) -> None:
    store = ws.get_default_datastore()
    for dept in ("Accounts", "Sales"):
        folder = tmp_path / "sales" / dept / "2019" / "01" / "05"
        folder.mkdir(parents=True)
        (folder / "data.csv").write_text("amount\n1\n2\n3\n", encoding="utf-8")
    store.upload(str(tmp_path / "sales"), "sales", show_progress=False)
    table = Dataset.Tabular.from_delimited_files(
        path=(store, "sales/**/data.csv"),
        partition_format="/{Department}/{PartitionDate:yyyy/MM/dd}/data.csv",
        include_path=True,
    )
    df = table.to_pandas_dataframe()
    assert list(df["Department"]) == ["Accounts"] * 3 + ["Sales"] * 3
    assert set(df["PartitionDate"]) == {pd.Timestamp(2019, 1, 5)}
    assert df["Path"].iloc[0] == "/sales/Accounts/2019/01/05/data.csv"
    with pytest.raises(ValidationError, match="does not match partition_format"):
        Dataset.Tabular.from_delimited_files(
            path=(store, "sales/**/data.csv"),
            partition_format="/{Department}/{PartitionDate:yyyy/MM}/data.csv",  # no day
        )
    with pytest.raises(ValidationError, match="not a date part"):
        Dataset.Tabular.from_delimited_files(
            path=(store, "sales/**/data.csv"), partition_format="/{D:yyyy-QQ}/data.csv"
        )

    big = pd.DataFrame({"i": range(1000)})
    big.to_csv(tmp_path / "big.csv", index=False)
    store.upload_files([str(tmp_path / "big.csv")], target_path="big", show_progress=False)
    rows = Dataset.Tabular.from_delimited_files(path=(store, "big/big.csv"))
    train, test = rows.random_split(percentage=0.8, seed=7)
    a, b = set(train.to_pandas_dataframe()["i"]), set(test.to_pandas_dataframe()["i"])
    assert a.isdisjoint(b) and a | b == set(range(1000)) and 700 < len(a) < 900
    assert set(train.to_pandas_dataframe()["i"]) == a  # the same rows on every read
    sample = rows.take_sample(0.1, seed=3)
    assert list(sample.to_pandas_dataframe()["i"]) == list(sample.to_pandas_dataframe()["i"])
    assert 50 < len(sample.to_pandas_dataframe()) < 150
    unseeded = rows.take_sample(0.5)  # a seed drawn now, kept in the definition
    assert list(unseeded.to_pandas_dataframe()["i"]) == list(unseeded.to_pandas_dataframe()["i"])
    with pytest.raises(ValidationError, match="from 0 to 1"):
        rows.take_sample(1.5)
