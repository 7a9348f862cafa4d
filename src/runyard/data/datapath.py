"""``azureml.data.datapath``: a path in a datastore."""

from __future__ import annotations

from runyard.core.datastore import DataPath

__all__ = ["DataPath"]
