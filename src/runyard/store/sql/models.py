"""Model versions and their aliases, with the append-only history of alias moves.

Versions are numbered per name inside the registering transaction (see
:mod:`runyard.store.sql.assets`): concurrent registrations get consecutive versions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import AliasEvent, Manifest, ModelVersion
from runyard.errors import (
    ConflictError,
    ModelNotFoundError,
    RunNotFoundError,
    ValidationError,
)
from runyard.store.sql.assets import (
    PG_LOCK_MODELS,
    _check_hash,
    _check_manifest,
    _json,
    _lock_name,
    get_dataset_by_id,
)
from runyard.store.sql.schema import model_alias_events, model_aliases, models, runs
from runyard.store.sql.validate import check_name, check_resource_name, check_string_map

# -- models -----------------------------------------------------------------------------


def _aliases(conn: Connection, name: str) -> dict[int, list[str]]:
    rows = conn.execute(
        sa.select(model_aliases.c.alias, model_aliases.c.version)
        .where(model_aliases.c.model_name == name)
        .order_by(model_aliases.c.alias)
    ).all()
    out: dict[int, list[str]] = {}
    for alias, version in rows:
        out.setdefault(int(version), []).append(alias)
    return out


def _model(
    row: Any, aliases: Mapping[int, Sequence[str]], with_manifest: bool = True
) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=int(row.version),
        description=row.description,
        tags=json.loads(row.tags),
        properties=json.loads(row.properties),
        content_hash=row.content_hash,
        file_count=int(row.file_count),
        total_bytes=int(row.total_bytes),
        manifest=json.loads(row.manifest) if with_manifest else {},
        run_id=row.run_id,
        dataset_ids=tuple(json.loads(row.dataset_ids)),
        created_at=row.created_at,
        aliases=tuple(aliases.get(int(row.version), ())),
    )


def _model_row(conn: Connection, name: str, version: int | None) -> Any:
    query = sa.select(models).where(models.c.name == name)
    if version is None:
        query = query.order_by(models.c.version.desc()).limit(1)
    else:
        query = query.where(models.c.version == int(version))
    return conn.execute(query).first()


def register_model(
    conn: Connection,
    name: str,
    *,
    manifest: Manifest,
    content_hash: str,
    description: str,
    tags: Mapping[str, str] | None,
    properties: Mapping[str, str] | None,
    run_id: str | None,
    dataset_ids: Sequence[str],
) -> ModelVersion:
    check_resource_name("model", name)
    _check_hash(content_hash)
    manifest_text, count, total = _check_manifest(manifest)
    if not manifest:
        raise ValidationError(f"model {name!r} has no files; give a model_path that holds some")
    tag_map = check_string_map("tag", dict(tags or {}))
    prop_map = check_string_map("property", dict(properties or {}))
    if (
        run_id is not None
        and conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is None
    ):
        raise RunNotFoundError(f"run {run_id!r} does not exist")
    for dataset_id in dataset_ids:
        get_dataset_by_id(conn, dataset_id)
    _lock_name(conn, PG_LOCK_MODELS, name)
    latest = _model_row(conn, name, None)
    version = 1 if latest is None else int(latest.version) + 1
    conn.execute(
        models.insert().values(
            id=f"{name}:{version}",
            name=name,
            version=version,
            description=description or "",
            tags=_json("tags", tag_map),
            properties=_json("properties", prop_map),
            content_hash=content_hash,
            file_count=count,
            total_bytes=total,
            manifest=manifest_text,
            run_id=run_id,
            dataset_ids=_json("dataset ids", list(dataset_ids)),
            created_at=time.time(),
        )
    )
    return _model(_model_row(conn, name, version), {})


def _alias_version(conn: Connection, name: str, alias: str) -> int | None:
    found = conn.execute(
        sa.select(model_aliases.c.version).where(
            model_aliases.c.model_name == name, model_aliases.c.alias == alias
        )
    ).scalar()
    return None if found is None else int(found)


def get_model(
    conn: Connection, name: str, version: int | None, alias: str | None = None
) -> ModelVersion:
    if alias is not None:
        version = _alias_version(conn, name, alias)
        if version is None:
            raise ModelNotFoundError(
                f"model {name!r} has no alias {alias!r}; set it with "
                f"model.set_alias({alias!r}) or `runyard model alias {name} {alias} VERSION`"
            )
    row = _model_row(conn, name, version)
    if row is None:
        which = "any version" if version is None else f"version {version}"
        raise ModelNotFoundError(
            f"no registered model {name!r} ({which}); register it with "
            "run.register_model(...) or Model.register(...)"
        )
    return _model(row, _aliases(conn, name))


def list_models(
    conn: Connection, name: str | None, tags: Mapping[str, str | None] | None
) -> list[ModelVersion]:
    query = sa.select(models).order_by(models.c.name, models.c.version)
    if name is not None:
        query = query.where(models.c.name == name)
    out = []
    aliases: dict[str, dict[int, list[str]]] = {}
    for row in conn.execute(query).all():
        row_tags = json.loads(row.tags)
        # tags={"k": None} asks for the key alone, {"k": "v"} for the pair.
        if tags and any(
            k not in row_tags or (v is not None and row_tags[k] != v) for k, v in tags.items()
        ):
            continue
        if row.name not in aliases:
            aliases[row.name] = _aliases(conn, row.name)
        out.append(_model(row, aliases[row.name], with_manifest=False))
    return out


def update_model(
    conn: Connection,
    name: str,
    version: int,
    *,
    add_tags: Mapping[str, str] | None,
    remove_tags: Sequence[str],
    add_properties: Mapping[str, str] | None,
) -> ModelVersion:
    row = _model_row(conn, name, version)
    if row is None:
        raise ModelNotFoundError(f"no registered model {name!r} version {version}")
    tags = json.loads(row.tags)
    tags.update(check_string_map("tag", dict(add_tags or {})))
    for key in remove_tags:
        tags.pop(key, None)
    props = json.loads(row.properties)
    for key, value in check_string_map("property", dict(add_properties or {})).items():
        if key in props and props[key] != value:
            raise ConflictError(
                f"model {name}:{version} property {key!r} is already {props[key]!r}; "
                "properties are immutable once set: use a tag for a value that changes"
            )
        props[key] = value
    conn.execute(
        models.update()
        .where(models.c.name == name, models.c.version == int(version))
        .values(tags=_json("tags", tags), properties=_json("properties", props))
    )
    return _model(_model_row(conn, name, version), _aliases(conn, name))


def set_alias(
    conn: Connection, name: str, alias: str, version: int | None, actor: str
) -> AliasEvent:
    check_resource_name("alias", alias)
    if actor:
        check_name("actor", actor)
    _lock_name(conn, PG_LOCK_MODELS, name)
    if version is not None and _model_row(conn, name, version) is None:
        raise ModelNotFoundError(f"no registered model {name!r} version {version}")
    before = _alias_version(conn, name, alias)
    now = time.time()
    where = (model_aliases.c.model_name == name) & (model_aliases.c.alias == alias)
    if version is None:
        conn.execute(model_aliases.delete().where(where))
    elif before is None:
        conn.execute(
            model_aliases.insert().values(
                model_name=name, alias=alias, version=int(version), updated_at=now
            )
        )
    else:
        conn.execute(
            model_aliases.update().where(where).values(version=int(version), updated_at=now)
        )
    event = AliasEvent(name, alias, before, version, actor, now)
    if before != version:
        conn.execute(
            model_alias_events.insert().values(
                model_name=name,
                alias=alias,
                from_version=before,
                to_version=version,
                actor=actor,
                at=now,
            )
        )
    return event


def alias_history(
    conn: Connection, name: str, alias: str | None, as_of: float | None
) -> list[AliasEvent]:
    query = (
        sa.select(model_alias_events)
        .where(model_alias_events.c.model_name == name)
        .order_by(model_alias_events.c.id)
    )
    if alias is not None:
        query = query.where(model_alias_events.c.alias == alias)
    if as_of is not None:
        query = query.where(model_alias_events.c.at <= float(as_of))
    return [
        AliasEvent(r.model_name, r.alias, r.from_version, r.to_version, r.actor, r.at)
        for r in conn.execute(query).all()
    ]
