"""The tools under test: Runyard (the project's interpreter) and each peer, installed
into its own virtual environment under ``benchmarks/.cache/venvs/<peer>``.

A peer that does not install, or whose driver cannot even report its version, is kept
with the reason, so the tables say why there is no number.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.workloads import procs
from benchmarks.workloads.config import LABELS, PEER_SPECS, PEERS_DIR, RUNYARD, VENV_DIR

INSTALL_TIMEOUT_S = 900.0
STAMP = ".bench-installed"


@dataclass
class Tool:
    name: str
    python: Path
    version: str = ""
    problem: str = ""  # why the tool cannot be measured at all
    bin_dir: Path = field(default_factory=Path)

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    @property
    def titled(self) -> str:
        """The label with the version, as every figure names it."""
        return f"{self.label} {self.version}".strip()

    @property
    def driver(self) -> Path:
        return PEERS_DIR / f"{self.name}_driver.py"

    def command(self, workload: str, workdir: Path, params: dict[str, Any]) -> list[str]:
        import json

        return [str(self.python), str(self.driver), workload, str(workdir), json.dumps(params)]


def runyard_tool() -> Tool:
    python = Path(sys.executable)
    tool = Tool(RUNYARD, python, bin_dir=python.parent)
    return _with_version(tool)


def peer_tool(name: str, log: Any, install: bool = True) -> Tool:
    venv = VENV_DIR / name
    python = venv / "bin" / "python"
    tool = Tool(name, python, bin_dir=venv / "bin")
    if install:
        problem = ensure_installed(name, venv, log)
        if problem:
            tool.problem = problem
            return tool
    elif not python.exists():
        tool.problem = f"not installed ({venv} missing)"
        return tool
    return _with_version(tool)


def ensure_installed(name: str, venv: Path, log: Any) -> str:
    """Creates the venv and pip-installs the peer once; returns a problem or ''."""
    spec = PEER_SPECS[name]
    stamp = venv / STAMP
    python = venv / "bin" / "python"
    if stamp.exists() and python.exists() and stamp.read_text(encoding="utf-8") == " ".join(spec):
        return ""
    log(f"installing {name} ({' '.join(spec)}) into {venv}")
    install_log = venv.parent / f"{name}.install.log"
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        # pip as configured on this machine (its indexes and constraints), nothing extra.
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *spec],
    ]
    with install_log.open("w", encoding="utf-8") as out:
        for cmd in steps:
            try:
                done = subprocess.run(
                    cmd,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=INSTALL_TIMEOUT_S,
                    env=procs.child_env(),
                )
            except subprocess.TimeoutExpired:
                return f"install timed out after {INSTALL_TIMEOUT_S:.0f} s (see {install_log})"
            except OSError as exc:
                return f"install failed: {exc}"
            if done.returncode != 0:
                return f"install failed, exit {done.returncode} (see {install_log})"
    stamp.write_text(" ".join(spec), encoding="utf-8")
    return ""


def _with_version(tool: Tool) -> Tool:
    result = procs.run_driver(tool.command("info", VENV_DIR / ".info", {}), timeout_s=180.0)
    if result.ok:
        tool.version = str(result.data.get("version", ""))
    else:
        tool.problem = f"driver does not start: {result.problem}"
    return tool
