"""Runyard's errors as MLflow's: what MLflow's callers catch and show."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST

from runyard.errors import NotFoundError, RunyardError, ValidationError


@contextmanager
def mlflow_errors() -> Iterator[None]:
    """Runyard's errors as the MlflowException (and error code) MLflow's callers expect."""
    try:
        yield
    except NotFoundError as exc:
        raise MlflowException(str(exc), error_code=RESOURCE_DOES_NOT_EXIST) from exc
    except ValidationError as exc:
        raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc
    except RunyardError as exc:
        raise MlflowException(str(exc)) from exc
