"""``azureml.data.azure_storage_datastore``: the SDK's datastore class names, which
are all :class:`runyard.core.Datastore` here (its ``datastore_type`` says which)."""

from __future__ import annotations

from runyard.core.datastore import Datastore

AzureBlobDatastore = Datastore
AzureFileDatastore = Datastore

__all__ = ["AzureBlobDatastore", "AzureFileDatastore"]
