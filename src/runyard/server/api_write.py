"""Write routes: everything a runner on another machine needs to use the studio as its
store (``HttpStore`` implements ``Store`` on these). Every one needs the access token
as ``Authorization: Bearer`` (enforced by :mod:`runyard.server.auth`)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from runyard.server.deps import StoreDep
from runyard.server.encoding import (
    FastJSONResponse,
    environment_json,
    experiment_json,
    run_json,
)
from runyard.server.schemas import (
    ClaimIn,
    DefinitionPatchIn,
    EnvironmentIn,
    ExperimentIn,
    HeartbeatIn,
    MetricsIn,
    PropertiesIn,
    RunIn,
    StatusIn,
    TagsIn,
    parse_kind,
    parse_status,
)
from runyard.store.http_codec import decode_any

router = APIRouter(prefix="/api", default_response_class=FastJSONResponse)


def no_content() -> Response:
    return Response(status_code=204)


@router.post("/experiments")
def get_or_create_experiment(store: StoreDep, body: ExperimentIn) -> FastJSONResponse:
    """The experiment called ``name``, created on first use."""
    return FastJSONResponse(experiment_json(store.get_or_create_experiment(body.name)))


@router.post("/runs", status_code=201)
def create_run(store: StoreDep, body: RunIn) -> FastJSONResponse:
    """Creates a run numbered next in its experiment; answers the run."""
    run = store.create_run(
        body.experiment_id,
        kind=parse_kind(body.kind),
        status=parse_status(body.status),
        compute_target=body.compute_target,
        parent_run_id=body.parent_run_id,
        display_name=body.display_name,
        tags=body.tags,
        properties=body.properties,
        definition=decode_any(body.definition) if body.definition is not None else None,
        owner=body.owner,
        run_id=body.run_id,
    )
    return FastJSONResponse(run_json(run), status_code=201)


@router.post("/runs/{run_id}/status")
def set_status(store: StoreDep, run_id: str, body: StatusIn) -> FastJSONResponse:
    """Moves the run to ``status``; with ``expected``, only from one of those (409 else)."""
    expected = None if body.expected is None else [parse_status(s) for s in body.expected]
    run = store.set_status(
        run_id,
        parse_status(body.status),
        exit_code=body.exit_code,
        error=body.error,
        expected=expected,
    )
    return FastJSONResponse(run_json(run))


@router.post("/runs/{run_id}/heartbeat", status_code=204)
def heartbeat(store: StoreDep, run_id: str, body: HeartbeatIn) -> Response:
    store.heartbeat(run_id, body.owner)
    return no_content()


@router.patch("/runs/{run_id}/tags", status_code=204)
def set_tags(store: StoreDep, run_id: str, body: TagsIn) -> Response:
    """Adds or overwrites tags."""
    store.set_tags(run_id, body.tags)
    return no_content()


@router.post("/runs/{run_id}/properties", status_code=204)
def add_properties(store: StoreDep, run_id: str, body: PropertiesIn) -> Response:
    """Adds properties; changing one already set is a 409 and writes nothing."""
    store.add_properties(run_id, body.properties)
    return no_content()


@router.patch("/runs/{run_id}/definition")
def update_definition(store: StoreDep, run_id: str, body: DefinitionPatchIn) -> FastJSONResponse:
    """Merges ``patch`` into the run's definition; answers the run."""
    return FastJSONResponse(run_json(store.update_definition(run_id, decode_any(body.patch))))


@router.post("/compute/{compute_target}/claim")
def claim_next_queued(store: StoreDep, compute_target: str, body: ClaimIn) -> FastJSONResponse:
    """Atomically claims the target's oldest queued run if a slot is free:
    ``{"run": {...}}`` or ``{"run": null}``."""
    run = store.claim_next_queued(compute_target, body.max_concurrent)
    return FastJSONResponse({"run": None if run is None else run_json(run)})


@router.post("/runs/{run_id}/metrics", status_code=204)
def append_metrics(store: StoreDep, run_id: str, body: MetricsIn) -> Response:
    """One ``append_metrics`` transaction: columnar points, records, journal offset."""
    store.append_metrics(
        run_id,
        [c.to_entity() for c in body.columns],
        [r.to_entity() for r in body.records],
        journal_offset=body.journal_offset,
    )
    return no_content()


@router.post("/environments")
def register_environment(store: StoreDep, body: EnvironmentIn) -> FastJSONResponse:
    """Registers a spec; the same hash as the latest version returns that version."""
    record = store.register_environment(body.name, decode_any(body.spec), body.spec_hash)
    return FastJSONResponse(environment_json(record))
