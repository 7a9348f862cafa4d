"""The SDK-v1 ``azureml.data`` module paths, over :mod:`runyard.core`'s datasets:
``from runyard.data import OutputFileDatasetConfig``,
``from runyard.data.datapath import DataPath``,
``from runyard.data.dataset_consumption_config import DatasetConsumptionConfig`` ..."""

from __future__ import annotations

from runyard import __version__
from runyard.core.datastore import DataPath, DataReference
from runyard.core.file_dataset import DatasetConsumptionConfig, FileDataset
from runyard.core.tabular_dataset import TabularDataset
from runyard.data.output_dataset_config import OutputFileDatasetConfig

__all__ = [
    "DataPath",
    "DataReference",
    "DatasetConsumptionConfig",
    "FileDataset",
    "OutputFileDatasetConfig",
    "TabularDataset",
    "__version__",
]
