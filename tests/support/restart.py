"""Restarting a test server on the port it had, as a studio that went away and came
back (clients keep their URL). Companion of :mod:`tests.support.server`."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from tests.support.server import RunningServer


def start_server_on_port(app: Any, port: int, *, timeout: float = 10.0) -> RunningServer:
    """Starts ``app`` on 127.0.0.1:``port`` (waiting for the port to be free again)."""
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    while True:
        try:
            sock.bind(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() > deadline:
                sock.close()
                raise
            time.sleep(0.05)
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, timeout_keep_alive=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the test server did not start again on port {port}")
        time.sleep(0.01)
    return RunningServer(
        url=f"http://127.0.0.1:{port}", port=port, server=server, thread=thread, sock=sock
    )
