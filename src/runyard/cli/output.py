"""How commands print: tables (numbers rounded, statuses coloured on a terminal) and
JSON in one shape per noun, documented in docs/cli.md:

- a list is always ``{"total": N, "<noun>s": [...]}`` (``total`` counts every match,
  the list holds the page shown);
- a run is always the object of :func:`run_json`, whichever command prints it.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from runyard.entities import MetricSummary, RunInfo, RunStatus

SIGNIFICANT_DIGITS = 4

STATUS_STYLES = {
    RunStatus.COMPLETED: "green",
    RunStatus.FAILED: "bold red",
    RunStatus.CANCELED: "yellow",
    RunStatus.RUNNING: "blue",
    RunStatus.FINALIZING: "blue",
    RunStatus.QUEUED: "cyan",
    RunStatus.PREPARING: "cyan",
    RunStatus.STARTING: "cyan",
    RunStatus.NOT_STARTED: "dim",
}


def json_value(v: Any) -> Any:
    """NaN and infinities as the strings ``"nan"``/``"inf"``/``"-inf"``: strict JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, allow_nan=False))


def list_json(noun: str, items: Sequence[Any], total: int | None = None) -> dict[str, Any]:
    """The one shape of every list: ``{"total": N, "<noun>s": [...]}``."""
    return {"total": len(items) if total is None else total, f"{noun}s": list(items)}


def summary_json(s: MetricSummary | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "count": s.count,
        "last": json_value(s.last),
        "min": json_value(s.min),
        "max": json_value(s.max),
    }


def run_json(info: RunInfo, summaries: Mapping[str, MetricSummary] | None = None) -> dict[str, Any]:
    """The one JSON shape of a run, in every command that prints one."""
    definition = dict(info.definition)
    env = definition.get("environment")
    return {
        "id": info.run_id,
        "number": info.number,
        "experiment_id": info.experiment_id,
        "display_name": info.display_name,
        "kind": info.kind.value,
        "status": info.status.value,
        "compute": info.compute_target,
        "created_at": info.created_at,
        "started_at": info.started_at,
        "ended_at": info.ended_at,
        "duration": info.duration,
        "parent_run_id": info.parent_run_id,
        "script": definition.get("script"),
        "arguments": list(definition.get("arguments") or []),
        "environment": env.get("name") if isinstance(env, Mapping) else None,
        "tags": dict(info.tags),
        "properties": dict(info.properties),
        "exit_code": info.exit_code,
        "error": info.error,
        "deleted_at": info.deleted_at,
        "metrics": {k: summary_json(v) for k, v in sorted((summaries or {}).items())},
    }


def fmt_number(v: Any) -> str:
    """A table cell: floats to 4 significant digits, everything else as it is."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{SIGNIFICANT_DIGITS}g}"
    return str(v)


def fmt_time(ts: float | None) -> str:
    if ts is None:
        return ""
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def status_text(status: RunStatus, tty: bool) -> str:
    """A status for a line of text: coloured (ANSI) on a terminal."""
    if not tty:
        return status.value
    style = STATUS_STYLES.get(status, "")
    colour = {"green": 32, "bold red": 31, "yellow": 33, "blue": 34, "cyan": 36}.get(style)
    return status.value if colour is None else f"\x1b[{colour}m{status.value}\x1b[0m"


def echo_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    """A rich table on a terminal (statuses coloured); tab-separated text when piped.
    Floats are rounded to 4 significant digits in both."""
    if not sys.stdout.isatty():
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(fmt_number(v) for v in row))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        # Text, never markup: names come from users and scripts, never interpret them.
        table.add_row(
            *(
                Text(v.value, style=STATUS_STYLES.get(v, ""))
                if isinstance(v, RunStatus)
                else Text(fmt_number(v))
                for v in row
            )
        )
    Console().print(table)
