"""CIFAR-10 without torchvision: download, verify, extract and read the official archive.

The tutorial gets its data from `torchvision.datasets.CIFAR10(download=True)`. torchvision
does not import beside the CPU torch wheel used here, so this module does the same job with
the standard library and numpy: it fetches the "python version" of the data set, checks
its MD5, extracts it and reads the pickled batches. It returns numpy arrays, laid out as
torchvision's `ToTensor()` would give them (float32, N×3×32×32, in [0, 1]; no
normalisation, as in the tutorial); train.py wraps them with `torch.from_numpy`, no copy.

Where the archive cannot be downloaded (a machine without internet), `load_data` can fall
back, only when asked, to scikit-learn's 8×8 digits, which ship inside that package.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
BATCHES_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")
TEST_BATCHES = ("test_batch",)
CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
DOWNLOAD_TIMEOUT_S = 60.0
FALLBACKS = ("digits",)

Images = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]


class DataError(Exception):
    """The data cannot be had; the message says why and what to do about it."""


class DownloadError(DataError):
    """The archive could not be downloaded (no network, server error, time-out)."""

    def __init__(self, url: str, archive: Path, reason: str, *, offline: bool = True) -> None:
        self.url = url
        self.archive = archive
        self.reason = reason
        hint = " This machine may have no internet access." if offline else ""
        super().__init__(
            f"cannot download CIFAR-10 from {url}: {reason}.{hint} Fix: download {url} "
            f"by hand to {archive} (MD5 {CIFAR10_MD5}) and run again, or pass "
            "--fallback digits to train on scikit-learn's bundled 8x8 digits instead."
        )


class CorruptArchiveError(DataError):
    """The archive's MD5 is not the expected one (a truncated or damaged download)."""


@dataclass(frozen=True)
class DataSplits:
    """A train and a test split, images as `ToTensor()` gives them, labels 0-9."""

    name: str
    classes: tuple[str, ...]
    train_images: Images
    train_labels: Labels
    test_images: Images
    test_labels: Labels


def load_data(
    root: str | os.PathLike[str],
    *,
    fallback: str | None = None,
    limit: int | None = None,
    url: str = CIFAR10_URL,
    md5: str = CIFAR10_MD5,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> DataSplits:
    """CIFAR-10 from `root`; where it cannot be downloaded, `fallback` ('digits') if given."""
    if fallback is not None and fallback not in FALLBACKS:
        raise DataError(f"unknown fallback {fallback!r}: the choices are {', '.join(FALLBACKS)}")
    try:
        return load_cifar10(root, limit=limit, url=url, md5=md5, timeout=timeout)
    except DownloadError as err:
        if fallback is None:
            raise
        print(
            f"cannot download CIFAR-10 from {err.url}: {err.reason}.\n"
            f"Falling back to scikit-learn's 8x8 digits (--fallback {fallback}), upsampled "
            "to 3x32x32: the curve is real learning, but not on CIFAR-10.",
            file=sys.stderr,
            flush=True,
        )
        return load_digits(limit=limit)


def load_cifar10(
    root: str | os.PathLike[str],
    *,
    limit: int | None = None,
    url: str = CIFAR10_URL,
    md5: str = CIFAR10_MD5,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> DataSplits:
    """Download (when missing), verify and read CIFAR-10; `limit` keeps the first N train images.

    `md5` is a parameter so that a test can feed a small archive in the same format.
    """
    folder = prepare(Path(root), url=url, md5=md5, timeout=timeout)
    train_raw, train_labels = read_batches(folder, TRAIN_BATCHES)
    test_raw, test_labels = read_batches(folder, TEST_BATCHES)
    if limit is not None:
        # Cut before converting to float: the full train split is 600 MB as float32.
        train_raw, train_labels = train_raw[:limit], train_labels[:limit]
    return DataSplits(
        name="cifar10",
        classes=read_classes(folder),
        train_images=to_float_images(train_raw),
        train_labels=train_labels,
        test_images=to_float_images(test_raw),
        test_labels=test_labels,
    )


def prepare(root: Path, *, url: str, md5: str, timeout: float) -> Path:
    """The extracted batches folder under `root`, downloading and extracting when missing."""
    folder = root / BATCHES_DIR
    # The folder only ever appears by a rename after the MD5 check (see extract), so its
    # presence means verified, as torchvision's message says.
    if all((folder / name).is_file() for name in (*TRAIN_BATCHES, *TEST_BATCHES)):
        print("Files already downloaded and verified", flush=True)
        return folder
    archive = root / ARCHIVE_NAME
    if not archive.is_file():
        download(url, archive, timeout=timeout)
    verify(archive, md5)
    extract(archive, root)
    return folder


def download(url: str, dest: Path, *, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Fetch `url` to `dest`, via a `.part` file so that an interrupted download leaves none."""
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        out = part.open("wb")
    except OSError as err:
        raise DataError(
            f"cannot write the CIFAR-10 archive to {dest.parent}: {err}. "
            "Pass --data-path with a folder you can write to."
        ) from err
    print(f"Downloading {url} to {dest}", flush=True)
    try:
        with out, urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
    except urllib.error.HTTPError as err:  # the server answered, but not with the file
        part.unlink(missing_ok=True)
        raise DownloadError(url, dest, f"HTTP {err.code} {err.reason}", offline=False) from err
    except (urllib.error.URLError, TimeoutError) as err:  # no DNS, no route, refused, slow
        part.unlink(missing_ok=True)
        reason = err.reason if isinstance(err, urllib.error.URLError) else "timed out"
        raise DownloadError(url, dest, str(reason)) from err
    except (OSError, ValueError) as err:  # cut off half-way, disk full, a malformed URL
        part.unlink(missing_ok=True)
        raise DownloadError(url, dest, str(err) or type(err).__name__, offline=False) from err
    part.replace(dest)


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(archive: Path, md5: str = CIFAR10_MD5) -> None:
    """Raise CorruptArchiveError unless `archive` has the expected MD5."""
    actual = file_md5(archive)
    if actual != md5:
        raise CorruptArchiveError(
            f"the CIFAR-10 archive {archive} is corrupt (MD5 {actual}, expected {md5}): "
            "a truncated or damaged download. Delete it and run again to download it anew."
        )


def extract(archive: Path, root: Path) -> None:
    """Unpack into a temporary folder, then rename: a half-extracted folder is never seen."""
    with tempfile.TemporaryDirectory(dir=root, prefix=".extract-") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                if hasattr(tarfile, "data_filter"):
                    # Refuses absolute paths, `..` and links that leave the folder.
                    tar.extractall(tmp, filter="data")
                else:  # Python < 3.10.12 has no extraction filters.
                    tar.extractall(tmp)
        except (tarfile.TarError, OSError) as err:
            raise DataError(f"cannot extract {archive} into {root}: {err}") from err
        extracted = Path(tmp) / BATCHES_DIR
        if not extracted.is_dir():
            raise DataError(f"{archive} has no {BATCHES_DIR}/ folder: not the CIFAR-10 archive")
        target = root / BATCHES_DIR
        if target.exists():  # An incomplete folder from an earlier attempt.
            shutil.rmtree(target)
        extracted.rename(target)


def read_batches(folder: Path, names: tuple[str, ...]) -> tuple[npt.NDArray[np.uint8], Labels]:
    """The raw uint8 rows (N×3072) and int64 labels of the named pickled batches."""
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[Labels] = []
    for name in names:
        path = folder / name
        batch = _unpickle(path)
        data = np.asarray(_field(batch, "data", path))
        batch_labels = np.asarray(_field(batch, "labels", path), dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DataError(
                f"{path}: expected uint8 rows of 3072 values, got {data.dtype} {data.shape}"
            )
        if batch_labels.shape != (data.shape[0],) or not np.all(
            (batch_labels >= 0) & (batch_labels < len(CLASSES))
        ):
            raise DataError(f"{path}: expected {data.shape[0]} labels in 0-9")
        images.append(data)
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)


def read_classes(folder: Path) -> tuple[str, ...]:
    meta_path = folder / "batches.meta"
    if not meta_path.is_file():
        return CLASSES
    names = _field(_unpickle(meta_path), "label_names", meta_path)
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def to_float_images(raw: npt.NDArray[np.uint8]) -> Images:
    """Each row holds the red, green, then blue 32×32 plane: a reshape gives N×C×H×W."""
    return raw.reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255)


def load_digits(*, limit: int | None = None) -> DataSplits:
    """scikit-learn's 1,797 8×8 digits, shaped like CIFAR-10 images (3×32×32 in [0, 1]).

    Every fifth image is the test split, so the split is the same on every machine.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as err:
        raise DataError("the digits fallback needs scikit-learn: pip install scikit-learn") from err
    digits = sklearn_digits()
    small = np.asarray(digits.images, dtype=np.float32) / np.float32(16)  # values are 0-16
    # Nearest-neighbour ×4 to 32×32, the grey plane repeated as red, green and blue.
    big = small.repeat(4, axis=1).repeat(4, axis=2)
    images = np.ascontiguousarray(np.repeat(big[:, None, :, :], 3, axis=1))
    labels = np.asarray(digits.target, dtype=np.int64)
    test = np.arange(len(labels)) % 5 == 4
    train_images, train_labels = images[~test], labels[~test]
    if limit is not None:
        train_images, train_labels = train_images[:limit], train_labels[:limit]
    return DataSplits(
        name="digits",
        classes=tuple(str(d) for d in range(10)),
        train_images=train_images,
        train_labels=train_labels,
        test_images=images[test],
        test_labels=labels[test],
    )


def _unpickle(path: Path) -> dict[Any, Any]:
    # The batches were pickled by Python 2; encoding="bytes" is what the data set's own page
    # prescribes, and gives bytes keys (b"data"). The archive's MD5 was checked first.
    try:
        with path.open("rb") as f:
            batch = pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as err:
        raise DataError(f"cannot read {path}: {err}. Delete {path.parent} and run again.") from err
    if not isinstance(batch, dict):
        raise DataError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    return batch


def _field(batch: dict[Any, Any], key: str, path: Path) -> Any:
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    raise DataError(f"{path}: no {key!r} entry")
