"""A real uvicorn server for tests: on a free 127.0.0.1 port, in a thread, stopped
through uvicorn's ``should_exit`` (never by killing anything)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from runyard.store.base import Store


@dataclass
class RunningServer:
    """A started server: its base URL and the uvicorn objects that stop it."""

    url: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            # Open streams hold the graceful shutdown up; force the rest.
            self.server.force_exit = True
            self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"the test server on {self.url} did not stop")
        self.sock.close()


def start_server(app: Any, *, startup_timeout: float = 10.0) -> RunningServer:
    """Starts ``app`` on a free loopback port and waits until it accepts requests."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Binding port 0 ourselves and handing uvicorn the socket leaves no window in
    # which another process could take the port.
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server exited during start-up")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the test server did not start within {startup_timeout}s")
        time.sleep(0.01)
    return RunningServer(
        url=f"http://127.0.0.1:{port}", port=port, server=server, thread=thread, sock=sock
    )


@contextmanager
def running_server(app: Any) -> Iterator[RunningServer]:
    """``with running_server(app) as srv: httpx.get(srv.url + "/api/experiments")``."""
    srv = start_server(app)
    try:
        yield srv
    finally:
        srv.stop()


def open_test_store(folder: Path) -> Store:
    """A real SQLite store with its artifact root, in ``folder``."""
    from runyard.store import open_store

    return open_store("sqlite:///" + str(folder / "runyard.db"), artifact_root=folder / "artifacts")
