"""Datastores, datasets and models (issue 15), with the peers beside, in one run.

    python -m benchmarks.assets_bench [--small] [--files N] [--model-mb M] [--no-peers]

Starts moto's S3 server on loopback (tests/support/s3.py) and measures:

- upload of N x 3 KB files (default 60,000, a CIFAR-10-sized tree) to the local
  datastore and to S3 (files/s), against a plain fsspec loop and, from a venv of their
  own (``benchmarks/.cache/venvs/assets-peers``), ``aws s3 cp --recursive`` (awscli)
  and an obstore loop with its async API;
- registering the tree as a dataset, then re-registering it unchanged (seconds, bytes
  fetched: goal 0 bytes, <= 5 s);
- ``download`` of the S3 dataset into a fresh per-machine cache (files/s; goal >= 5x a
  plain fsspec ``get_file`` loop), and a second download (bytes fetched: goal 0);
- 16 processes registering one model name at once (versions must be exactly 1..16);
- register + download of a 100 MB model (MB/s) against copying the file.

``--small`` (600 files, a 5 MB model) is what tests/test_benchmarks_smoke.py runs.
Numbers are printed as a table (benchmarks/target_table.py); nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.target_table import Result, print_table

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / "benchmarks" / ".cache" / "venvs" / "assets-peers"
PEER_PY = PEER_VENV / "bin" / "python"
KEY = {"key": "bench", "secret": "bench"}


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def make_tree(root: Path, n: int) -> Path:
    """n files of 3 KB in 10 class folders (CIFAR-10's layout), distinct contents."""
    for i in range(n):
        folder = root / f"class{i % 10}"
        if i < 10:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.png").write_bytes(i.to_bytes(4, "big") * 768)
    return root


def _blob_bytes(cache: Path) -> int:
    return sum(p.stat().st_size for p in (cache / "datasets" / "blobs").glob("*/*"))


def _fs(endpoint: str) -> Any:
    import fsspec

    return fsspec.filesystem("s3", endpoint_url=endpoint, skip_instance_cache=True, **KEY)


def _fsspec_put_loop(endpoint: str, bucket: str, tree: Path) -> None:
    fs = _fs(endpoint)
    for path in sorted(tree.rglob("*.png")):
        fs.put_file(str(path), f"{bucket}/loop/{path.relative_to(tree).as_posix()}")


def _fsspec_get_loop(endpoint: str, prefix: str, target: Path) -> None:
    fs = _fs(endpoint)
    for name in fs.find(prefix):
        dest = target / name[len(prefix) + 1 :]
        dest.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(name, str(dest))


OBSTORE_PUT = """
import asyncio, sys
from pathlib import Path
from obstore.store import S3Store
endpoint, bucket, tree = sys.argv[1], sys.argv[2], Path(sys.argv[3])
store = S3Store(bucket, endpoint=endpoint, access_key_id="bench", secret_access_key="bench",
                region="us-east-1", client_options={"allow_http": True},
                virtual_hosted_style_request=False)
files = sorted(tree.rglob("*.png"))
async def main():
    sem = asyncio.Semaphore(16)
    async def one(p):
        async with sem:
            await store.put_async("obstore/" + p.relative_to(tree).as_posix(), p.read_bytes())
    await asyncio.gather(*(one(p) for p in files))
asyncio.run(main())
"""


def _peer(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float | None, str]:
    started = time.perf_counter()
    done = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=1800
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        return None, (done.stderr or done.stdout).strip().splitlines()[-1][:120]
    return took, ""


def _register_model(args: tuple[str, str]) -> int:
    from runyard.core import Model, Workspace

    ws = Workspace.from_config(args[0])
    try:
        return Model.register(ws, args[1], "concurrent").version
    finally:
        ws.close()


def run(n_files: int, model_mb: int, peers: bool) -> list[Result]:
    from tests.support.s3 import moto_server

    from runyard.core import Dataset, Datastore, Workspace

    results: list[Result] = []
    work = Path(tempfile.mkdtemp(prefix="assets-bench-"))
    try:
        tree = make_tree(work / "tree", n_files)
        with (
            moto_server(work) as endpoint,
            _env(
                RUNYARD_CACHE_DIR=str(work / "cache"),
                RUNYARD_SECRETS_FILE=str(work / "secrets.json"),
                AWS_DEFAULT_REGION="us-east-1",
            ),
        ):
            _fs(endpoint).mkdir("bench")
            ws = Workspace.create(work / "ws", show_output=False)
            local = ws.get_default_datastore()
            t = _timed(lambda: local.upload(str(tree), "cifar", show_progress=False))
            results.append(Result("upload, local datastore", n_files / t, "files/s", "", True))

            import fsspec

            lfs = fsspec.filesystem("file")

            def local_loop() -> None:
                for p in sorted(tree.rglob("*.png")):
                    dest = work / "plain-local" / p.relative_to(tree)
                    lfs.makedirs(str(dest.parent), exist_ok=True)
                    lfs.put_file(str(p), str(dest))

            t = _timed(local_loop)
            results.append(Result("  peer: fsspec file loop", n_files / t, "files/s", "", True))

            s3 = Datastore.register_s3(
                ws,
                "s3",
                "bench",
                endpoint_url=endpoint,
                access_key_id="bench",
                secret_access_key="bench",
            )
            t = _timed(lambda: s3.upload(str(tree), "cifar", show_progress=False))
            results.append(Result("upload, S3 (moto)", n_files / t, "files/s", "", True))
            t = _timed(lambda: _fsspec_put_loop(endpoint, "bench", tree))
            results.append(Result("  peer: fsspec put_file loop", n_files / t, "files/s", "", True))
            if peers:
                results.extend(_s3_peers(endpoint, tree, n_files))

            # Registration: local datastore, then S3 (whose first registration fetches
            # every file into the cache to hash it).
            for label, store in (("local", local), ("S3", s3)):

                def register(store: Any = store, label: str = label) -> None:
                    Dataset.File.from_files(path=(store, "cifar")).register(ws, f"cifar-{label}")

                t1 = _timed(register)
                results.append(Result(f"register {label}, first", t1, "s", "", True))
                before = _blob_bytes(work / "cache")
                t2 = _timed(register)
                moved = _blob_bytes(work / "cache") - before
                results.append(
                    Result(f"re-register {label}, unchanged", t2, "s", "<= 5 s", t2 <= 5)
                )
                results.append(
                    Result(f"re-register {label}, bytes fetched", moved, "B", "0", moved == 0)
                )
                version = Dataset.get_by_name(ws, f"cifar-{label}").version
                results.append(
                    Result(f"re-register {label}, version", version, "", "1", version == 1)
                )

            # as_download from S3 into a fresh cache (what a run on a new machine does).
            ds = Dataset.get_by_name(ws, "cifar-S3")
            with _env(RUNYARD_CACHE_DIR=str(work / "cache2")):
                t = _timed(lambda: ds.download(work / "dl1"))
                fetched = _blob_bytes(work / "cache2")
                t_loop = _timed(lambda: _fsspec_get_loop(endpoint, "bench/cifar", work / "dl-loop"))
                ratio = t_loop / t
                results.append(
                    Result("download S3 into the cache", n_files / t, "files/s", "", True)
                )
                results.append(
                    Result("  peer: fsspec get_file loop", n_files / t_loop, "files/s", "", True)
                )
                results.append(Result("  cache / loop speed", ratio, "x", ">= 5x", ratio >= 5))
                t2 = _timed(lambda: ds.download(work / "dl2"))
                again = _blob_bytes(work / "cache2") - fetched
                results.append(Result("second download", n_files / t2, "files/s", "", True))
                results.append(
                    Result("second download, bytes fetched", again, "B", "0", again == 0)
                )

            results.extend(_models(ws, work, model_mb))
            ws.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _s3_peers(endpoint: str, tree: Path, n_files: int) -> list[Result]:
    out: list[Result] = []
    if not PEER_PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(PEER_PY), "-m", "pip", "install", "-q", "awscli", "obstore"], check=False
        )
    aws = PEER_VENV / "bin" / "aws"
    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    if aws.exists():
        cmd = [str(aws), "--endpoint-url", endpoint, "s3", "cp", "--recursive", "--quiet"]
        took, why = _peer([*cmd, str(tree), "s3://bench/awscli"], env)
        out.append(_peer_result("  peer: aws s3 cp --recursive", n_files, took, why))
    else:
        out.append(Result("  peer: aws s3 cp (awscli did not install)", 0, "", "", False))
    took, why = _peer([str(PEER_PY), "-c", OBSTORE_PUT, endpoint, "bench", str(tree)])
    out.append(_peer_result("  peer: obstore put_async x16", n_files, took, why))
    return out


def _peer_result(name: str, n: int, took: float | None, why: str) -> Result:
    if took is None:
        return Result(f"{name} (failed: {why})", 0, "", "", False)
    return Result(name, n / took, "files/s", "", True)


def _models(ws: Any, work: Path, model_mb: int) -> list[Result]:
    from runyard.core import Model

    out: list[Result] = []
    small = work / "small.bin"
    small.write_bytes(os.urandom(4096))
    ctx = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with ctx.Pool(16) as pool:
        versions = pool.map(_register_model, [(str(ws.config_path), str(small))] * 16)
    took = time.perf_counter() - started
    exact = sorted(versions) == list(range(1, 17))
    out.append(Result("16 concurrent registrations", took, "s", "versions 1..16", exact))
    big = work / "model.bin"
    with open(big, "wb") as f:
        for _ in range(model_mb):
            f.write(os.urandom(1024 * 1024))
    t_reg = _timed(lambda: Model.register(ws, str(big), "big"))
    t_dl = _timed(lambda: Model(ws, "big").download(str(work / "model-dl")))
    t_copy = _timed(lambda: shutil.copyfile(big, work / "model-copy.bin"))
    out.append(Result(f"register {model_mb} MB model", model_mb / t_reg, "MB/s", "", True))
    out.append(Result(f"download {model_mb} MB model", model_mb / t_dl, "MB/s", "", True))
    out.append(Result("  peer: shutil.copyfile", model_mb / t_copy, "MB/s", "", True))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.assets_bench")
    parser.add_argument("--small", action="store_true", help="600 files, a 5 MB model")
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument("--model-mb", type=int, default=None)
    parser.add_argument("--no-peers", action="store_true", help="skip awscli and obstore")
    args = parser.parse_args(argv)
    n = args.files or (600 if args.small else 60_000)
    mb = args.model_mb or (5 if args.small else 100)
    print_table(run(n, mb, peers=not args.no_peers))


if __name__ == "__main__":
    main()
