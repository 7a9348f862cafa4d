"""The error table: error code <-> exception class of :mod:`runyard.errors` <-> HTTP
status. The server answers ``{"error": {"type": CODE, "message": ...}}`` with the
status of the table; the client raises the class of the table for the code it reads.

The code is the class name, so a message reads the same on both sides. Codes for
HTTP-level failures that no exception of ours raised (an unknown route, a bad method,
a body too large) map to the class the client should raise for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from runyard import errors
from runyard.errors import RunyardError

__all__ = [
    "ERROR_TABLE",
    "ErrorKind",
    "ErrorOut",
    "code_for_status",
    "exception_for",
    "kind_of",
    "status_for",
]


@dataclass(frozen=True)
class ErrorKind:
    """One row of the table: the server answers ``exception`` (None for an HTTP-level
    failure) with ``status`` and ``code``; a client raises ``raise_as`` for the code."""

    code: str
    exception: type[RunyardError] | None
    status: int
    raise_as: type[RunyardError]


def _row(
    exception: type[RunyardError], status: int, raise_as: type[RunyardError] | None = None
) -> ErrorKind:
    return ErrorKind(exception.__name__, exception, status, raise_as or exception)


# Every class of runyard.errors, with the status it is answered with (a test checks
# that none is missing). 500 for failures of the server's own machinery.
ERROR_TABLE: tuple[ErrorKind, ...] = (
    _row(errors.RunyardError, 500),
    _row(errors.ConfigError, 400),
    _row(errors.WorkspaceNotFoundError, 400),
    _row(errors.ValidationError, 400),
    _row(errors.MetricTypeError, 400),
    _row(errors.SnapshotTooLargeError, 400),
    _row(errors.DatasetTimestampMissingError, 400),
    _row(errors.NotFoundError, 404),
    _row(errors.ExperimentNotFoundError, 404),
    _row(errors.RunNotFoundError, 404),
    _row(errors.EnvironmentNotFoundError, 404),
    _row(errors.ComputeTargetNotFoundError, 404),
    _row(errors.ArtifactNotFoundError, 404),
    _row(errors.DatastoreNotFoundError, 404),
    _row(errors.DatasetNotFoundError, 404),
    _row(errors.ModelNotFoundError, 404),
    _row(errors.ConflictError, 409),
    _row(errors.FencedError, 409),  # a reaped runner's late write
    _row(errors.StoreError, 503),
    _row(errors.DiskFullError, 507),  # Insufficient Storage: the server's disk is full
    _row(errors.EnvironmentBuildError, 500),
    _row(errors.ComputeError, 500),
    _row(errors.ComputeTargetException, 500),
    # The server reached a datastore (S3, Azure ...) that refused it or did not answer.
    _row(errors.DatastoreAccessError, 502),
    # Needs details the wire does not carry: a client reads it as a StoreError.
    _row(errors.RunFailedError, 500, raise_as=errors.StoreError),
    _row(errors.AuthError, 401),
)

# HTTP-level answers, not raised as our errors (status -> code, and the class the
# client raises for the code).
HTTP_ERRORS: tuple[ErrorKind, ...] = (
    ErrorKind("BadRequest", None, 400, errors.ValidationError),
    ErrorKind("Forbidden", None, 403, errors.AuthError),
    ErrorKind("MethodNotAllowed", None, 405, errors.ValidationError),
    ErrorKind("RequestTooLarge", None, 413, errors.ValidationError),
    ErrorKind("InternalServerError", None, 500, errors.StoreError),
    ErrorKind("HTTPError", None, 500, errors.StoreError),
)

_BY_CLASS: dict[type[BaseException], ErrorKind] = {
    row.exception: row for row in ERROR_TABLE if row.exception is not None
}
_BY_CODE = {row.code: row for row in ERROR_TABLE + HTTP_ERRORS}
_HTTP_BY_STATUS = {row.status: row for row in HTTP_ERRORS if row.code != "HTTPError"}
_HTTP_BY_STATUS[401] = _BY_CODE["AuthError"]
_HTTP_BY_STATUS[404] = _BY_CODE["NotFoundError"]


def kind_of(exc: RunyardError) -> ErrorKind:
    """The row for ``exc``: its class's, else its nearest listed base class's."""
    for cls in type(exc).__mro__:
        row = _BY_CLASS.get(cls)
        if row is not None:
            return row
    return _BY_CLASS[RunyardError]


def status_for(exc: RunyardError) -> int:
    """The HTTP status ``exc`` is answered with."""
    return kind_of(exc).status


def code_for_status(status: int) -> str:
    """The code of an HTTP-level error answer (``"HTTPError"`` for an unlisted one)."""
    row = _HTTP_BY_STATUS.get(status)
    return row.code if row is not None else "HTTPError"


def exception_for(code: str, message: str) -> RunyardError:
    """The exception a client raises for an error answer (StoreError for a code it
    does not know, e.g. from a newer server)."""
    row = _BY_CODE.get(code)
    cls = row.raise_as if row is not None else errors.StoreError
    return cls(message)


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail

    @classmethod
    def of(cls, code: str, message: str) -> ErrorOut:
        return cls(error=ErrorDetail(type=code, message=message))
