"""What a dataset definition names, its manifest, and how its files reach a reader.

A definition is JSON: ``{"datastore": <DatastoreSpec dict>, "paths": [...],
"tabular": null | {...}}``. Each path is a file, a folder (every file under it) or a
glob (``data/**/*.csv``) inside the datastore. A dataset's files are named relative to
the common folder of its paths (``datasets/cifar10`` -> ``train/0001.png``), as the
SDK's ``to_path()`` names them.

Registered versions are immutable: their bytes stay in the datastore, referenced by
hash, and every read checks the datastore still holds them (by the stat cache, so an
unchanged local tree is not re-read); a file that changed since is an error naming
the fix, never silently different data.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from runyard.assets.backends import Backend, copy_atomic, open_backend
from runyard.assets.datastores import DatastoreSpec, clean_path
from runyard.assets.hashing import Manifest, content_hash, hash_local_files, sha256_file
from runyard.errors import ValidationError

_GLOB = frozenset("*?[")


def make_definition(
    datastore: DatastoreSpec, paths: Sequence[str], tabular: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    if not paths:
        raise ValidationError("a dataset needs at least one path, e.g. (datastore, 'data/')")
    return {
        "datastore": datastore.as_dict(),
        "paths": [clean_path(p) for p in paths],
        "tabular": dict(tabular) if tabular is not None else None,
    }


def _static_prefix(path: str) -> str:
    """The folders of ``path`` before its first glob character."""
    parts = path.split("/") if path else []
    out = []
    for part in parts:
        if _GLOB & set(part):
            break
        out.append(part)
    return "/".join(out)


def _common_folder(folders: Sequence[str]) -> str:
    split = [f.split("/") if f else [] for f in folders]
    common: list[str] = []
    for column in zip(*split, strict=False):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return "/".join(common)


def list_files(
    definition: Mapping[str, Any], backend: Backend | None = None
) -> list[tuple[str, str, int]]:
    """(name in the dataset, path in the datastore, size) of every file, sorted.
    Raises ValidationError naming the path that matches nothing."""
    spec = DatastoreSpec.from_dict(definition["datastore"])
    backend = backend or open_backend(spec)
    found: dict[str, int] = {}
    bases: list[str] = []
    for path in definition["paths"]:
        if _GLOB & set(path):
            prefix = _static_prefix(path)
            hits = [(p, s) for p, s in backend.list_files(prefix) if fnmatch.fnmatchcase(p, path)]
            bases.append(prefix)
        else:
            hits = backend.list_files(path)
            single = len(hits) == 1 and hits[0][0] == path
            bases.append(str(PurePosixPath(path).parent) if single else path)
        if not hits:
            raise ValidationError(
                f"dataset path {path!r} matches no file in datastore {spec.name!r} "
                f"({spec.url}); upload the files first (datastore.upload(src_dir, "
                "target_path=...)) or fix the path"
            )
        found.update(hits)
    base = _common_folder([b if b != "." else "" for b in bases])
    cut = len(base) + 1 if base else 0
    return sorted((p[cut:], p, s) for p, s in found.items())


def base_folder(definition: Mapping[str, Any]) -> str | None:
    """The datastore folder that is exactly the dataset (one folder path, no glob)."""
    paths = definition["paths"]
    if len(paths) == 1 and not (_GLOB & set(paths[0])):
        return str(paths[0])
    return None


def statcache_path(cache_root: Path, spec: DatastoreSpec) -> Path:
    import hashlib

    key = hashlib.sha256(spec.url.encode()).hexdigest()[:32]
    return cache_root / "statcache" / f"{key}.json"


def manifest_of(
    definition: Mapping[str, Any], cache_root: Path
) -> tuple[Manifest, list[tuple[str, str, int]]]:
    """The manifest of the files the definition names now, and those files. Local
    files are hashed in place (the stat cache skips unchanged ones); remote ones are
    fetched into the per-machine cache and hashed there."""
    spec = DatastoreSpec.from_dict(definition["datastore"])
    backend = open_backend(spec)
    files = list_files(definition, backend)
    if spec.kind == "file":
        # Paths the listing itself found inside the folder: no need to check each again.
        root = spec.root
        manifest = hash_local_files(
            [(name, root / path) for name, path, _ in files], statcache_path(cache_root, spec)
        )
    else:
        from runyard.assets.remote import hash_remote_files

        manifest = hash_remote_files(backend, files, cache_root)
    return manifest, files


def definition_hash(definition: Mapping[str, Any], manifest: Manifest) -> str:
    """A version's content hash: its files and how they are read. The datastore is
    named by kind and URL (what holds the bytes), not by its registration's options."""
    spec = definition["datastore"]
    extra = {
        "datastore": [spec["kind"], spec["url"]],
        "paths": list(definition["paths"]),
        "tabular": definition.get("tabular"),
    }
    return content_hash(manifest, extra)


def check_unchanged(name: str, expected: Mapping[str, Sequence[Any]], actual: Manifest) -> None:
    """Raises ValidationError when a file of a registered version is missing or changed."""
    for path, entry in expected.items():
        now = actual.get(path)
        if now is None or now[0] != entry[0]:
            what = "is missing from" if now is None else "changed in"
            raise ValidationError(
                f"dataset {name}: file {path!r} {what} the datastore since this version was "
                "registered, so this version can no longer be read as it was; register "
                "the current files as a new version (create_new_version=True), or restore "
                "the file"
            )


def link_tree(entries: Sequence[tuple[str, Path]], dest: Path) -> Path:
    """A folder of symlinks named as the dataset's files (a mount with no copy)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, source in entries:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        os.symlink(source, target)
    return dest


def download_files(
    backend: Backend,
    files: Sequence[tuple[str, str, int]],
    dest: Path,
    manifest: Mapping[str, Sequence[Any]] | None,
    overwrite: bool,
) -> list[Path]:
    """Copies the files into ``dest``; with a manifest each copy's sha256 is checked."""
    from concurrent.futures import ThreadPoolExecutor

    dest = Path(dest)

    def one(item: tuple[str, str, int]) -> Path:
        name, path, _size = item
        target = dest / name
        if target.exists() and not overwrite:
            raise ValidationError(
                f"{target} exists; pass overwrite=True to replace it, or download elsewhere"
            )
        local = backend.local_path(path)
        if local is not None:
            copy_atomic(local, target)
        else:
            backend.get_file(path, target)
        if manifest is not None and name in manifest and sha256_file(target) != manifest[name][0]:
            target.unlink(missing_ok=True)
            raise ValidationError(
                f"file {name!r} changed in the datastore {backend.spec.name!r} since this "
                "version was registered, so this version can no longer be read as it was; "
                "register the current files as a new version (create_new_version=True), "
                "or restore the file"
            )
        return target

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, files))


def materialize(
    definition: Mapping[str, Any],
    expected: Mapping[str, Sequence[Any]] | None,
    label: str,
    cache_root: Path,
    scratch: Path,
) -> Path:
    """A local folder holding the dataset's files, for reading. A local datastore is
    read in place: the dataset's own folder when it is exactly one, else a folder of
    symlinks in ``scratch``; nothing is copied. A remote one is served from the
    per-machine cache. ``expected`` (a registered version's manifest) is checked
    first, so a reader never sees files that changed since registration."""
    spec = DatastoreSpec.from_dict(definition["datastore"])
    if spec.kind != "file":
        from runyard.assets.remote import materialize_remote

        return materialize_remote(definition, expected, label, cache_root, scratch)
    backend = open_backend(spec)
    if expected is not None:
        actual, files = manifest_of(definition, cache_root)
        check_unchanged(label, expected, actual)
    else:
        files = list_files(definition, backend)
    names = {name for name, _, _ in files}
    base = base_folder(definition)
    if base is not None and (expected is None or names == set(expected)):
        folder = backend.local_path(base)
        if folder is not None and folder.is_dir():
            return folder
    entries = []
    for name, path, _ in files:
        local = backend.local_path(path)
        if local is not None and (expected is None or name in expected):
            entries.append((name, local))
    return link_tree(entries, scratch)
