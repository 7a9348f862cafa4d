"""The wire format of the REST API, shared by the server and the HTTP client.

Every request and response body is a pydantic model here (the server's routes take and
answer them, FastAPI builds the OpenAPI schema from them, ``runyard.remote`` sends and
reads them), plus the one error table (:mod:`runyard.wire.errors`) and the one encoding
of values (:mod:`runyard.wire.values`). Models named ``...In`` are request bodies and
refuse unknown fields; ``...Out`` are answers. ``X.of(entity)`` builds one from
entities, ``x.to_entity()`` turns it back.
"""

from __future__ import annotations

from typing import Any

from runyard import entities as _entities

# Each module names its public models in ``__all__``: a new wire type is one class in
# the module of its noun, listed there, and nothing else.
from runyard.wire import assets, environments, errors, experiments, files, metrics, runs, values
from runyard.wire.assets import *  # noqa: F403
from runyard.wire.environments import *  # noqa: F403
from runyard.wire.errors import *  # noqa: F403
from runyard.wire.experiments import *  # noqa: F403
from runyard.wire.files import *  # noqa: F403
from runyard.wire.metrics import *  # noqa: F403
from runyard.wire.runs import *  # noqa: F403
from runyard.wire.values import *  # noqa: F403

__all__ = ["run_json", "series_json", "summary_json"]
__all__ += assets.__all__
__all__ += environments.__all__
__all__ += errors.__all__
__all__ += experiments.__all__
__all__ += files.__all__
__all__ += metrics.__all__
__all__ += runs.__all__
__all__ += values.__all__


def run_json(run: _entities.RunInfo) -> dict[str, Any]:
    """A run as a JSON-able dict, exactly as the API answers it (for pages, streams)."""
    return runs.RunOut.of(run).model_dump(mode="json")


def summary_json(summary: _entities.MetricSummary) -> dict[str, Any]:
    return metrics.SummaryOut.of(summary).model_dump(mode="json")


def series_json(series: _entities.MetricSeries, value_type: str, start: int) -> dict[str, Any]:
    return metrics.SeriesOut.of(series, value_type, start).model_dump(mode="json")
