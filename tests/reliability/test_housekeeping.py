"""Background housekeeping never breaks an unrelated command (issue 13 item 6): when the
reaper cannot write a dead run's folder (here its path is taken by a file, as a
read-only or broken artifact folder would), ``runs list`` and ``experiments list`` still
answer, with a warning instead of a traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from runyard.core import Workspace


def test_a_reaper_that_cannot_write_does_not_break_listing(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.create(root).close()
    script = textwrap.dedent(f"""
        import os
        from runyard.core import Experiment, Workspace
        run = Experiment(Workspace.from_config({str(root)!r}), "e").start_logging()
        run.log("x", 1.0)
        run.flush()
        print(run.id, flush=True)
        os._exit(9)  # dies Running: the next command's reaper finishes it
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    run_id = done.stdout.strip()
    assert run_id, done.stderr
    folder = root / ".runyard" / "artifacts" / "runs" / run_id
    assert folder.is_dir()
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()
    folder.write_text("not a folder")
    for command in (["runs", "list"], ["experiments", "list"]):
        got = subprocess.run(
            [sys.executable, "-m", "runyard.cli", "-w", str(root), *command],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert got.returncode == 0, got.stderr
        assert "Traceback" not in got.stderr, got.stderr
        assert "could not finish runs whose process died" in got.stderr, got.stderr
