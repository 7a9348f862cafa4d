"""Making ``runyard`` importable inside a run's environment.

A training script needs ``from runyard.core import Run`` and ``run.log()``, which use
only the standard library (the journal) — not the store, SQLAlchemy or numpy. So instead
of installing Runyard into every environment (and changing its hash), the runner puts a
folder on the script's ``PYTHONPATH`` that holds nothing but a link to this ``runyard``
package. The script's other imports still come from its own environment.

The folder also holds a ``runyard`` dist-info with Runyard's entry points alone, so that
MLflow installed in the environment finds the ``runyard:`` tracking store the runner
points ``MLFLOW_TRACKING_URI`` at (entry points are found through dist-info folders on
the path).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import runyard
from runyard.config import ENV_CLIENT_SITE, cache_dir, client_site


def runyard_link_folder() -> Path:
    """A folder holding ``runyard``, a link to this installation's package, and its
    dist-info (the MLflow entry points)."""
    package = Path(runyard.__file__).resolve().parent
    key = hashlib.sha256(str(package).encode()).hexdigest()[:16]
    folder = cache_dir() / "runyard-link" / key
    link = folder / "runyard"
    if link.is_symlink() and link.resolve() == package:
        if not (folder / f"runyard-{runyard.__version__}.dist-info").is_dir():
            _write_entry_points(folder)  # a link folder made before entry points were
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    _write_entry_points(folder)
    tmp = folder / f".runyard.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(package, target_is_directory=True)
    os.replace(tmp, link)  # atomic: concurrent runners never see a missing link
    return folder


def put_runyard_on_path(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` with the link folder first on ``PYTHONPATH``, and this installation's
    site-packages named for the store's imports (``config.use_client_site``)."""
    current = environ.get("PYTHONPATH", "")
    folder = str(runyard_link_folder())
    environ["PYTHONPATH"] = folder + (os.pathsep + current if current else "")
    environ[ENV_CLIENT_SITE] = client_site()
    return environ


_PLUGIN_GROUPS = (
    "[mlflow.tracking_store]",
    "[mlflow.artifact_repository]",
    "[mlflow.model_registry_store]",
)


def _write_entry_points(folder: Path) -> None:
    """``runyard-VERSION.dist-info`` with this installation's MLflow entry points."""
    from importlib import metadata

    try:
        text = metadata.distribution("runyard").read_text("entry_points.txt") or ""
    except metadata.PackageNotFoundError:  # runyard run from a source tree, not installed
        return
    kept, keep = [], False
    for line in text.splitlines():
        if line.startswith("["):
            keep = line.strip() in _PLUGIN_GROUPS
        if keep:
            kept.append(line)
    info = folder / f"runyard-{runyard.__version__}.dist-info"
    tmp = folder / f".dist-info.{os.getpid()}.tmp"
    tmp.mkdir(exist_ok=True)
    (tmp / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: runyard\nVersion: {runyard.__version__}\n"
    )
    (tmp / "entry_points.txt").write_text("\n".join(kept) + "\n")
    try:
        os.replace(tmp, info)  # atomic; a concurrent runner's identical copy may win
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
