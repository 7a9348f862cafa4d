"""Tabular datasets (``runyard.data.TabularDataset``): delimited or parquet files read
as one table with pandas (an optional dependency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runyard.core.file_dataset import AbstractDataset, MountContext
from runyard.errors import ValidationError

__all__ = ["TabularDataset"]


class TabularDataset(AbstractDataset):
    """Delimited or parquet files read as one table (``runyard.data.TabularDataset``)."""

    kind = "tabular"

    def _with(self, **changes: Any) -> TabularDataset:
        tabular = {**(self.definition.get("tabular") or {}), **changes}
        return TabularDataset({**self.definition, "tabular": tabular}, workspace=self._workspace)

    def take(self, count: int) -> TabularDataset:
        """The first ``count`` rows (after any skip)."""
        if not isinstance(count, int) or count < 0:
            raise ValidationError("take(count) needs a whole number >= 0")
        current = (self.definition.get("tabular") or {}).get("take")
        return self._with(take=count if current is None else min(current, count))

    def skip(self, count: int) -> TabularDataset:
        """All rows but the first ``count``."""
        if not isinstance(count, int) or count < 0:
            raise ValidationError("skip(count) needs a whole number >= 0")
        tab = self.definition.get("tabular") or {}
        take = tab.get("take")
        return self._with(
            skip=int(tab.get("skip") or 0) + count,
            take=None if take is None else max(0, take - count),
        )

    def to_pandas_dataframe(
        self, on_error: str = "null", out_of_range_datetime: str = "null"
    ) -> Any:
        try:
            import pandas as pd
        except ImportError:
            raise ValidationError(
                "to_pandas_dataframe() needs pandas: `pip install pandas` (or "
                "`pip install 'runyard[assets]'`, which also brings pyarrow for parquet)"
            ) from None
        tab = self.definition.get("tabular") or {}
        with MountContext(self, None) as mounted:
            folder = Path(mounted.mount_point)
            frames = []
            for name in self._names():
                path = folder / name
                if tab.get("format") == "parquet":
                    frames.append(pd.read_parquet(path))
                else:
                    frames.append(
                        pd.read_csv(
                            path,
                            sep=tab.get("separator", ","),
                            header=0 if tab.get("header", True) else None,
                            encoding=tab.get("encoding", "utf8"),
                        )
                    )
            df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        skip = int(tab.get("skip") or 0)
        take = tab.get("take")
        end = None if take is None else skip + int(take)
        return df.iloc[skip:end].reset_index(drop=True)
