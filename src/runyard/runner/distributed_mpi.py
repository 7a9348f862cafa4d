"""One rank of an MPI run, as ``mpirun`` starts it::

    mpirun -np N PYTHON -m runyard.runner.distributed_mpi LOGS_DIR JOURNAL SCRIPT [ARGS...]

``mpirun`` gives each rank its number in its own variables (Open MPI's
``OMPI_COMM_WORLD_RANK``, MPICH's and Intel MPI's ``PMI_RANK``, PMIx's ``PMIX_RANK``).
This bootstrap turns them into what every rank of a Runyard run has (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, its own journal
``journal.rank<r>.bin`` and log ``user_logs/std_log_process_<r>.txt``), then runs the
script as ``__main__`` in this same process, so the MPI library the script loads is the
one ``mpirun`` set up. Kept to the standard library and :mod:`runyard.runner.distributed`.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Mapping
from pathlib import Path

from runyard.config import ENV_JOURNAL
from runyard.runner.distributed import RANK_LOG, rank_journal

_RANK = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "MV2_COMM_WORLD_RANK")
_SIZE = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")
_LOCAL_RANK = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "MV2_COMM_WORLD_LOCAL_RANK")
_LOCAL_SIZE = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_LOCAL_SIZE")


def _first(env: Mapping[str, str], names: tuple[str, ...], default: str | None) -> str:
    for name in names:
        if env.get(name):
            return env[name]
    if default is None:
        raise SystemExit(
            "runyard.runner.distributed_mpi: started without an MPI rank (none of "
            f"{', '.join(names)} is set); it is started by mpirun for an MpiConfiguration run"
        )
    return default


def rank_variables(env: Mapping[str, str], journal: Path) -> dict[str, str]:
    """The variables a rank started by mpirun gets, read from mpirun's own."""
    rank = _first(env, _RANK, None)
    size = _first(env, _SIZE, "1")
    return {
        "RANK": rank,
        "WORLD_SIZE": size,
        "LOCAL_RANK": _first(env, _LOCAL_RANK, rank),
        "LOCAL_WORLD_SIZE": _first(env, _LOCAL_SIZE, size),
        ENV_JOURNAL: str(rank_journal(journal, int(rank))),
    }


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        raise SystemExit("usage: python -m runyard.runner.distributed_mpi LOGS JOURNAL SCRIPT ...")
    logs_dir, journal, script, *args = argv
    variables = rank_variables(os.environ, Path(journal))
    os.environ.update(variables)
    log = Path(logs_dir) / RANK_LOG.format(rank=variables["RANK"])
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)  # the rank's own file, as the ranks of a PyTorch run write theirs
    os.dup2(fd, 2)
    os.close(fd)
    sys.argv = [script, *args]
    sys.path[0] = str(Path(script).resolve().parent)  # as `python script` would have it
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
