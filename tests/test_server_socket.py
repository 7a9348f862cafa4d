"""The studio's listening socket: connections it accepts send each answer at once."""

from __future__ import annotations

import asyncio
import socket

from runyard.server.binding import bind_socket


async def _nodelay_of_accepted(sock: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            conn = transport.get_extra_info("socket")
            accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    # uvicorn serves a socket it is handed with this very call.
    server = await loop.create_server(Probe, sock=sock)
    _reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
    try:
        return await asyncio.wait_for(accepted, 10)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


def test_accepted_connections_have_tcp_nodelay() -> None:
    # asyncio sets TCP_NODELAY only where the listening socket's proto says TCP. Without
    # it, every keep-alive answer after a connection's first waited ~40 ms (Nagle's
    # algorithm against the client's delayed ACK): 44 ms for any API call, measured.
    sock = bind_socket("127.0.0.1", 0)
    assert asyncio.run(_nodelay_of_accepted(sock)) != 0
