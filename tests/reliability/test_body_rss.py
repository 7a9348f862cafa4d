"""What an over-limit body costs the studio's memory (issue 13 item 7).

A body that declares its length gets its 413 before any of it is read: the studio's
memory stays at idle. A streamed body (no Content-Length) is counted while it is read,
so it costs at most the limit (64 MiB), never the body's size. Measured on a real
``runyard studio`` process: its peak resident memory (VmHWM) after refusing a 100 MiB
JSON body, sent with its length and then streamed, against its resident memory when
idle. Before the cap, a 100 MB body took the studio to 379 MB RSS before its 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx

from runyard.core import Workspace
from runyard.server.app import MAX_JSON_BODY

from .harness import StudioProcess, free_port, record

TOKEN = "body-rss-token-0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
MIB = 1024 * 1024
BODY_MIB = 100


def _memory_mib(pid: int) -> dict[str, float]:
    found = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    return found


def _streamed() -> Iterator[bytes]:
    yield b'{"name": "'
    for _ in range(BODY_MIB):
        yield b"x" * MIB
    yield b'"}'


def _post(url: str, content: bytes | Iterator[bytes]) -> int | str:
    try:
        return httpx.post(url, content=content, headers=HEADERS, timeout=120).status_code
    except httpx.TransportError as exc:  # the server may close while we still send
        return type(exc).__name__


def test_the_studio_refuses_an_over_limit_body_without_reading_it(tmp_path: Path) -> None:
    Workspace.create(tmp_path / "ws").close()
    studio = StudioProcess(tmp_path / "ws", free_port(), TOKEN, tmp_path / "studio.log")
    try:
        studio.wait_ready()
        url = studio.url + "/api/experiments"
        # Warm up the write path, so the baseline includes what a served write costs.
        assert httpx.post(url, json={"name": "warm"}, headers=HEADERS).status_code == 200
        idle = _memory_mib(studio.proc.pid)
        declared = _post(url, b'{"name": "' + b"x" * (BODY_MIB * MIB) + b'"}')
        mid = _memory_mib(studio.proc.pid)
        streamed = _post(url, _streamed())
        after = _memory_mib(studio.proc.pid)
        assert httpx.get(studio.url + "/api/experiments").status_code == 200  # still serving
    finally:
        studio.stop()
    assert declared == 413 and streamed in (413, "RemoteProtocolError", "WriteError"), (
        declared,
        streamed,
    )
    by_length = mid["VmHWM"] - idle["VmRSS"]
    by_stream = after["VmHWM"] - idle["VmRSS"]
    record(
        "body-limit-rss",
        body_mib=BODY_MIB,
        limit_mib=MAX_JSON_BODY // MIB,
        idle_rss_mib=round(idle["VmRSS"], 1),
        peak_after_declared_mib=round(mid["VmHWM"], 1),
        peak_after_streamed_mib=round(after["VmHWM"], 1),
        declared=declared,
        streamed=streamed,
    )
    print(
        f"studio RSS idle {idle['VmRSS']:.1f} MiB; peak +{by_length:.1f} MiB refusing a "
        f"declared {BODY_MIB} MiB body, +{by_stream:.1f} MiB refusing a streamed one"
    )
    assert by_length < 16, f"refusing a declared body grew the studio by {by_length:.1f} MiB"
    # A streamed body is read until it passes the limit: bounded by it, not by the body.
    assert by_stream < MAX_JSON_BODY // MIB + 16, f"+{by_stream:.1f} MiB for a streamed body"
