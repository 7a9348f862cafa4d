"""The CIFAR-10 tutorial example: its data reader, its MD5 check, its fallback, and train.py.

The reader is fed a tiny archive in the exact CIFAR-10 format, built here with numpy; the
download goes over a real HTTP server on loopback. train.py runs as a real subprocess.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import os
import pickle
import re
import socket
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cifar10-tutorial"
TRAIN_PY = EXAMPLE / "src" / "train.py"
PER_BATCH = 10  # images in each tiny batch: 50 train, 10 test
LABEL_NAMES = [
    b"airplane", b"automobile", b"bird", b"cat", b"deer",
    b"dog", b"frog", b"horse", b"ship", b"truck",
]  # fmt: skip


def _load_module() -> ModuleType:
    # The example is a folder of scripts, not a package: load its data module by path.
    spec = importlib.util.spec_from_file_location(
        "cifar10_tutorial_data", EXAMPLE / "src" / "cifar10.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


cifar10 = _load_module()


# --- a tiny archive in the real format ------------------------------------------------------


def _batch(seed: int, label: str) -> dict[bytes, Any]:
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": label.encode(),
        b"labels": [int(x) for x in rng.integers(0, 10, PER_BATCH)],
        b"data": rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8),
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(PER_BATCH)],
    }


def _tiny_batches() -> dict[str, dict[bytes, Any]]:
    batches = {f"data_batch_{i}": _batch(i, f"training batch {i} of 5") for i in range(1, 6)}
    batches["test_batch"] = _batch(99, "testing batch 1 of 1")
    # Known pixels, to pin the layout and the scaling: the first image is red 255 in its
    # top-left corner, green 0, blue 128 at row 1, column 2.
    first = batches["data_batch_1"][b"data"][0]
    first[0], first[1024], first[2048 + 32 + 2] = 255, 0, 128
    return batches


def _write_batches(folder: Path, batches: dict[str, dict[bytes, Any]]) -> None:
    folder.mkdir(parents=True)
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": LABEL_NAMES, b"num_cases_per_batch": PER_BATCH, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def _write_archive(path: Path, batches: dict[str, dict[bytes, Any]]) -> str:
    """A tar.gz laid out as the official one; returns its MD5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / "staging"
    _write_batches(staging / cifar10.BATCHES_DIR, batches)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(staging / cifar10.BATCHES_DIR, arcname=cifar10.BATCHES_DIR)
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def batches() -> dict[str, dict[bytes, Any]]:
    return _tiny_batches()


@pytest.fixture
def archive(tmp_path: Path, batches: dict[str, dict[bytes, Any]]) -> tuple[Path, str]:
    """The tiny archive where the reader expects it (root/cifar-10-python.tar.gz) and its MD5."""
    path = tmp_path / "data" / cifar10.ARCHIVE_NAME
    return path, _write_archive(path, batches)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on: a download that fails at once, as with no network."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{cifar10.ARCHIVE_NAME}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on loopback serving a folder: (the folder, its base URL)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- the reader ----------------------------------------------------------------------------


def test_reads_the_archive_as_to_tensor_would(
    archive: tuple[Path, str], batches: dict[str, dict[bytes, Any]]
) -> None:
    path, md5 = archive
    splits = cifar10.load_cifar10(path.parent, md5=md5)

    assert splits.name == "cifar10"
    assert splits.classes == tuple(n.decode() for n in LABEL_NAMES)
    assert splits.train_images.shape == (5 * PER_BATCH, 3, 32, 32)
    assert splits.test_images.shape == (PER_BATCH, 3, 32, 32)
    assert splits.train_images.dtype == np.float32
    assert splits.train_labels.dtype == np.int64
    assert splits.train_labels.shape == (5 * PER_BATCH,)
    expected_train = [x for i in range(1, 6) for x in batches[f"data_batch_{i}"][b"labels"]]
    assert splits.train_labels.tolist() == expected_train
    assert splits.test_labels.tolist() == batches["test_batch"][b"labels"]
    for images in (splits.train_images, splits.test_images):
        assert images.min() >= 0.0 and images.max() <= 1.0
    first = splits.train_images[0]
    assert first[0, 0, 0] == 1.0  # red plane first, 255 -> 1.0
    assert first[1, 0, 0] == 0.0
    assert first[2, 1, 2] == pytest.approx(128 / 255)
    raw = batches["test_batch"][b"data"]
    np.testing.assert_allclose(splits.test_images.reshape(PER_BATCH, -1), raw / 255, rtol=1e-6)


def test_extracts_once_then_reuses_the_folder(
    archive: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, md5 = archive
    cifar10.load_cifar10(path.parent, md5=md5)
    assert (path.parent / cifar10.BATCHES_DIR / "test_batch").is_file()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".extract-")]
    capsys.readouterr()

    path.unlink()  # the extracted folder alone is enough from now on
    splits = cifar10.load_cifar10(path.parent, md5=md5)
    assert "Files already downloaded and verified" in capsys.readouterr().out
    assert len(splits.train_labels) == 5 * PER_BATCH


def test_limit_keeps_the_first_train_images_only(archive: tuple[Path, str]) -> None:
    path, md5 = archive
    full = cifar10.load_cifar10(path.parent, md5=md5)
    cut = cifar10.load_cifar10(path.parent, md5=md5, limit=7)
    assert cut.train_images.shape == (7, 3, 32, 32)
    np.testing.assert_array_equal(cut.train_labels, full.train_labels[:7])
    assert cut.test_images.shape == full.test_images.shape


def test_a_malformed_batch_is_a_clear_error(
    tmp_path: Path, batches: dict[str, dict[bytes, Any]]
) -> None:
    batches["data_batch_3"][b"data"] = np.zeros((PER_BATCH, 100), dtype=np.uint8)
    _write_batches(tmp_path / cifar10.BATCHES_DIR, batches)
    with pytest.raises(cifar10.DataError, match=r"data_batch_3: expected uint8 rows of 3072"):
        cifar10.load_cifar10(tmp_path)


# --- the MD5 check -------------------------------------------------------------------------


def test_a_corrupt_archive_is_refused_with_the_fix(archive: tuple[Path, str]) -> None:
    path, md5 = archive
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(cifar10.CorruptArchiveError) as caught:
        cifar10.load_cifar10(path.parent, md5=md5)
    message = str(caught.value)
    assert "corrupt" in message and str(path) in message and "Delete it" in message
    assert f"expected {md5}" in message
    assert not (path.parent / cifar10.BATCHES_DIR).exists()


def test_the_official_md5_is_the_default(archive: tuple[Path, str]) -> None:
    path, _ = archive
    with pytest.raises(cifar10.CorruptArchiveError, match=cifar10.CIFAR10_MD5):
        cifar10.load_cifar10(path.parent)
    assert cifar10.CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"


# --- the download --------------------------------------------------------------------------


def test_downloads_verifies_and_reads(
    http_root: tuple[Path, str], tmp_path: Path, batches: dict[str, dict[bytes, Any]]
) -> None:
    served, base = http_root
    md5 = _write_archive(served / cifar10.ARCHIVE_NAME, batches)
    root = tmp_path / "fresh" / "data"

    splits = cifar10.load_cifar10(root, url=f"{base}/{cifar10.ARCHIVE_NAME}", md5=md5)

    assert cifar10.file_md5(root / cifar10.ARCHIVE_NAME) == md5
    assert not (root / f"{cifar10.ARCHIVE_NAME}.part").exists()
    assert splits.train_labels.tolist()[:PER_BATCH] == batches["data_batch_1"][b"labels"]


def test_a_missing_file_on_the_server_is_a_download_error(
    http_root: tuple[Path, str], tmp_path: Path
) -> None:
    _, base = http_root
    root = tmp_path / "data"
    with pytest.raises(cifar10.DownloadError, match="HTTP 404") as caught:
        cifar10.load_cifar10(root, url=f"{base}/nothing.tar.gz")
    assert "no internet access" not in str(caught.value)
    assert list(root.iterdir()) == []  # no .part left behind


def test_no_network_without_fallback_says_how_to_fix_it(
    tmp_path: Path, closed_port_url: str
) -> None:
    with pytest.raises(cifar10.DownloadError) as caught:
        cifar10.load_data(tmp_path, url=closed_port_url)
    message = str(caught.value)
    assert closed_port_url in message
    assert f"download {closed_port_url} by hand to {tmp_path / cifar10.ARCHIVE_NAME}" in message
    assert "--fallback digits" in message
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_data_folder_is_not_blamed_on_the_network(
    tmp_path: Path, closed_port_url: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(cifar10.DataError, match="--data-path with a folder you can write to"):
        cifar10.load_data(blocker / "data", fallback="digits", url=closed_port_url)


# --- the digits fallback -------------------------------------------------------------------


def test_falls_back_to_digits_only_when_asked(
    tmp_path: Path, closed_port_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    splits = cifar10.load_data(tmp_path, fallback="digits", url=closed_port_url)

    err = capsys.readouterr().err
    assert "cannot download CIFAR-10" in err and "Falling back" in err
    assert splits.name == "digits"
    assert splits.train_images.shape == (1438, 3, 32, 32)
    assert splits.test_images.shape == (359, 3, 32, 32)
    assert splits.train_images.dtype == np.float32 and splits.train_labels.dtype == np.int64
    assert splits.train_images.min() == 0.0 and splits.train_images.max() == 1.0
    assert set(splits.train_labels.tolist()) == set(range(10)) == set(splits.test_labels.tolist())
    first = splits.train_images[0]
    np.testing.assert_array_equal(first[0], first[1])  # grey: the same plane three times
    np.testing.assert_array_equal(first[0], np.kron(first[0, ::4, ::4], np.ones((4, 4))))
    again = cifar10.load_digits()
    np.testing.assert_array_equal(again.test_labels, splits.test_labels)  # deterministic


def test_an_unknown_fallback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(cifar10.DataError, match="unknown fallback 'mnist'"):
        cifar10.load_data(tmp_path, fallback="mnist")


# --- train.py as a script ------------------------------------------------------------------


def _require_train_py_deps() -> None:
    pytest.importorskip("torch")
    core = pytest.importorskip("runyard.core")
    if not hasattr(core, "Run"):  # the core API is written in parallel with this example
        pytest.skip("runyard.core does not export Run yet")


def _train(cwd: Path, *args: str, fallback: str | None = None) -> subprocess.CompletedProcess[str]:
    _require_train_py_deps()
    return subprocess.run(
        [sys.executable, str(TRAIN_PY), *args],
        cwd=cwd,
        env=_env(fallback),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(fallback: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RUNYARD_CIFAR10_FALLBACK"}
    if fallback is not None:
        env["RUNYARD_CIFAR10_FALLBACK"] = fallback
    return env


LOSS_LINE = re.compile(r"^epoch=1, batch=\s+(\d+): loss \d+\.\d\d$", re.MULTILINE)


def test_train_py_trains_on_the_archive_and_saves_the_model(
    tmp_path: Path, batches: dict[str, dict[bytes, Any]]
) -> None:
    data = tmp_path / "data"
    _write_batches(data / cifar10.BATCHES_DIR, batches)  # as if extracted earlier
    work = tmp_path / "work"
    work.mkdir()

    result = _train(
        work, "--data-path", str(data), "--limit", "40", "--epochs", "1",
        "--log-every", "5", "--seed", "0",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert [int(b) for b in LOSS_LINE.findall(result.stdout)] == [5, 10]  # 40 images / 4
    assert re.search(r"^epoch=1: test accuracy \d\.\d{3}$", result.stdout, re.MULTILINE)
    assert "Finished Training" in result.stdout
    for metric in ("loss", "accuracy", "lr"):  # the offline run says what it would log
        assert re.search(rf"\b{metric}\b", result.stderr), result.stderr
    import torch

    state = torch.load(work / "outputs" / "model.pt", weights_only=True)
    assert set(state) == {
        f"{layer}.{p}"
        for layer in ("conv1", "conv2", "fc1", "fc2", "fc3")
        for p in ("weight", "bias")
    }
    assert state["fc3.weight"].shape == (10, 84)


def test_train_py_falls_back_to_digits_from_the_environment(
    tmp_path: Path, closed_port_url: str
) -> None:
    pytest.importorskip("sklearn")
    result = _train(
        tmp_path, "--data-path", str(tmp_path / "data"), "--data-url", closed_port_url,
        "--limit", "40", "--epochs", "1", "--batch-size", "8", "--log-every", "5",
        "--lr", "0.01", "--momentum", "0.5", "--num-threads", "1", "--seed", "0",
        fallback="digits",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Falling back to scikit-learn's 8x8 digits" in result.stderr
    assert "data: digits, 40 train and 359 test images" in result.stdout
    assert LOSS_LINE.findall(result.stdout) == ["5"]  # 40 images / 8 per batch
    assert re.search(r"\blr\b.*0\.01", result.stderr), result.stderr
    assert (tmp_path / "outputs" / "model.pt").is_file()


def test_train_py_without_network_or_fallback_exits_with_the_fix(
    tmp_path: Path, closed_port_url: str
) -> None:
    result = _train(tmp_path, "--data-path", str(tmp_path / "data"), "--data-url", closed_port_url)

    assert result.returncode == 2
    assert "cannot download CIFAR-10" in result.stderr
    assert "--fallback digits" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "outputs").exists()
