"""The environments registry: versioned specs per name."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.entities import EnvironmentRecord
from runyard.errors import EnvironmentNotFoundError, ValidationError
from runyard.store.sql.engine import PG_LOCK_NAMESPACE
from runyard.store.sql.schema import environments
from runyard.store.sql.validate import check_resource_name

PG_LOCK_ENVIRONMENTS = 3


def _to_entity(row: Any) -> EnvironmentRecord:
    return EnvironmentRecord(
        name=row.name,
        version=int(row.version),
        spec=json.loads(row.spec),
        spec_hash=row.spec_hash,
        created_at=row.created_at,
    )


def _latest(conn: Connection, name: str) -> Any:
    return conn.execute(
        sa.select(environments)
        .where(environments.c.name == name)
        .order_by(environments.c.version.desc())
        .limit(1)
    ).first()


def register(
    conn: Connection, name: str, spec: Mapping[str, Any], spec_hash: str
) -> EnvironmentRecord:
    check_resource_name("environment", name)
    if not isinstance(spec_hash, str) or not spec_hash or len(spec_hash) > 128:
        raise ValidationError("an environment spec hash must be a non-empty str (<= 128)")
    try:
        spec_text = json.dumps(dict(spec), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"environment {name!r}: spec is not JSON-serialisable: {exc}"
        ) from None
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), hashtext(:name))"),
            {"ns": PG_LOCK_NAMESPACE + PG_LOCK_ENVIRONMENTS, "name": name},
        )
    latest = _latest(conn, name)
    if latest is not None and latest.spec_hash == spec_hash:
        return _to_entity(latest)
    version = 1 if latest is None else int(latest.version) + 1
    conn.execute(
        environments.insert().values(
            name=name,
            version=version,
            spec=spec_text,
            spec_hash=spec_hash,
            created_at=time.time(),
        )
    )
    return _to_entity(_latest(conn, name))


def get(conn: Connection, name: str, version: int | None) -> EnvironmentRecord:
    if version is None:
        row = _latest(conn, name)
    else:
        row = conn.execute(
            sa.select(environments).where(
                environments.c.name == name, environments.c.version == int(version)
            )
        ).first()
    if row is None:
        which = "any version" if version is None else f"version {version}"
        raise EnvironmentNotFoundError(
            f"no registered environment {name!r} ({which}); register it first"
        )
    return _to_entity(row)


def list_all(conn: Connection) -> list[EnvironmentRecord]:
    rows = conn.execute(
        sa.select(environments).order_by(environments.c.name, environments.c.version)
    ).all()
    return [_to_entity(row) for row in rows]
