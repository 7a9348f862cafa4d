"""What reading a runs list takes: any Store, or a reader that stands in for one where
opening the store would cost more than the read (``store.sql.reader``)."""

from __future__ import annotations

from typing import Protocol

from runyard.entities import Experiment, RunPage, RunQuery


class RunsReader(Protocol):
    """The read calls a runs list makes, as ``Store`` has them."""

    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    def search_runs(self, query: RunQuery) -> RunPage: ...
