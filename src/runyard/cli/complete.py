"""Shell completion of run ids and experiment names (click's ``shell_complete``).

Completion must never print a traceback into the user's shell, so a workspace that
cannot be opened completes nothing.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem

from runyard.cli.common import CliContext
from runyard.entities import RunQuery

MAX_SUGGESTIONS = 200


def complete_run_ids(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The newest runs whose id starts with what was typed."""
    try:
        store = ctx.ensure_object(CliContext).ws.store
        page = store.search_runs(RunQuery(text=incomplete, limit=MAX_SUGGESTIONS))
    except Exception:  # see the module docstring
        return []
    return [
        CompletionItem(r.run_id, help=f"{r.status.value} {r.display_name}".strip())
        for r in page.runs
        if r.run_id.startswith(incomplete)
    ]


def complete_experiments(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Experiment names that start with what was typed."""
    try:
        stats = ctx.ensure_object(CliContext).ws.store.list_experiments()
    except Exception:  # see the module docstring
        return []
    return [
        CompletionItem(s.experiment.name, help=f"{s.run_count} runs")
        for s in stats
        if s.experiment.name.startswith(incomplete)
    ]


def complete_compute(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Compute target names of the workspace."""
    try:
        names = sorted(ctx.ensure_object(CliContext).ws.compute_targets)
    except Exception:  # see the module docstring
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]
