"""A distributed run's metrics by rank (docs/distributed.md).

Rank 0 logs under plain names; rank r >= 1's points are stored as ``rank<r>/<name>`` (ingest
reads the rank from the journal's file name: :func:`runyard.tracking.ingest.rank_prefix`).
So ``run.get_metrics()`` of a distributed run answers rank 0's series, as a one-process
run answers its own; ``rank=r`` gives rank r's under their plain names, ``rank="all"``
every rank's, by rank number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runyard.errors import RunNotFoundError, ValidationError

if TYPE_CHECKING:
    from runyard.core.run import Run

RANK_KEY = re.compile(r"^rank([1-9][0-9]*)/")

Getter = Callable[[str | None], dict[str, Any]]


def is_distributed(definition: Mapping[str, Any]) -> bool:
    """Whether a run's definition asked for more than one process."""
    recorded = definition.get("distributed")
    return isinstance(recorded, Mapping) and int(recorded.get("processCount") or 1) > 1


def run_definition(run: Run) -> Mapping[str, Any]:
    """The run's definition where it can be read ({} for an offline run, a sink that
    holds no other rank's series, or a script whose environment cannot open the store)."""
    if not run._sink.holds_ranks:
        return {}  # a process's own journal: no store read (it may lack SQLAlchemy)
    if run._info is not None:
        return run._info.definition
    try:
        store = run._reader()
        return store.get_run(run.id).definition if store is not None else {}
    except (ImportError, RunNotFoundError):
        return {}


def rank_metrics(
    get: Getter,
    name: str | None,
    rank: int | str | None,
    definition: Callable[[], Mapping[str, Any]],
) -> dict[Any, Any]:
    """``get`` (a sink's ``get_metrics``) narrowed to ``rank``: None or 0 (rank 0), a
    rank number, or ``"all"`` (``{rank: {name: values}}``). ``definition`` is read only
    when it matters (no name, rank 0)."""
    if rank is None or rank == 0:
        if name is not None or not is_distributed(definition()):
            return get(name)  # a one-process run: its names as logged, whatever they are
        return {k: v for k, v in get(None).items() if not RANK_KEY.match(k)}
    if rank == "all":
        everything = get(None)
        ranks = sorted({int(m.group(1)) for k in everything if (m := RANK_KEY.match(k))})
        out: dict[Any, Any] = {0: rank_metrics(lambda _: everything, None, 0, definition)}
        for r in ranks:
            out[r] = _of_rank(everything, r, name)
        if name is not None:
            out[0] = {k: v for k, v in out[0].items() if k == name}
        return out
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 0:
        raise ValidationError(
            f"get_metrics(rank={rank!r}): give a rank number (0, 1, ...) or rank='all'"
        )
    if name is not None:
        return _of_rank(get(f"rank{rank}/{name}"), rank, name)
    return _of_rank(get(None), rank, None)


def _of_rank(metrics: Mapping[str, Any], rank: int, name: str | None) -> dict[str, Any]:
    prefix = f"rank{rank}/"
    found = {k[len(prefix) :]: v for k, v in metrics.items() if k.startswith(prefix)}
    return found if name is None else {k: v for k, v in found.items() if k == name}
