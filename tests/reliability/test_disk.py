"""A full disk is an error the script sees, never a SIGBUS (issue 13 item 2).

The journal reserves its blocks (``posix_fallocate``) before a segment is mapped, so
a full disk or a file size limit is a ``DiskFullError`` naming the journal and the disk,
and a run whose logging failed does not end Completed. Before, a full tmpfs killed the
logging process with SIGBUS (rc 135) and ``ulimit -f`` ended in a raw OSError and a
Completed run.
"""

from __future__ import annotations

import contextlib
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.entities import RunStatus

from .harness import Project

FILL_SCRIPT = """\
import sys
from runyard.errors import DiskFullError
from runyard.tracking.journal import JournalWriter

writer = JournalWriter(sys.argv[1])
try:
    for i in range(10**8):
        writer.log("x", float(i))
except DiskFullError as exc:
    print("FULL", i, exc, flush=True)
    sys.exit(3)
print("never full", flush=True)
"""

INTERACTIVE_SCRIPT = """\
import sys
from runyard.core import Experiment, Workspace
from runyard.errors import DiskFullError

ws = Workspace.from_config(sys.argv[1])
run = Experiment(ws, "fsize").start_logging()
print(run.id, flush=True)
try:
    for i in range(10**8):
        run.log("x", float(i))
except DiskFullError as exc:
    print("FULL", i, exc, flush=True)
# The script goes on and exits normally: the run must not end Completed.
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["umount", str(mount)], check=False, timeout=30)


def test_a_full_disk_is_an_exception_the_script_sees_not_sigbus(
    small_disk: Path, tmp_path: Path
) -> None:
    # Leave about 1 MiB free, as in the report.
    with open(small_disk / "filler", "wb") as f:
        f.write(b"\0" * (22 << 20))
    script = tmp_path / "fill.py"
    script.write_text(FILL_SCRIPT)
    journal = small_disk / "run" / "journal.bin"
    done = subprocess.run(
        [sys.executable, str(script), str(journal)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, (done.returncode, done.stdout, done.stderr[-2000:])
    assert "FULL" in done.stdout and str(journal) in done.stdout, done.stdout
    assert "is full" in done.stdout, done.stdout


def test_a_file_size_limit_fails_an_interactive_run_with_a_clear_error(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "ws")
    try:
        script = tmp_path / "fsize.py"
        script.write_text(INTERACTIVE_SCRIPT)
        limit = 3 << 20

        def limit_files() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        done = subprocess.run(
            [sys.executable, str(script), str(project.root)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=limit_files,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        lines = done.stdout.splitlines()
        assert any("FULL" in line and "ulimit -f" in line for line in lines), done.stdout
        run_id = lines[0].strip()
        info = project.store.get_run(run_id)
        assert info.status is RunStatus.FAILED, info
        assert "ulimit -f" in (info.error or ""), info.error
        assert project.store.get_metric_summaries(run_id)["x"].count > 0
    finally:
        project.close()
