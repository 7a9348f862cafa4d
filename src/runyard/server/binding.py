"""Where the studio listens, and the rule that guards it: a non-loopback address needs
an explicit access token."""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from runyard.config import ENV_TOKEN
from runyard.errors import ConfigError

if TYPE_CHECKING:
    from runyard.store.base import Store


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (``127.0.0.0/8``, ``::1``).

    Any other name counts as non-loopback, even one that resolves to 127.0.0.1: the
    check must not depend on DNS.
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> bool:
    """Refuses a non-loopback ``host`` without a token; returns whether it is loopback.

    Raises ConfigError before anything is bound.
    """
    loopback = is_loopback_host(host)
    if not loopback and not token:
        raise ConfigError(
            f"refusing to serve the studio on {host!r} without an access token: anyone who "
            "can reach that address could read and write the workspace. Pass a token "
            f"(runyard studio --token ..., or set {ENV_TOKEN}), or bind to 127.0.0.1"
        )
    if not loopback and token is not None and len(token) < MIN_TOKEN_LENGTH:
        # A short token on an open address can be guessed; 16 characters of a random
        # token (secrets.token_urlsafe) carry well over 64 bits.
        raise ConfigError(
            f"refusing to serve the studio on {host!r} with a {len(token)}-character access "
            f"token: a token for a non-loopback address must be at least {MIN_TOKEN_LENGTH} "
            "characters. Make one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(24))'"
        )
    return loopback


MIN_TOKEN_LENGTH = 16


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one, see
    ``getsockname()``). A busy port is a ConfigError that suggests ``--port 0``."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets whose proto
    # says TCP, and without it each keep-alive answer after the first waited ~40 ms
    # (Nagle's algorithm against the client's delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # As uvicorn does: a restarted studio may reuse a port in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is in use (another studio, or another program); "
                "pass --port 0 to pick a free port, or stop the program that holds it "
                f"(`lsof -i :{port}` shows it)"
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    workspace_name: str = "",
    sock: socket.socket | None = None,
    rerun: Callable[[str], str] | None = None,
) -> None:
    """Runs the studio with uvicorn until interrupted (blocking).

    On a loopback address reads are open and writes need the token (one is generated
    when none is given); on any other address every request needs it. With ``sock``
    (from :func:`bind_socket`) it serves on that socket and prints where only once it
    listens; without, uvicorn binds ``host:port`` after the banner.
    """
    loopback = check_bind(host, token)
    token = token or secrets.token_urlsafe(32)

    import uvicorn

    from runyard.server.app import build_app

    app = build_app(
        store,
        token=token,
        require_token_for_reads=not loopback,
        workspace_name=workspace_name,
        rerun=rerun,
    )
    from runyard.server.pages import warm_templates

    warm_templates(app.state)
    if sock is not None:
        port = int(sock.getsockname()[1])
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    print(f"Runyard studio listening on {url}", flush=True)
    if loopback:
        print(f"  write token (Authorization: Bearer): {token}", flush=True)
    else:
        print(f"  open {url}?token={token} in a browser", flush=True)
    # Live streams are long requests; keep-alives beyond that are not needed.
    if sock is None:
        uvicorn.run(
            app, host=host, port=port, log_level="warning",
            timeout_graceful_shutdown=2, timeout_keep_alive=5,
        )  # fmt: skip
        return
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning",
        timeout_graceful_shutdown=2, timeout_keep_alive=5,
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])
