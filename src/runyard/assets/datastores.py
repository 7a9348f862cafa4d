"""Datastores: named places that hold files, and the workspace's registry of them.

A datastore is a name and a URL: the default ``workspaceblobstore`` is a folder under
the workspace's artifact root; ``s3://bucket/prefix`` (with ``endpoint_url`` for an
S3-compatible service) and ``az://container/prefix`` (an account name) are remote.
The registry is ``.runyard/datastores.json`` beside the workspace config. It never
holds a credential: those come from the environment or the 0600 secrets file
(:mod:`runyard.assets.secrets`), looked up by the datastore's name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from runyard.config import validate_resource_name
from runyard.errors import (
    ConfigError,
    ConflictError,
    DatastoreNotFoundError,
    ValidationError,
)

DEFAULT_DATASTORE = "workspaceblobstore"
REGISTRY_FILENAME = "datastores.json"
KINDS = ("file", "s3", "az", "gs")
# Settings a datastore row may keep; anything that looks like a secret is refused.
_SECRET_WORDS = ("key", "secret", "token", "password", "sas", "credential")


@dataclass(frozen=True)
class DatastoreSpec:
    """A datastore's name, kind and location. ``url`` is an absolute folder for
    ``file``, else ``<scheme>://<bucket or container>/<prefix>``."""

    name: str
    kind: str
    url: str
    options: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "url": self.url,
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatastoreSpec:
        try:
            return cls(
                name=str(data["name"]),
                kind=str(data["kind"]),
                url=str(data["url"]),
                options={str(k): str(v) for k, v in dict(data.get("options") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"a datastore record is malformed: {exc}") from None

    @property
    def root(self) -> Path:
        """A ``file`` datastore's folder."""
        if self.kind != "file":
            raise ValidationError(f"datastore {self.name!r} ({self.url}) is not a local folder")
        return Path(self.url)


def clean_path(path: object, *, allow_root: bool = True) -> str:
    """A path inside a datastore: relative, ``/``-separated, never leaving it."""
    if path is None:
        path = ""
    if not isinstance(path, str):
        raise ValidationError(f"a datastore path must be a str, got {type(path).__name__}")
    if "\x00" in path:
        raise ValidationError(f"datastore path {path!r} contains a NUL character")
    posix = PurePosixPath(path.replace("\\", "/"))
    if any(part == ".." for part in posix.parts):
        raise ValidationError(f"datastore path {path!r} must stay inside the datastore (no '..')")
    parts = [p for p in posix.parts if p not in ("", ".", "/")]
    if not parts and not allow_root:
        raise ValidationError(f"datastore path {path!r} names no file; give a relative path")
    return "/".join(parts)


def check_options(name: str, options: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in options.items():
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise ValidationError(
                f"datastore {name!r}: {key!r} looks like a credential, and a datastore "
                "record never holds one; put it in the environment or in the secrets "
                "file (`runyard datastore` docs: docs/assets.md)"
            )
        if value is not None:
            out[str(key)] = str(value)
    return out


class DatastoreRegistry:
    """The datastores of one workspace: the default one plus those registered."""

    def __init__(self, config_dir: Path, artifact_root: Path) -> None:
        self.path = Path(config_dir) / REGISTRY_FILENAME
        self.artifact_root = Path(artifact_root)

    def default(self) -> DatastoreSpec:
        root = (self.artifact_root / "datastores" / DEFAULT_DATASTORE).resolve()
        return DatastoreSpec(DEFAULT_DATASTORE, "file", str(root))

    def _read(self) -> dict[str, DatastoreSpec]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read {self.path} ({exc}); fix or delete it and register the "
                "datastores again"
            ) from None
        entries = data.get("datastores", {}) if isinstance(data, dict) else {}
        return {name: DatastoreSpec.from_dict(entry) for name, entry in entries.items()}

    def _write(self, specs: Mapping[str, DatastoreSpec]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"datastores": {n: s.as_dict() for n, s in sorted(specs.items())}}, indent=2
        )
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def list(self) -> list[DatastoreSpec]:
        return [self.default(), *sorted(self._read().values(), key=lambda s: s.name)]

    def get(self, name: str) -> DatastoreSpec:
        if name == DEFAULT_DATASTORE:
            return self.default()
        found = self._read().get(name)
        if found is None:
            known = ", ".join(s.name for s in self.list())
            raise DatastoreNotFoundError(
                f"no datastore {name!r} in this workspace (it has: {known}); register it "
                "with Datastore.register_s3(...) or Datastore.register_azure_blob_container(...)"
            )
        return found

    def register(self, spec: DatastoreSpec, *, overwrite: bool = False) -> DatastoreSpec:
        """Adds ``spec``; the same spec again is a no-op, another one under a taken
        name is a ConflictError unless ``overwrite``."""
        from filelock import FileLock

        validate_resource_name("datastore", spec.name)
        if spec.kind not in KINDS:
            raise ValidationError(f"datastore kind {spec.kind!r} is not one of {KINDS}")
        if spec.name == DEFAULT_DATASTORE:
            raise ConflictError(
                f"{DEFAULT_DATASTORE!r} is the workspace's own datastore; register yours "
                "under another name"
            )
        spec = DatastoreSpec(spec.name, spec.kind, spec.url, check_options(spec.name, spec.options))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):
            specs = self._read()
            old = specs.get(spec.name)
            if old is not None and old != spec and not overwrite:
                raise ConflictError(
                    f"datastore {spec.name!r} is already registered as {old.url}; pass "
                    "overwrite=True to replace it, or choose another name"
                )
            specs[spec.name] = spec
            self._write(specs)
        return spec

    def unregister(self, name: str) -> None:
        from filelock import FileLock

        with FileLock(str(self.path) + ".lock"):
            specs = self._read()
            if specs.pop(name, None) is None:
                raise DatastoreNotFoundError(f"no registered datastore {name!r}")
            self._write(specs)
