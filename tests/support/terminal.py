"""Running a command on a pseudo-terminal, as a user at a shell would: for output that
only a terminal gets (progress bars, live lines) and for questions it asks."""

from __future__ import annotations

import os
import select
import subprocess
from collections.abc import Mapping


def run_on_a_terminal(
    argv: list[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin_too: bool = False,
    answers: Mapping[bytes, bytes] | None = None,
    timeout: float = 300,
) -> tuple[int, bytes]:
    """Runs ``argv`` with a pseudo-terminal as stdout and stderr (and stdin, with
    ``stdin_too``); each of ``answers`` (prompt -> reply) is typed once when its prompt
    shows. Returns the exit code and everything shown."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv,
        stdin=follower if stdin_too else subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=dict(env) if env is not None else None,
    )
    os.close(follower)
    pending = dict(answers or {})
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        for prompt in [p for p in pending if p in seen]:
            os.write(leader, pending.pop(prompt))
    code = proc.wait(timeout)
    os.close(leader)
    return code, seen
