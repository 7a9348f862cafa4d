"""Symlinks in a source folder are kept as links (issue 13 item 7) and a link loop is
reported (issue 13 item 6).

A link inside the folder (``cfg.yaml -> configs/base.yaml``, ``data -> shared/``) is
stored in the snapshot as a link record (its target's path, not its content) and comes
back as a link: in the runner's working folder, in ``restore_snapshot``'s ZIP, and from
``materialise``. Before, a linked file was stored as a copy of its target. A link loop
(``a -> b -> a``) anywhere in the folder was skipped silently; now it is a warning
naming the path, as are broken links and links leaving the folder.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
import warnings
import zipfile
from pathlib import Path

import pytest

from runyard.core import Experiment, ScriptRunConfig, Workspace
from runyard.errors import ValidationError
from runyard.store.snapshots import SnapshotStore, canonical_manifest_id


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "configs").mkdir(parents=True)
    (src / "shared").mkdir()
    (src / "configs" / "base.yaml").write_text("lr: 0.1\n")
    (src / "shared" / "table.csv").write_text("a,b\n1,2\n")
    os.symlink("configs/base.yaml", src / "cfg.yaml")
    os.symlink("shared", src / "data")
    os.symlink(src / "configs" / "base.yaml", src / "configs" / "absolute.yaml")  # absolute, inside
    (src / "train.py").write_text(
        textwrap.dedent("""
        import json, os
        seen = {n: os.readlink(n) for n in ("cfg.yaml", "data", "configs/absolute.yaml")}
        print("LINKS", json.dumps(seen), open("cfg.yaml").read().strip(), flush=True)
        print("TABLE", open("data/table.csv").read().splitlines()[1], flush=True)
        """)
    )
    return src


def test_in_folder_links_are_stored_and_restored_as_links(tmp_path: Path) -> None:
    src = _source(tmp_path)
    snapshots = SnapshotStore(tmp_path / "snapshots")
    info = snapshots.capture(src)
    manifest = snapshots.manifest(info.snapshot_id)
    assert manifest["cfg.yaml"]["link"] == "configs/base.yaml"
    assert manifest["data"]["link"] == "shared"
    assert manifest["configs/absolute.yaml"]["link"] == "base.yaml"
    # The link's blob is its target's path, never the content.
    assert snapshots.read_file(info.snapshot_id, "cfg.yaml") == b"configs/base.yaml"
    assert "data/table.csv" not in manifest  # a linked folder is not followed
    dest = tmp_path / "restored"
    snapshots.materialise(info.snapshot_id, dest)
    assert os.readlink(dest / "cfg.yaml") == "configs/base.yaml"
    assert (dest / "cfg.yaml").read_text() == "lr: 0.1\n"
    assert (dest / "data" / "table.csv").is_file() and (dest / "data").is_symlink()

    ws = Workspace.create(tmp_path / "ws")
    run = Experiment(ws, "links").submit(
        ScriptRunConfig(source_directory=str(src), script="train.py")
    )
    run.wait_for_completion(timeout=300)
    assert run.get_status() == "Completed", run.get_details().get("error")
    log = ws.store.artifacts.read_bytes(run.id, "system_logs/driver.log").decode()
    links = json.loads(log.split("LINKS ", 1)[1].split("}", 1)[0] + "}")
    assert links == {
        "cfg.yaml": "configs/base.yaml",
        "data": "shared",
        "configs/absolute.yaml": "base.yaml",
    }
    assert "lr: 0.1" in log and "TABLE 1,2" in log
    archive = Path(run.restore_snapshot(path=tmp_path / "zip"))
    with zipfile.ZipFile(archive) as z:
        entry = z.getinfo("cfg.yaml")
        assert stat.S_ISLNK(entry.external_attr >> 16)
        assert z.read("cfg.yaml") == b"configs/base.yaml"
    ws.close()


def test_link_loops_broken_links_and_links_out_are_reported_by_path(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "deep" / "er").mkdir(parents=True)
    (src / "train.py").write_text("print('hi')\n")
    os.symlink("b", src / "deep" / "er" / "a")
    os.symlink("a", src / "deep" / "er" / "b")
    os.symlink("self", src / "self")
    os.symlink("missing.txt", src / "broken")
    os.symlink("/etc/hostname", src / "out")
    snapshots = SnapshotStore(tmp_path / "snapshots")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = snapshots.capture(src)
    said = [str(w.message) for w in caught]
    for name, why in (
        ("deep/er/a", "symlink loop"),
        ("deep/er/b", "symlink loop"),
        ("self", "symlink loop"),
        ("broken", "broken symlink"),
        ("out", "outside"),
    ):
        assert any(str(src / name) in m and why in m for m in said), (name, said)
    assert set(snapshots.manifest(info.snapshot_id)) == {"train.py"}


def test_a_manifest_whose_link_leaves_the_snapshot_is_refused(tmp_path: Path) -> None:
    snapshots = SnapshotStore(tmp_path / "snapshots")
    data = b"../../etc/passwd"
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    snapshots.put_blob(digest, data)
    manifest = {"x": {"sha256": digest, "size": len(data), "mode": 0o777, "link": data.decode()}}
    with pytest.raises(ValidationError, match="must stay inside"):
        snapshots.put_manifest(canonical_manifest_id(manifest), manifest)
