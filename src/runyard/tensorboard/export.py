"""``export_to_tensorboard(run_data, logsdir)``: a run's metrics as TensorBoard event
files (the SDK's ``azureml.tensorboard.export``).

Each run gets its own folder, ``LOGSDIR/<run id>/`` (its child runs ``<parent id>/<child
id>/`` with ``recursive``), holding one event file written by TensorBoard's own
``EventFileWriter``, so any TensorBoard reads it. Every numeric point becomes a scalar
at its step and wall time, as logged; string metrics, lists, rows and tables have no
scalar form and are left out (a note says which).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.errors import ConfigError, ValidationError

if TYPE_CHECKING:
    from runyard.core.run import Run

_log = logging.getLogger(__name__)
_NUMERIC = frozenset({"float", "int", "bool"})


def export_to_tensorboard(
    run_data: Run | Iterable[Run],
    logsdir: str | Path,
    logger: logging.Logger | None = None,
    recursive: bool = True,
) -> None:
    """Writes the runs' metrics (``run_data``: a run or a list of runs; with
    ``recursive``, their child runs too) as TensorBoard logs under ``logsdir``."""
    from runyard.core.run import Run

    say = logger or _log
    runs = [run_data] if isinstance(run_data, Run) else list(run_data)
    for run in runs:
        if not isinstance(run, Run):
            raise ValidationError(
                f"export_to_tensorboard takes a Run or a list of runs, got {type(run).__name__}"
            )
    root = Path(logsdir)
    for run in runs:
        for folder, each in _with_children(run, root / run.id, recursive):
            _export_one(each, folder, say)


def _with_children(run: Run, folder: Path, recursive: bool) -> Iterator[tuple[Path, Run]]:
    yield folder, run
    if recursive:
        for child in run.get_children():
            yield from _with_children(child, folder / child.id, recursive)


def _export_one(run: Run, folder: Path, say: logging.Logger) -> None:
    writer_cls, event_cls, summary_cls = _tensorboard()
    run.flush()  # a run this process logs: what it logged, ingested now, is exported
    store = run._require_store("metrics to export")
    summaries = store.get_metric_summaries(run.id)
    skipped = sorted(k for k, s in summaries.items() if s.value_type not in _NUMERIC)
    if skipped:
        say.info("run %s: %s have no scalar form; not exported", run.id, ", ".join(skipped))
    folder.mkdir(parents=True, exist_ok=True)
    writer = writer_cls(str(folder))
    try:
        for key in sorted(k for k in summaries if k not in skipped):
            series = store.get_metric_series(run.id, key)
            for step, stamp, value in zip(
                series.steps, series.timestamps, series.values, strict=True
            ):
                summary = summary_cls(value=[summary_cls.Value(tag=key, simple_value=value)])
                writer.add_event(event_cls(wall_time=stamp, step=step, summary=summary))
    finally:
        writer.close()
    say.info("run %s: %d metrics exported to %s", run.id, len(summaries) - len(skipped), folder)


def _tensorboard() -> tuple[Any, Any, Any]:
    try:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ConfigError(
            "exporting to TensorBoard needs the tensorboard package: pip install "
            "'runyard[tensorboard]' (or pip install tensorboard)"
        ) from None
    return EventFileWriter, Event, Summary
