"""Every error Runyard raises, in one tree.

    RunyardError
    ├── ConfigError                 a config file or setting is wrong
    │   └── WorkspaceNotFoundError  no .runyard/config.json above the folder
    ├── ValidationError (ValueError) bad input: a name, a limit, a value
    │   ├── MetricTypeError (TypeError) a metric value of an unsupported type
    │   ├── SnapshotTooLargeError   the source folder is over a snapshot limit
    │   └── DatasetTimestampMissingError  a time filter on a dataset without timestamps
    ├── NotFoundError (LookupError)
    │   ├── ExperimentNotFoundError
    │   ├── RunNotFoundError
    │   ├── EnvironmentNotFoundError
    │   ├── ComputeTargetNotFoundError (also a ComputeTargetException)
    │   ├── ArtifactNotFoundError
    │   ├── DatastoreNotFoundError
    │   ├── DatasetNotFoundError
    │   └── ModelNotFoundError
    ├── ConflictError               the thing exists already, or changed under us
    ├── StoreError                  the store failed (disk full, server gone)
    ├── EnvironmentBuildError       building an environment failed
    ├── ComputeError                a compute target could not start a run
    ├── ComputeTargetException      the SDK's name: a target missing or not made
    ├── RunFailedError              a waited-for run ended Failed or Canceled
    └── AuthError                   a missing or wrong access token

Every message names the problem and, where there is one, the fix.
"""

from __future__ import annotations


class RunyardError(Exception):
    """Base class of every error raised by Runyard."""


class ConfigError(RunyardError):
    """A config file, environment variable or setting is invalid."""


class WorkspaceNotFoundError(ConfigError):
    """No workspace config was found where one was looked for."""


class ValidationError(RunyardError, ValueError):
    """Input that Runyard refuses: a bad name, value, or a limit exceeded."""


class MetricTypeError(ValidationError, TypeError):
    """A metric value whose type cannot be logged."""


class SnapshotTooLargeError(ValidationError):
    """The source folder exceeds a snapshot limit."""


class NotFoundError(RunyardError, LookupError):
    """Something asked for by name or id does not exist."""


class ExperimentNotFoundError(NotFoundError):
    pass


class RunNotFoundError(NotFoundError):
    pass


class EnvironmentNotFoundError(NotFoundError):
    pass


class ComputeTargetException(RunyardError):
    """A compute target is missing or cannot be made; the SDK-v1 name that
    ``except ComputeTargetException:`` around ``ComputeTarget(workspace=ws, name=...)``
    catches (``runyard.core.compute_target.ComputeTargetException``)."""


class ComputeTargetNotFoundError(NotFoundError, ComputeTargetException):
    pass


class ArtifactNotFoundError(NotFoundError):
    pass


class DatastoreNotFoundError(NotFoundError):
    pass


class DatasetNotFoundError(NotFoundError):
    pass


class ModelNotFoundError(NotFoundError):
    pass


class ConflictError(RunyardError):
    """The operation conflicts with the current state (exists, or changed)."""


class FencedError(ConflictError):
    """A write carried a stale fencing epoch: the run was taken from its runner (the
    reaper failed it for a missing heartbeat), so that runner may write nothing more."""


class StoreError(RunyardError):
    """The store could not complete an operation (disk full, server unreachable)."""


class DiskFullError(StoreError, OSError):
    """A file (a run's journal) could not get the space it needs: the disk is full or a
    file size limit (``ulimit -f``) was reached. The message names the file and disk."""


class EnvironmentBuildError(RunyardError):
    """Building an environment failed; the message points at the build log."""


class ComputeError(RunyardError):
    """A compute target could not accept or start a run."""


class RunFailedError(RunyardError):
    """A run that was waited for ended Failed or Canceled.

    ``details`` holds the run's details, ``error`` its error summary.
    """

    def __init__(self, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


class AuthError(RunyardError):
    """A request lacked the access token or carried a wrong one."""


class DatastoreAccessError(RunyardError):
    """A datastore refused the credentials, or its endpoint could not be reached."""


class DatasetTimestampMissingError(ValidationError):
    """A time-series filter on a TabularDataset without a timestamp column."""
