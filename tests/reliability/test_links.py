"""Symlinks never lead out of a run's folder (issue 13 item 7): a link in ``outputs/``
or ``logs/`` to a file outside the run is not collected into the run's files; a link to
a file inside it is."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runyard.core import Experiment, ScriptRunConfig, Workspace


def test_links_out_of_outputs_and_logs_are_not_collected(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not the run's to publish")
    ws = Workspace.create(tmp_path / "ws")
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        textwrap.dedent(f"""
        import os
        os.makedirs("outputs", exist_ok=True)
        os.makedirs("logs", exist_ok=True)
        os.symlink({str(secret)!r}, "outputs/leak.txt")
        os.symlink({str(secret)!r}, "logs/leak.log")
        with open("outputs/model.txt", "w") as f:
            f.write("weights")
        os.symlink(os.path.abspath("outputs/model.txt"), "outputs/inside.txt")
    """)
    )
    run = Experiment(ws, "links").submit(
        ScriptRunConfig(source_directory=str(src), script="train.py")
    )
    run.wait_for_completion(timeout=300)
    assert run.get_status() == "Completed"
    names = set(run.get_file_names())
    assert "outputs/model.txt" in names
    assert "outputs/leak.txt" not in names and "logs/leak.log" not in names, names
    for name in names:
        data = ws.store.artifacts.read_bytes(run.id, name)
        assert b"not the run's to publish" not in data, name
    ws.close()
