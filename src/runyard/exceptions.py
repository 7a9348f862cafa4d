"""``azureml.exceptions``: the SDK's exception names over Runyard's one error tree
(``runyard.errors``), so ``except UserErrorException`` in an SDK-v1 script catches what
Runyard raises for bad input."""

from __future__ import annotations

from runyard.errors import DatasetTimestampMissingError, RunyardError, ValidationError

__all__ = ["AzureMLException", "DatasetTimestampMissingError", "UserErrorException"]

AzureMLException = RunyardError  # the SDK's base of its exceptions
UserErrorException = ValidationError  # the SDK's base of errors in what the user passed
