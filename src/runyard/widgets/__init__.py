"""The SDK-v1 path ``azureml.widgets``: ``from runyard.widgets import RunDetails``.

Needs the ``widgets`` extra (``pip install 'runyard[widgets]'``: anywidget)."""

from __future__ import annotations

from runyard.widgets.run_details import RunDetails

__all__ = ["RunDetails"]
