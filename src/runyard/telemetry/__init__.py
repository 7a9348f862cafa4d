"""The SDK-v1 path ``azureml.telemetry``: ``set_diagnostics_collection``.

The cloud SDK sends usage diagnostics to Microsoft when asked; Runyard sends nothing
anywhere, so the call only records the choice (``get_diagnostics_collection_info``)."""

from __future__ import annotations

_send = False


def set_diagnostics_collection(
    send_diagnostics: bool = True, path: str | None = None, reset: bool = False
) -> None:
    """Accept the SDK-v1 call; nothing is ever sent from Runyard (``path`` has no use)."""
    global _send
    _send = False if reset else bool(send_diagnostics)


def get_diagnostics_collection_info(path: str | None = None) -> dict[str, bool]:
    """What the last ``set_diagnostics_collection`` asked for (nothing is sent either way)."""
    return {"send_diagnostics": _send}


__all__ = ["get_diagnostics_collection_info", "set_diagnostics_collection"]
