"""Remote datastores (``s3://``, ``az://``, ``gs://``) through fsspec, and the
per-machine cache that serves their files to runs.

The cache (``<cache>/datasets/blobs/<sha256[:2]>/<sha256>``) is keyed by content, so
a file is fetched once per machine whatever dataset or version names it; an index
per datastore maps (path, ETag, size) to the hash, so a second read of unchanged
remote data moves no bytes. A run sees its files as hard links to the cached blobs
(copies across file systems): a blob a running run holds has a link count above one
and is never evicted. Eviction keeps the cache under ``RUNYARD_DATA_CACHE_MAX_BYTES``
(default 50 GiB), least recently used first.

Runs read local files only, never fsspec, so a ``DataLoader(num_workers=2)`` that
forks cannot hang on an event loop inherited from its parent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from runyard.assets import secrets
from runyard.assets.backends import Backend
from runyard.assets.datastores import DatastoreSpec, clean_path
from runyard.assets.hashing import Manifest
from runyard.errors import ArtifactNotFoundError, ConfigError, DatastoreAccessError

ENV_CACHE_MAX_BYTES = "RUNYARD_DATA_CACHE_MAX_BYTES"
DEFAULT_CACHE_MAX_BYTES = 50 * 1024**3
_PACKAGES = {"s3": "s3fs", "az": "adlfs", "gs": "gcsfs"}
WORKERS = 16


def _filesystem(spec: DatastoreSpec, credentials: Mapping[str, str] | None = None) -> Any:
    creds = dict(credentials) if credentials is not None else secrets.load(spec.name)
    try:
        import fsspec

        if spec.kind == "s3":
            client: dict[str, Any] = {}
            if spec.options.get("region"):
                client["region_name"] = spec.options["region"]
            return fsspec.filesystem(
                "s3",
                key=creds.get("key"),
                secret=creds.get("secret"),
                token=creds.get("token"),
                endpoint_url=spec.options.get("endpoint_url"),
                client_kwargs=client,
                # Fail in seconds, not after minutes of retries, when the endpoint is wrong.
                config_kwargs={"connect_timeout": 5, "retries": {"max_attempts": 2}},
                skip_instance_cache=True,
            )
        if spec.kind == "az":
            endpoint = spec.options.get("endpoint")
            if endpoint and "://" in endpoint:
                # A full blob endpoint (Azurite, a private cloud): adlfs takes it only
                # inside a connection string, which is built here and never stored.
                return fsspec.filesystem(
                    "az",
                    connection_string=_connection_string(spec, creds),
                    skip_instance_cache=True,
                )
            return fsspec.filesystem(
                "az",
                account_name=spec.options.get("account_name"),
                account_key=creds.get("account_key"),
                sas_token=creds.get("sas_token"),
                account_host=endpoint,
                skip_instance_cache=True,
            )
        return fsspec.filesystem(spec.kind, skip_instance_cache=True)
    except ImportError:
        package = _PACKAGES.get(spec.kind, spec.kind)
        raise ConfigError(
            f"datastore {spec.name!r} ({spec.url}) needs {package}: install it with "
            "`pip install 'runyard[assets]'`"
        ) from None


def _connection_string(spec: DatastoreSpec, creds: Mapping[str, str]) -> str:
    parts = [
        f"DefaultEndpointsProtocol={spec.options['endpoint'].split('://', 1)[0]}",
        f"AccountName={spec.options.get('account_name', '')}",
    ]
    if creds.get("account_key"):
        parts.append(f"AccountKey={creds['account_key']}")
    if creds.get("sas_token"):
        parts.append(f"SharedAccessSignature={creds['sas_token'].lstrip('?')}")
    parts.append(f"BlobEndpoint={spec.options['endpoint'].rstrip('/')}")
    return ";".join(parts) + ";"


_REFUSALS = (
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthorizationFailure",
    "AuthenticationFailed",
    "failed to authenticate",
    "Forbidden",
)


def _credential_fix(spec: DatastoreSpec) -> str:
    prefix = "RUNYARD_DATASTORE_" + re.sub(r"[^A-Za-z0-9]", "_", spec.name).upper()
    if spec.kind == "az":
        return (
            f"set {prefix}_ACCOUNT_KEY (or _SAS_TOKEN), or register it again with the "
            "right account_key or sas_token (overwrite=True)"
        )
    return (
        f"set {prefix}_KEY and {prefix}_SECRET, or register it again with the right "
        "access_key_id and secret_access_key (overwrite=True)"
    )


def _access_error(spec: DatastoreSpec, exc: BaseException) -> DatastoreAccessError:
    text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    endpoint = spec.options.get("endpoint_url") or spec.options.get("endpoint") or "the default"
    if isinstance(exc, PermissionError) or any(w in str(exc) for w in _REFUSALS):
        return DatastoreAccessError(
            f"datastore {spec.name!r} ({spec.url}) refused the credentials ({text}); "
            + _credential_fix(spec)
        )
    if isinstance(exc, FileNotFoundError) or "NoSuchBucket" in str(exc):
        return DatastoreAccessError(
            f"datastore {spec.name!r}: {spec.url} does not exist ({text}); create the "
            "bucket or container, or fix its name"
        )
    return DatastoreAccessError(
        f"datastore {spec.name!r} ({spec.url}) could not be reached at endpoint {endpoint} "
        f"({text}); check {'endpoint' if spec.kind == 'az' else 'endpoint_url'} and the network"
    )


class FsspecBackend(Backend):
    """A bucket or container, through the fsspec implementation of its scheme."""

    def __init__(self, spec: DatastoreSpec, credentials: Mapping[str, str] | None = None) -> None:
        super().__init__(spec)
        self.fs = _filesystem(spec, credentials)
        self.base = spec.url.split("://", 1)[1].rstrip("/")
        self._listed: dict[str, str | None] = {}

    def _full(self, path: str) -> str:
        rel = clean_path(path)
        return f"{self.base}/{rel}" if rel else self.base

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (FileNotFoundError, ArtifactNotFoundError):
            raise
        except Exception as exc:  # botocore/aiohttp errors have no common base
            raise _access_error(self.spec, exc) from None

    def list_files(self, prefix: str = "") -> list[tuple[str, int]]:
        full = self._full(prefix)
        try:
            found = self._call(self.fs.find, full, detail=True)
        except FileNotFoundError:
            return []
        cut = len(self.base) + 1
        out = []
        for name, info in found.items():
            if info.get("type", "file") == "file":
                out.append((name[cut:], int(info.get("size") or 0)))
                self._listed[name[cut:]] = _tag_of(info)
        return sorted(out)

    def exists(self, path: str) -> bool:
        return bool(self._call(self.fs.exists, self._full(path)))

    def put_file(self, source: Path, path: str) -> None:
        # An object store's PUT is atomic: a reader sees the old object or the new one.
        self._call(self.fs.put_file, str(source), self._full(clean_path(path, allow_root=False)))

    def get_file(self, path: str, destination: Path) -> None:
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{destination.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        try:
            self._call(self.fs.get_file, self._full(path), str(tmp))
            os.replace(tmp, destination)
        except FileNotFoundError:
            raise ArtifactNotFoundError(
                f"datastore {self.spec.name!r} has no file {path!r}"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)

    def etag(self, path: str) -> str | None:
        # The listing that named the file gave its tag: one request per file saved,
        # which is what keeps an unchanged 60,000-file re-registration in seconds.
        listed = self._listed.get(clean_path(path))
        if listed is not None:
            return listed
        return _tag_of(self._call(self.fs.info, self._full(path)))


def _tag_of(info: Mapping[str, Any]) -> str | None:
    tag = info.get("ETag") or info.get("etag") or info.get("LastModified")
    return None if tag is None else str(tag)


def create_container(spec: DatastoreSpec, credentials: Mapping[str, str] | None) -> None:
    """Creates the bucket or container when it is missing (``create_if_not_exists``)."""
    backend = FsspecBackend(spec, credentials)
    top = backend.base.split("/", 1)[0]
    # Listing the account's containers first surfaces a refused key as such (adlfs's
    # exists() answers False for it, and mkdir then hides the cause).
    existing = {p.rstrip("/") for p in backend._call(backend.fs.ls, "", detail=False)}
    if top not in existing:
        backend._call(backend.fs.mkdir, top)


def check_access(spec: DatastoreSpec, credentials: Mapping[str, str] | None) -> None:
    """Lists the datastore's top once, so a wrong key or endpoint fails at registration."""
    backend = FsspecBackend(spec, credentials)
    try:
        backend._call(backend.fs.ls, backend.base.split("/", 1)[0], detail=False)
    except FileNotFoundError as exc:
        raise _access_error(spec, exc) from None


# -- the per-machine cache --------------------------------------------------------------


class ContentCache:
    """Blobs by sha256 under ``root``, with an index of remote files already fetched."""

    def __init__(self, root: Path, max_bytes: int | None = None) -> None:
        self.root = Path(root)
        if max_bytes is None:
            max_bytes = int(os.environ.get(ENV_CACHE_MAX_BYTES) or DEFAULT_CACHE_MAX_BYTES)
        self.max_bytes = max_bytes

    def blob(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def _index_path(self, spec: DatastoreSpec) -> Path:
        key = hashlib.sha256(f"{spec.url}|{spec.options.get('endpoint_url', '')}".encode())
        return self.root / "index" / f"{key.hexdigest()[:32]}.json"

    def _load_index(self, spec: DatastoreSpec) -> dict[str, list[Any]]:
        try:
            data = json.loads(self._index_path(spec).read_bytes())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save_index(self, spec: DatastoreSpec, index: Mapping[str, Any]) -> None:
        path = self._index_path(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(index), encoding="utf-8")
        os.replace(tmp, path)

    def fetch(self, backend: Backend, files: Sequence[tuple[str, str, int]]) -> Manifest:
        """The manifest of remote files, fetching into the cache those not there."""
        index = self._load_index(backend.spec)
        listing = {p: s for _, p, s in files}
        fresh: dict[str, list[Any]] = {}

        def one(item: tuple[str, str, int]) -> tuple[str, list[Any]]:
            name, path, size = item
            tag = backend.etag(path)
            hit = index.get(path)
            if hit is not None and hit[:2] == [tag, size] and self.blob(hit[2]).is_file():
                os.utime(self.blob(hit[2]))  # recently used: evicted last
                return name, [hit[2], size]
            tmp = self.root / "incoming" / f"{os.getpid()}.{time.monotonic_ns()}.tmp"
            backend.get_file(path, tmp)
            h = hashlib.sha256()
            with open(tmp, "rb") as f:
                while chunk := f.read(1024 * 1024):
                    h.update(chunk)
            digest = h.hexdigest()
            target = self.blob(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
            fresh[path] = [tag, listing[path], digest]
            return name, [digest, size]

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            manifest = dict(pool.map(one, files))
        if fresh:
            self._save_index(backend.spec, {**index, **fresh})
            self.evict()
        return manifest

    def evict(self) -> int:
        """Removes least recently used blobs until the cache fits; a blob linked into
        a run's folder (link count > 1) stays. Returns the bytes freed."""
        blobs = []
        for path in (self.root / "blobs").glob("*/*"):
            st = path.stat()
            blobs.append((st.st_mtime, st.st_size, st.st_nlink, path))
        total = sum(b[1] for b in blobs)
        freed = 0
        for _mtime, size, links, path in sorted(blobs):
            if total - freed <= self.max_bytes:
                break
            if links > 1:
                continue
            path.unlink(missing_ok=True)
            freed += size
        return freed


def hash_remote_files(
    backend: Backend, files: Sequence[tuple[str, str, int]], cache_root: Path
) -> Manifest:
    return ContentCache(cache_root).fetch(backend, files)


def materialize_remote(
    definition: Mapping[str, Any],
    expected: Mapping[str, Sequence[Any]] | None,
    label: str,
    cache_root: Path,
    scratch: Path,
) -> Path:
    """A folder of the dataset's files, linked from the cache (fetched if missing)."""
    from runyard.assets.backends import open_backend
    from runyard.assets.datasets import check_unchanged, list_files

    spec = DatastoreSpec.from_dict(definition["datastore"])
    backend = open_backend(spec)
    files = list_files(definition, backend)
    cache = ContentCache(cache_root)
    manifest = cache.fetch(backend, files)
    if expected is not None:
        check_unchanged(label, expected, manifest)
        manifest = {k: v for k, v in manifest.items() if k in expected}
    scratch.mkdir(parents=True, exist_ok=True)
    for name, (digest, _size) in manifest.items():
        target = scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(cache.blob(digest), target)
        except OSError:  # another file system: a copy
            import shutil

            shutil.copyfile(cache.blob(digest), target)
    return scratch
