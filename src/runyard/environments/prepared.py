"""What the runner gets back: the interpreter to run a script with, and its settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# The name reported for ``spec=None``: the interpreter that submitted the run.
SUBMITTING_INTERPRETER = "submitting-interpreter"


@dataclass(frozen=True)
class PreparedEnvironment:
    """A ready environment.

    ``python`` is the interpreter to start the script with (inside a built venv, or a
    user-managed interpreter, or ``sys.executable`` for no spec); ``lock`` the exact
    versions installed (``""`` for user-managed and no spec); ``spec_hash`` the spec's
    content hash (``""`` for no spec).
    """

    python: Path
    environment_variables: dict[str, str] = field(default_factory=dict)
    spec_hash: str = ""
    lock: str = ""
    name: str = ""
    version: int | None = None
