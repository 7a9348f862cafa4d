"""One-line notices on stderr for SDK-v1 names that mean something different locally.

The port rule promises that an SDK-v1 script runs unchanged; where a setting has no
local meaning (a VNet, a Docker engine) Runyard accepts it and says so once per
process, rather than failing or silently ignoring it.
"""

from __future__ import annotations

import sys
import threading

_SEEN: set[str] = set()
_LOCK = threading.Lock()


def notice(message: str, *, key: str | None = None) -> bool:
    """Prints ``runyard: <message>`` to stderr, once per ``key`` (default: the
    message) in this process. Returns whether it printed."""
    once = key if key is not None else message
    with _LOCK:
        if once in _SEEN:
            return False
        _SEEN.add(once)
    print(f"runyard: {message}", file=sys.stderr, flush=True)
    return True
