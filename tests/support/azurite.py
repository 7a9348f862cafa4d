"""Azure Blob for tests: Azurite's blob service (npm) as a real process on a free
loopback port, its data in a temporary folder, stopped by its pid.

Azurite is installed by ``make azurite`` (a dependency of ``make test``) into
``.cache/azurite``; tests skip when neither that copy nor one on PATH exists.
Azurite checks the shared-key signature of every request, so a wrong account key
is refused as it would be by Azure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.s3 import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL_BIN = ROOT / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"

# Azurite's well-known development account (published in its README).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    endpoint: str  # http://127.0.0.1:<port>/devstoreaccount1
    account_name: str = ACCOUNT
    account_key: str = KEY

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.endpoint};"
        )


def azurite_binary() -> str | None:
    if LOCAL_BIN.exists():
        return str(LOCAL_BIN)
    return shutil.which("azurite-blob")


@contextmanager
def azurite_server(data_dir: Path) -> Iterator[Azurite]:
    """Yields a fresh Azurite blob service; raises RuntimeError when it cannot start."""
    binary = azurite_binary()
    if binary is None:
        raise RuntimeError("azurite is not installed: run `make azurite`")
    port = free_port()
    log_path = data_dir / f"azurite-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(data_dir),
            "--skipApiVersionCheck",
            "--silent",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Azurite(endpoint=f"http://127.0.0.1:{port}/{ACCOUNT}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"azurite exited: {log_path.read_text()}")
            try:
                # Any HTTP answer (an auth error included) means it is serving.
                httpx.get(f"{server.endpoint}?comp=list", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("azurite did not start in 60 s") from None
                time.sleep(0.1)
        yield server
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
