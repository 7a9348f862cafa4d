"""The README's Getting started, run as written in a copy of the example folder, so it
cannot go stale: every command succeeds, `--sort metric:loss` lists the lowest loss
first, and the studio it starts shows the runs. Every relative link resolves."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"


def getting_started_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Getting started", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "Getting started has no ```sh block"
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_getting_started_runs_as_written(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(
        REPO / "examples" / "quickstart", clone / "examples" / "quickstart",
        ignore=shutil.ignore_patterns(".runyard", "__pycache__"),
    )  # fmt: skip
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("RUNYARD_TOKEN", None)
    cwd = clone
    outputs: dict[str, str] = {}
    studio_line = None
    commands = getting_started_commands()
    assert any(c.startswith("runyard submit") for c in commands)
    for command in commands:
        if command.startswith(("make ", "pip install")):
            continue  # this interpreter has Runyard installed already (make test did it)
        if command.startswith("cd "):
            cwd = cwd / command[3:]
            assert cwd.is_dir(), command
            continue
        if command.startswith("runyard studio"):
            studio_line = command
            continue
        proc = subprocess.run(
            command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=240
        )
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
        outputs[command] = proc.stdout
    submitted = [out for cmd, out in outputs.items() if cmd.startswith("runyard submit")]
    assert all("Status: Completed" in out for out in submitted)
    listed = next(out for cmd, out in outputs.items() if "--sort metric:loss" in cmd)
    header, *rows = [line.split("\t") for line in listed.splitlines()]
    losses = [float(row[header.index("loss")]) for row in rows]
    assert len(losses) == len(submitted) and losses == sorted(losses), listed
    assert studio_line is not None, "Getting started no longer starts the studio"
    run_ids = [m.group(1) for out in submitted if (m := re.search(r"Submitted (\S+):", out))]
    check_studio(studio_line, cwd, env, tmp_path / "studio.log", run_ids)


def check_studio(
    command: str, cwd: Path, env: dict[str, str], log: Path, run_ids: list[str]
) -> None:
    # --port 0: 8765 may be taken on a test machine; the README says to do the same.
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            f"exec {command} --port 0", shell=True, cwd=cwd, env=env,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on (http://\S+)", log.read_text())):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        url = found.group(1)
        while True:
            try:
                page = httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert page.status_code == 200 and "day1" in page.text
        for run_id in run_ids:  # the run pages that submit linked
            run_page = httpx.get(f"{url}runs/{run_id}", timeout=5)
            assert run_page.status_code == 200 and run_id in run_page.text
    finally:
        proc.terminate()  # our own child, by its pid
        proc.wait(30)


def test_every_relative_link_in_the_readme_resolves() -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    assert links
    for link in links:
        if "://" in link:
            continue
        target = (REPO / link).resolve()
        assert target.is_relative_to(REPO), f"{link} points outside the repository"
        assert target.exists(), f"README links {link}, which does not exist"
