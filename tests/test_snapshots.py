"""Source snapshots: content addressing, ignore rules, limits, the stat cache, git."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runyard.errors import ArtifactNotFoundError, SnapshotTooLargeError, ValidationError
from runyard.store.snapshots import SnapshotStore, canonical_manifest_id, git_info

OLD_NS = 1_600_000_000 * 10**9  # far outside the racy window


def write(root: Path, rel: str, data: str | bytes, *, old: bool = True) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    if old:
        os.utime(path, ns=(OLD_NS, OLD_NS))
    return path


def blob_count(store: SnapshotStore) -> int:
    return sum(1 for p in (store.root / "blobs").rglob("*") if p.is_file())


@pytest.fixture
def snaps(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "artifacts" / "snapshots")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    write(root, "train.py", "print('hi')\n")
    write(root, "lib/util.py", "X = 1\n")
    return root


def test_capture_records_files_sizes_and_modes(snaps: SnapshotStore, src: Path) -> None:
    os.chmod(src / "train.py", 0o755)
    info = snaps.capture(src)
    assert (info.file_count, info.total_bytes) == (2, 18)
    manifest = snaps.manifest(info.snapshot_id)
    assert sorted(manifest) == ["lib/util.py", "train.py"]
    assert manifest["train.py"] == {
        "sha256": hashlib.sha256(b"print('hi')\n").hexdigest(),
        "size": 12,
        "mode": 0o755,
    }
    assert info.snapshot_id == canonical_manifest_id(manifest)
    assert snaps.read_file(info.snapshot_id, "lib/util.py") == b"X = 1\n"


def test_unchanged_folder_gives_same_id_and_each_content_is_stored_once(
    snaps: SnapshotStore, src: Path
) -> None:
    write(src, "copy_of_util.py", "X = 1\n")
    first = snaps.capture(src)
    assert blob_count(snaps) == 2  # util.py and its copy share a blob
    assert snaps.capture(src).snapshot_id == first.snapshot_id
    write(src, "train.py", "print('changed')\n")
    second = snaps.capture(src)
    assert second.snapshot_id != first.snapshot_id
    assert blob_count(snaps) == 3  # only the changed file is new
    # Another folder with the same content reuses the blobs too.
    other = src.parent / "other"
    shutil.copytree(src, other)
    assert snaps.capture(other).snapshot_id == second.snapshot_id
    assert blob_count(snaps) == 3


def test_stat_cache_skips_unchanged_files_but_not_recent_ones(
    snaps: SnapshotStore, src: Path
) -> None:
    first = snaps.capture(src)
    # Same size, same mtime, same inode: the cache is trusted (the file is not read).
    path = src / "train.py"
    with open(path, "r+b") as f:
        f.write(b"PRINT")
    os.utime(path, ns=(OLD_NS, OLD_NS))
    assert snaps.capture(src).snapshot_id == first.snapshot_id
    # A file modified just now is never trusted from the cache: a rewrite within the
    # same timestamp tick would keep size and mtime.
    fresh = write(src, "fresh.py", "a = 1\n", old=False)
    stamp = fresh.stat().st_mtime_ns
    snaps.capture(src)
    with open(fresh, "r+b") as f:
        f.write(b"b")
    os.utime(fresh, ns=(stamp, stamp))
    manifest = snaps.manifest(snaps.capture(src).snapshot_id)
    assert manifest["fresh.py"]["sha256"] == hashlib.sha256(b"b = 1\n").hexdigest()


def test_a_removed_blob_is_stored_again(snaps: SnapshotStore, src: Path) -> None:
    info = snaps.capture(src)
    shutil.rmtree(snaps.root / "blobs")
    assert snaps.capture(src).snapshot_id == info.snapshot_id
    assert snaps.read_file(info.snapshot_id, "train.py") == b"print('hi')\n"


def test_gitignore_rules_including_nested_files(snaps: SnapshotStore, src: Path) -> None:
    write(src, ".gitignore", "*.log\n!keep.log\ndata/\n")
    write(src, "run.log", "x")
    write(src, "keep.log", "x")
    write(src, "data/big.bin", b"\0" * 10)
    write(src, "lib/.gitignore", "secret.txt\n/local_only.txt\n")
    write(src, "lib/secret.txt", "x")
    write(src, "lib/local_only.txt", "x")
    write(src, "lib/sub/local_only.txt", "kept: the rule is anchored to lib/")
    write(src, "secret.txt", "kept: the nested rule only applies under lib/")
    for skipped in (".git/HEAD", ".runyard/config.json", "__pycache__/a.pyc", "lib/__pycache__/b"):
        write(src, skipped, "x")
    files = set(snaps.manifest(snaps.capture(src).snapshot_id))
    assert files == {
        ".gitignore",
        "keep.log",
        "lib/.gitignore",
        "lib/sub/local_only.txt",
        "lib/util.py",
        "secret.txt",
        "train.py",
    }


def test_runyardignore_replaces_gitignore(snaps: SnapshotStore, src: Path) -> None:
    write(src, ".gitignore", "*.py\n")
    write(src, ".runyardignore", "lib/\n")
    files = set(snaps.manifest(snaps.capture(src).snapshot_id))
    assert files == {".gitignore", ".runyardignore", "train.py"}


def test_symlinked_folders_are_not_followed(snaps: SnapshotStore, src: Path) -> None:
    dataset = write(src.parent, "datasets/huge.bin", b"\1" * 100).parent
    (src / "data").symlink_to(dataset, target_is_directory=True)
    (src / "linked.py").symlink_to(src / "train.py")
    with pytest.warns(UserWarning, match="a symlink to .* outside"):
        files = snaps.manifest(snaps.capture(src).snapshot_id)
    assert set(files) == {"lib/util.py", "linked.py", "train.py"}
    # A link inside the folder is kept as a link (issue 13), not as a copy of train.py.
    assert files["linked.py"]["link"] == "train.py"
    assert files["linked.py"]["sha256"] != files["train.py"]["sha256"]


def test_too_many_files_names_the_limit_the_culprit_and_the_fix(
    snaps: SnapshotStore, src: Path
) -> None:
    for i in range(30):
        write(src, f"data/images/{i}.png", b"x")
    with pytest.raises(SnapshotTooLargeError) as caught:
        snaps.capture(src, max_files=20)
    message = str(caught.value)
    assert "32 files" in message and "limit of 20 files" in message
    assert "data/images/ (30 B, 30 files)" in message
    assert ".runyardignore" in message and "raise the limit" in message
    assert not (snaps.root / "manifests").exists()


def test_too_many_bytes_names_the_largest_files(snaps: SnapshotStore, src: Path) -> None:
    write(src, "model.pt", b"\0" * 5000)
    write(src, "data/a.bin", b"\0" * 3000)
    with pytest.raises(SnapshotTooLargeError) as caught:
        snaps.capture(src, max_bytes=4096)
    message = str(caught.value)
    assert "limit of 4.0 KiB (4,096 bytes, max_bytes)" in message
    assert message.index("model.pt (4.9 KiB, 1 files)") < message.index("data/ (2.9 KiB")
    # Ignoring the culprits is the fix.
    write(src, ".runyardignore", "model.pt\ndata/\n")
    assert snaps.capture(src, max_bytes=4096).file_count == 3


def test_missing_source_folder_is_a_validation_error(snaps: SnapshotStore, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        snaps.capture(tmp_path / "nope")
    write(tmp_path, "file.py", "x")
    with pytest.raises(ValidationError, match="is not a folder"):
        snaps.capture(tmp_path / "file.py")


def test_materialise_writes_files_with_their_modes(
    snaps: SnapshotStore, src: Path, tmp_path: Path
) -> None:
    os.chmod(src / "train.py", 0o700)
    info = snaps.capture(src)
    dest = tmp_path / "work"
    snaps.materialise(info.snapshot_id, dest)
    assert (dest / "lib/util.py").read_text() == "X = 1\n"
    assert (dest / "train.py").stat().st_mode & 0o777 == 0o700
    # The working copy is not linked to the blob: rewriting it leaves the snapshot intact.
    (dest / "train.py").write_text("overwritten")
    assert snaps.read_file(info.snapshot_id, "train.py") == b"print('hi')\n"


def test_blobs_and_manifests_can_be_copied_between_stores(
    snaps: SnapshotStore, src: Path, tmp_path: Path
) -> None:
    info = snaps.capture(src)
    manifest = snaps.manifest(info.snapshot_id)
    remote = SnapshotStore(tmp_path / "remote")
    with pytest.raises(ValidationError, match="put_blob them first"):
        remote.put_manifest(info.snapshot_id, manifest)
    for digest in remote.missing_blobs(manifest):
        remote.put_blob(digest, snaps.read_blob(digest))
    assert remote.missing_blobs(manifest) == []
    remote.put_manifest(info.snapshot_id, manifest)
    assert remote.manifest(info.snapshot_id) == manifest
    with pytest.raises(ValidationError, match="hashes to"):
        remote.put_blob("0" * 64, b"not zero")
    with pytest.raises(ValidationError, match="hashes to"):
        remote.put_manifest("0" * 64, manifest)
    bad = {"../escape": manifest["train.py"]}
    with pytest.raises(ValidationError, match="stay inside"):
        remote.put_manifest(canonical_manifest_id(bad), bad)


def test_unknown_ids_and_paths(snaps: SnapshotStore, src: Path) -> None:
    info = snaps.capture(src)
    with pytest.raises(ArtifactNotFoundError):
        snaps.manifest("a" * 64)
    with pytest.raises(ArtifactNotFoundError):
        snaps.read_file(info.snapshot_id, "nope.py")
    with pytest.raises(ArtifactNotFoundError):
        snaps.read_blob("b" * 64)
    with pytest.raises(ValidationError):
        snaps.manifest("../../etc/passwd")
    assert not snaps.has_blob("c" * 64)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_info(src: Path, tmp_path: Path) -> None:
    assert git_info(src) is None

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=src,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    info = git_info(src)
    assert info is not None and info["commit"] is None
    git("add", ".")
    git("commit", "-q", "-m", "first")
    info = git_info(src)
    assert info is not None
    assert len(info["commit"]) == 40 and info["branch"] == "main"
    assert info["dirty"] is False
    write(src, "train.py", "print('edited')\n")
    info = git_info(src)
    assert info is not None and info["dirty"] is True
    assert git_info(tmp_path / "missing") is None
