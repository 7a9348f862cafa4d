"""What the notebook widget shows of a run, read from its store: status, each scalar
metric's points (down-sampled, peaks and troughs kept) and the driver log's tail.

A plain-JSON dict, so that the same state feeds the live widget (its model) and the
static HTML snapshot a notebook keeps when it is rendered without a kernel."""

from __future__ import annotations

import codecs
import math
import time
from typing import Any

from runyard.entities import MetricValue, RunInfo
from runyard.store.artifacts import DRIVER_LOG
from runyard.store.base import Store
from runyard.widgets.sweep import sweep_state

# Points per chart sent to the widget: a notebook cell is at most ~1,000 px wide, and the
# store keeps each bucket's min and max, so a spike survives the down-sampling.
MAX_POINTS = 1000
# The log tail shown (characters); older text scrolls out, as a terminal's would.
LOG_TAIL_CHARS = 8000


class LogTail:
    """The driver log read incrementally: each poll reads only the bytes added since."""

    def __init__(self) -> None:
        self.offset = 0
        self.text = ""
        # Keeps a UTF-8 character split across two reads for the next one.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read(self, store: Store, run_id: str) -> bool:
        """Reads what was appended; True when the tail changed."""
        try:
            data = store.artifacts.read_bytes(run_id, DRIVER_LOG, self.offset)
        except (LookupError, OSError):
            return False
        if not data:
            return False
        self.offset += len(data)
        self.text = (self.text + self._decoder.decode(data))[-LOG_TAIL_CHARS:]
        return True


def _number(value: MetricValue) -> float | None:
    """A chartable float, or None (a string metric; NaN and infinities break a line)."""
    if isinstance(value, str):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _plain(value: MetricValue | None) -> Any:
    """A JSON-safe value: non-finite floats become their names, as the studio shows them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def run_summary(info: RunInfo) -> dict[str, Any]:
    """The run's header: name, status, times, error."""
    return {
        "run_id": info.run_id,
        "number": info.number,
        "display_name": info.display_name or info.run_id,
        "status": info.status.value,
        "terminal": info.status.is_terminal(),
        "created_at": info.created_at,
        "started_at": info.started_at,
        "ended_at": info.ended_at,
        "duration": info.duration,
        "error": info.error or "",
        "change_seq": info.change_seq,
        "updated_at": time.time(),
    }


def metric_charts(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Each metric: its summary, and for a numeric one its (down-sampled) points."""
    charts: list[dict[str, Any]] = []
    summaries = store.get_metric_summaries(run_id)
    for key in sorted(summaries):
        summary = summaries[key]
        chart: dict[str, Any] = {
            "key": key,
            "count": summary.count,
            "last": _plain(summary.last),
            "min": _plain(summary.min),
            "max": _plain(summary.max),
            "value_type": summary.value_type,
            "steps": [],
            "values": [],
        }
        if summary.value_type != "str" and summary.count > 0:
            series = store.get_metric_series(run_id, key, max_points=MAX_POINTS)
            chart["steps"] = list(series.steps)
            chart["values"] = [_number(v) for v in series.values]
            chart["downsampled"] = series.downsampled
        charts.append(chart)
    return charts


def read_state(store: Store, run_id: str, log: LogTail) -> dict[str, Any]:
    """The whole widget state, read now."""
    info = store.get_run(run_id)
    log.read(store, run_id)
    return {
        "run": run_summary(info),
        "metrics": metric_charts(store, run_id),
        "log": log.text,
        "sweep": sweep_state(store, info),  # None unless the run is a sweep's parent
    }
