"""``azureml.data.data_reference``: a datastore path used as a run input."""

from __future__ import annotations

from runyard.core.datastore import DataReference

__all__ = ["DataReference"]
