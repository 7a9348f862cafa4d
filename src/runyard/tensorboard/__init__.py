"""TensorBoard for runs (the SDK's ``azureml.tensorboard``): ``Tensorboard(runs,
local_root, port)`` serves the event files runs wrote, and
``export.export_to_tensorboard(run_data, logsdir)`` writes runs' metrics as event files.
Both need the ``tensorboard`` package (``pip install 'runyard[tensorboard]'``), imported
only when used."""

from __future__ import annotations

from runyard.tensorboard import export
from runyard.tensorboard.board import Tensorboard

__all__ = ["Tensorboard", "export"]
