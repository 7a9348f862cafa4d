"""The asset catalogue: dataset versions and run lineage, and the checks model
versions share (:mod:`runyard.store.sql.models`).

Versions are numbered per name inside the registering transaction: SQLite's write
transaction holds the database's write lock from its first statement, and PostgreSQL
takes an advisory lock on the name, so concurrent registrations of one name get
consecutive versions (the unique constraint is the backstop, never the mechanism).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import (
    DatasetVersion,
    Manifest,
    RunDatasetLink,
)
from runyard.errors import (
    ConflictError,
    DatasetNotFoundError,
    RunNotFoundError,
    ValidationError,
)
from runyard.store.sql.engine import PG_LOCK_NAMESPACE
from runyard.store.sql.schema import (
    datasets,
    run_datasets,
    runs,
)
from runyard.store.sql.validate import check_name, check_resource_name, check_string_map

PG_LOCK_DATASETS = 4
PG_LOCK_MODELS = 5
DATASET_KINDS = ("file", "tabular")
DIRECTIONS = ("input", "output")
_HEX = frozenset("0123456789abcdef")


def _lock_name(conn: Connection, offset: int, name: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), hashtext(:name))"),
            {"ns": PG_LOCK_NAMESPACE + offset, "name": name},
        )


def _check_hash(value: object) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX:
        raise ValidationError(f"content hash {value!r} is not a sha256 hex digest")
    return value


def _check_manifest(manifest: Manifest) -> tuple[str, int, int]:
    """The manifest as canonical JSON, its file count and total size."""
    total = 0
    clean: dict[str, list[Any]] = {}
    for path, entry in manifest.items():
        if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
            raise ValidationError(f"manifest path {path!r} must be relative and stay inside")
        if len(entry) != 2 or not isinstance(entry[1], int) or entry[1] < 0:
            raise ValidationError(f"manifest entry for {path!r} must be [sha256, size]")
        clean[path] = [_check_hash(entry[0]), int(entry[1])]
        total += int(entry[1])
    text = json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text, len(clean), total


def _json(kind: str, value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{kind} is not JSON-serialisable: {exc}") from None


# -- datasets ---------------------------------------------------------------------------


def _dataset(row: Any, *, created: bool = False, with_manifest: bool = True) -> DatasetVersion:
    return DatasetVersion(
        dataset_id=row.id,
        name=row.name,
        version=int(row.version),
        kind=row.kind,
        description=row.description,
        tags=json.loads(row.tags),
        definition=json.loads(row.definition),
        content_hash=row.content_hash,
        file_count=int(row.file_count),
        total_bytes=int(row.total_bytes),
        manifest=json.loads(row.manifest) if with_manifest else {},
        run_id=row.run_id,
        created_at=row.created_at,
        created=created,
    )


def _latest_dataset(conn: Connection, name: str) -> Any:
    return conn.execute(
        sa.select(datasets)
        .where(datasets.c.name == name)
        .order_by(datasets.c.version.desc())
        .limit(1)
    ).first()


def register_dataset(
    conn: Connection,
    name: str,
    *,
    kind: str,
    definition: Mapping[str, Any],
    manifest: Manifest,
    content_hash: str,
    description: str,
    tags: Mapping[str, str] | None,
    create_new_version: bool,
    run_id: str | None,
) -> DatasetVersion:
    check_resource_name("dataset", name)
    if kind not in DATASET_KINDS:
        raise ValidationError(f"dataset kind {kind!r} is not one of {DATASET_KINDS}")
    _check_hash(content_hash)
    manifest_text, count, total = _check_manifest(manifest)
    tag_map = check_string_map("tag", dict(tags or {}))
    _lock_name(conn, PG_LOCK_DATASETS, name)
    latest = _latest_dataset(conn, name)
    if latest is not None and latest.content_hash == content_hash:
        return _dataset(latest)  # unchanged: nothing is created
    if latest is not None and not create_new_version:
        raise ConflictError(
            f"dataset {name!r} is already registered (version {latest.version}) with "
            "different content; pass create_new_version=True to register this as "
            f"version {latest.version + 1}, or register it under another name"
        )
    version = 1 if latest is None else int(latest.version) + 1
    conn.execute(
        datasets.insert().values(
            id=uuid.uuid4().hex,
            name=name,
            version=version,
            kind=kind,
            description=description or "",
            tags=_json("tags", tag_map),
            definition=_json("a dataset definition", dict(definition)),
            content_hash=content_hash,
            file_count=count,
            total_bytes=total,
            manifest=manifest_text,
            run_id=run_id,
            created_at=time.time(),
        )
    )
    return _dataset(_latest_dataset(conn, name), created=True)


def get_dataset(conn: Connection, name: str, version: int | None) -> DatasetVersion:
    if version is None:
        row = _latest_dataset(conn, name)
    else:
        row = conn.execute(
            sa.select(datasets).where(datasets.c.name == name, datasets.c.version == int(version))
        ).first()
    if row is None:
        which = "any version" if version is None else f"version {version}"
        raise DatasetNotFoundError(
            f"no registered dataset {name!r} ({which}); register it with "
            "dataset.register(workspace, name) or list them with `runyard dataset list`"
        )
    return _dataset(row)


def get_dataset_by_id(conn: Connection, dataset_id: str) -> DatasetVersion:
    row = conn.execute(sa.select(datasets).where(datasets.c.id == dataset_id)).first()
    if row is None:
        raise DatasetNotFoundError(f"no dataset with id {dataset_id!r}")
    return _dataset(row)


def list_datasets(conn: Connection, name: str | None) -> list[DatasetVersion]:
    query = sa.select(datasets).order_by(datasets.c.name, datasets.c.version)
    if name is not None:
        query = query.where(datasets.c.name == name)
    return [_dataset(row, with_manifest=False) for row in conn.execute(query).all()]


# -- lineage ----------------------------------------------------------------------------


def add_run_dataset(
    conn: Connection,
    run_id: str,
    direction: str,
    name: str,
    dataset_id: str | None,
    source: Mapping[str, Any],
) -> RunDatasetLink:
    if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is None:
        raise RunNotFoundError(f"run {run_id!r} does not exist")
    if direction not in DIRECTIONS:
        raise ValidationError(f"lineage direction {direction!r} is not one of {DIRECTIONS}")
    check_name("dataset input", name)
    if dataset_id is not None:
        get_dataset_by_id(conn, dataset_id)
    now = time.time()
    conn.execute(
        run_datasets.insert().values(
            run_id=run_id,
            direction=direction,
            name=name,
            dataset_id=dataset_id,
            source=_json("a lineage source", dict(source)),
            created_at=now,
        )
    )
    return RunDatasetLink(run_id, direction, name, dataset_id, dict(source), now)


def get_run_datasets(conn: Connection, run_id: str) -> list[RunDatasetLink]:
    return _links(conn, run_datasets.c.run_id == run_id)


def get_dataset_runs(conn: Connection, dataset_id: str) -> list[RunDatasetLink]:
    get_dataset_by_id(conn, dataset_id)  # an unknown id is DatasetNotFoundError, not []
    return _links(conn, run_datasets.c.dataset_id == dataset_id)


def _links(conn: Connection, where: Any) -> list[RunDatasetLink]:
    rows = conn.execute(sa.select(run_datasets).where(where).order_by(run_datasets.c.id)).all()
    return [
        RunDatasetLink(
            r.run_id,
            r.direction,
            r.name,
            r.dataset_id,
            json.loads(r.source),
            r.created_at,
        )
        for r in rows
    ]
