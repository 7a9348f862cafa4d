"""Environment builds: warm resolve, cold build, a second environment, import time.

    python -m benchmarks.env_bench [--cold-uv-cache] [--pip-venv]

Each run uses a fresh ``RUNYARD_CACHE_DIR``; uv's own cache is the user's (warm after
the first time) unless ``--cold-uv-cache`` also measures with an empty one.
``--pip-venv`` compares ``import torch`` against a venv made by ``python -m venv`` and
``pip install`` (slow: a minute or more).

Targets: resolving a built environment < 50 ms; a second environment sharing most
packages with one already built <= 3 s; the cold PyTorch CPU build is reported (its
cost is byte-compiling ~7,000 files; installing takes about a second).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.target_table import Result, print_table
from runyard.environments import get_curated, prepare

TORCH = "torch==2.13.0"


@contextmanager
def _env_var(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _seconds(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _import_time(python: Path, module: str, repeat: int = 3) -> float:
    """Best wall time of ``python -c 'import module'`` minus a bare interpreter start."""

    def once(code: str) -> float:
        return _seconds(lambda: subprocess.run([str(python), "-c", code], check=True))

    bare = min(once("pass") for _ in range(repeat))
    return min(once(f"import {module}") for _ in range(repeat)) - bare


def bench_builds(work: Path) -> tuple[list[Result], Path]:
    results: list[Result] = []
    log = work / "environment_build.log"
    torch_spec = get_curated("Runyard-PyTorch-CPU")
    cold = _seconds(lambda: prepare(torch_spec, log))
    results.append(Result("cold build Runyard-PyTorch-CPU", cold, "s", "report", True))

    def resolve() -> None:
        prepare(torch_spec, log)

    times = sorted(_seconds(resolve) * 1000 for _ in range(200))
    median, p95 = statistics.median(times), times[int(len(times) * 0.95)]
    results.append(Result("warm resolve (median)", median, "ms", "< 50", median < 50))
    results.append(Result("warm resolve (p95)", p95, "ms", "< 50", p95 < 50))
    code = (
        "import time; t = time.perf_counter(); from pathlib import Path; "
        "from runyard.environments import get_curated, prepare; "
        f"prepare(get_curated('Runyard-PyTorch-CPU'), Path({str(log)!r})); "
        "print((time.perf_counter() - t) * 1000)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    fresh = float(out.stdout.strip())
    results.append(Result("resolve in a new process (+imports)", fresh, "ms", "report", True))

    second_spec = {**torch_spec, "name": "torch-plus-six", "pip": [*torch_spec["pip"], "six"]}
    second = _seconds(lambda: prepare(second_spec, log))
    results.append(Result("second env (PyTorch + six)", second, "s", "<= 3", second <= 3))
    sklearn = _seconds(lambda: prepare(get_curated("Runyard-sklearn"), log))
    results.append(Result("then Runyard-sklearn (shares numpy..)", sklearn, "s", "report", True))
    return results, prepare(torch_spec, log).python


def bench_cold_uv_cache(work: Path) -> Result:
    with (
        _env_var("UV_CACHE_DIR", str(work / "uv-cache")),
        _env_var("RUNYARD_CACHE_DIR", str(work / "cache-cold-uv")),
    ):
        took = _seconds(lambda: prepare(get_curated("Runyard-PyTorch-CPU"), work / "cold.log"))
    return Result("cold build, empty uv cache too", took, "s", "report", True)


def bench_pip_venv(work: Path, built_python: Path) -> list[Result]:
    venv = work / "pip-venv"
    took = _seconds(
        lambda: (
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True),
            subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", TORCH],
                check=True,
            ),
        )
    )
    return [
        Result("pip venv + pip install torch", took, "s", "report", True),
        Result(
            "import torch, uv-built env", _import_time(built_python, "torch"), "s", "report", True
        ),
        Result(
            "import torch, pip-made venv",
            _import_time(venv / "bin" / "python", "torch"),
            "s",
            "report",
            True,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cold-uv-cache", action="store_true", help="also with an empty uv cache")
    parser.add_argument("--pip-venv", action="store_true", help="compare with a pip-made venv")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="runyard-env-bench-"))
    try:
        with _env_var("RUNYARD_CACHE_DIR", str(work / "cache")):
            results, built_python = bench_builds(work)
            if args.pip_venv:
                results.extend(bench_pip_venv(work, built_python))
        if args.cold_uv_cache:
            results.append(bench_cold_uv_cache(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
