"""``azureml.data.dataset_consumption_config``: a dataset bound to a run."""

from __future__ import annotations

from runyard.core.file_dataset import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
