"""Soak variants run only when asked for by marker (``make soak`` = ``pytest -m soak``),
so that ``pytest tests/reliability`` alone stays within the default time budget."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "soak" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="soak variant: run with `make soak` (pytest -m soak)")
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(skip)
