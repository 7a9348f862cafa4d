"""Byte-code for a new environment, reused from its siblings in the cache.

Compiling is most of a build's time (torch: ~7,000 files, 10 s or more on two cores)
while installing takes a second, because uv hard-links files from its own cache. The
hard-linked sources of an identical wheel share one inode, hence one mtime and size,
which is all a timestamp ``.pyc`` records; so a ``.pyc`` compiled in one environment is
valid in every other that installed the same wheel. Before compiling, the new
environment hard-links the ``.pyc`` files of each distribution whose ``RECORD`` is
byte-identical in a finished sibling of the same Python version, and compiles only the
rest. The import system checks each header against its source on every import, so a
wrong guess costs time, never correctness. Python rewrites a stale ``.pyc`` by
replacing the file, never in place, so sharing the inode is safe, and deleting one
environment leaves the others whole.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from runyard.environments.cache import MARKER


def site_packages(env: Path) -> Path | None:
    """The ``site-packages`` folder of a venv (None if it has none or several)."""
    found = list(env.glob("lib/python*/site-packages"))
    return found[0] if len(found) == 1 else None


def _python_tag(env: Path) -> str | None:
    """``cpython-311`` from a venv's ``pyvenv.cfg``; None when unknown."""
    try:
        text = (env / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return None
    values = dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (line.partition("=") for line in text.splitlines())
        if _
    )
    implementation = values.get("implementation", "CPython").lower()
    parts = values.get("version_info", values.get("version", "")).split(".")
    if implementation != "cpython" or len(parts) < 2:
        return None
    return f"cpython-{parts[0]}{parts[1]}"


def _record_paths(record: bytes) -> list[str]:
    """The ``.py`` files a RECORD lists inside site-packages."""
    rows = csv.reader(io.StringIO(record.decode("utf-8", errors="replace")))
    paths = (row[0] for row in rows if row and row[0].endswith(".py"))
    return [p for p in paths if not Path(p).is_absolute() and ".." not in Path(p).parts]


def _siblings(new_env: Path, tag: str) -> list[Path]:
    out = []
    for entry in new_env.parent.iterdir():
        if entry.name.startswith(".") or not (entry / MARKER).is_file():
            continue
        site = site_packages(entry)
        if site is not None and _python_tag(entry) == tag:
            out.append(site)
    return out


@dataclass
class Plan:
    """What seeding did, and what is left to compile."""

    seeded_dists: int = 0
    seeded_files: int = 0
    to_compile: list[Path] = field(default_factory=list)
    whole_tree: bool = False  # a distribution without RECORD: compile everything


def seed_from_siblings(new_env: Path) -> Plan:
    """Hard-links ``.pyc`` files from finished environments next to ``new_env`` for
    every distribution they share byte for byte, and lists the sources still to
    compile."""
    plan = Plan()
    site = site_packages(new_env)
    tag = _python_tag(new_env)
    if site is None or tag is None:
        plan.whole_tree = site is not None
        return plan
    siblings = _siblings(new_env, tag)
    for dist_info in sorted(site.glob("*.dist-info")):
        try:
            record = (dist_info / "RECORD").read_bytes()
        except OSError:
            plan.whole_tree = True
            continue
        sources = _record_paths(record)
        for other in siblings:
            try:
                if (other / dist_info.name / "RECORD").read_bytes() != record:
                    continue
            except OSError:
                continue
            plan.seeded_dists += 1
            sources = _link_pycs(sources, other, site, tag)
            plan.seeded_files += len(_record_paths(record)) - len(sources)
            break
        plan.to_compile.extend(site / s for s in sources)
    return plan


def _link_pycs(sources: list[str], other: Path, site: Path, tag: str) -> list[str]:
    """Links what ``other`` has; returns the sources it could not serve."""
    missing: list[str] = []
    made: set[Path] = set()
    for source in sources:
        rel = Path(source)
        name = f"{rel.stem}.{tag}.pyc"
        src = other / rel.parent / "__pycache__" / name
        dst_dir = site / rel.parent / "__pycache__"
        try:
            if dst_dir not in made:
                dst_dir.mkdir(parents=True, exist_ok=True)
                made.add(dst_dir)
            os.link(src, dst_dir / name)
        except OSError:
            missing.append(source)  # not in the sibling, or another file system
    return missing


def compile_argv(python: Path, target: Path, from_list: bool) -> list[str]:
    """compileall of a folder, or of the files listed in ``target`` (``from_list``):
    all cores, timestamp mode even when SOURCE_DATE_EPOCH is set."""
    where = ["-i", str(target)] if from_list else [str(target)]
    return [str(python), "-m", "compileall", "-q", "-j", "0",
            "--invalidation-mode", "timestamp", *where]  # fmt: skip
