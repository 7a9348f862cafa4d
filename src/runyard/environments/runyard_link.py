"""Making ``runyard`` importable inside a run's environment.

A training script needs ``from runyard.core import Run`` and ``run.log()``, which use
only the standard library (the journal) — not the store, SQLAlchemy or numpy. So instead
of installing Runyard into every environment (and changing its hash), the runner puts a
folder on the script's ``PYTHONPATH`` that holds nothing but a link to this ``runyard``
package. The script's other imports still come from its own environment.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import runyard
from runyard.config import cache_dir


def runyard_link_folder() -> Path:
    """A folder whose only entry is ``runyard``, a link to this installation's package."""
    package = Path(runyard.__file__).resolve().parent
    key = hashlib.sha256(str(package).encode()).hexdigest()[:16]
    folder = cache_dir() / "runyard-link" / key
    link = folder / "runyard"
    if link.is_symlink() and link.resolve() == package:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".runyard.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(package, target_is_directory=True)
    os.replace(tmp, link)  # atomic: concurrent runners never see a missing link
    return folder


def put_runyard_on_path(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` with the link folder first on ``PYTHONPATH``."""
    current = environ.get("PYTHONPATH", "")
    folder = str(runyard_link_folder())
    environ["PYTHONPATH"] = folder + (os.pathsep + current if current else "")
    return environ
