"""Write routes: everything a runner on another machine needs to use the studio as its
store (``runyard.remote.HttpStore`` implements ``Store`` on these). Every one needs the
access token as ``Authorization: Bearer`` (enforced by :mod:`runyard.server.auth`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from runyard import wire
from runyard.errors import NotFoundError
from runyard.server.deps import StoreDep
from runyard.server.responses import WireJSON, answer, no_content
from runyard.wire import parse_kind, parse_status

router = APIRouter(prefix="/api", default_response_class=WireJSON)


@router.post("/experiments", response_model=wire.ExperimentOut)
def get_or_create_experiment(store: StoreDep, body: wire.ExperimentIn) -> WireJSON:
    """The experiment called ``name``, created on first use."""
    return answer(wire.ExperimentOut.of(store.get_or_create_experiment(body.name)))


@router.post("/runs", status_code=201, response_model=wire.RunOut)
def create_run(store: StoreDep, body: wire.RunIn) -> WireJSON:
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
        definition=body.decoded_definition(),
        owner=body.owner,
        run_id=body.run_id,
    )
    return answer(wire.RunOut.of(run), status_code=201)


@router.post("/runs/{run_id}/status", response_model=wire.RunOut)
def set_status(store: StoreDep, run_id: str, body: wire.StatusIn) -> WireJSON:
    """Moves the run to ``status``; with ``expected``, only from one of those (409 else)."""
    run = store.set_status(
        run_id,
        parse_status(body.status),
        exit_code=body.exit_code,
        error=body.error,
        expected=body.expected_statuses(),
        epoch=body.epoch,
        fence=body.fence,
    )
    return answer(wire.RunOut.of(run))


@router.post("/runs/{run_id}/heartbeat", status_code=204)
def heartbeat(store: StoreDep, run_id: str, body: wire.HeartbeatIn) -> Response:
    store.heartbeat(run_id, body.owner, body.epoch)
    return no_content()


@router.patch("/runs/{run_id}/tags", status_code=204)
def set_tags(store: StoreDep, run_id: str, body: wire.TagsIn) -> Response:
    """Adds or overwrites tags."""
    store.set_tags(run_id, body.tags)
    return no_content()


@router.post("/runs/{run_id}/tags/remove", status_code=204)
def remove_tags(store: StoreDep, run_id: str, body: wire.TagKeysIn) -> Response:
    """Removes the tags named ``keys`` (names the run lacks are skipped)."""
    store.remove_tags(run_id, body.keys)
    return no_content()


@router.patch("/runs/{run_id}/display_name", response_model=wire.RunOut)
def set_display_name(store: StoreDep, run_id: str, body: wire.DisplayNameIn) -> WireJSON:
    """Renames the run; answers the run."""
    return answer(wire.RunOut.of(store.set_display_name(run_id, body.display_name)))


@router.post("/runs/{run_id}/properties", status_code=204)
def add_properties(store: StoreDep, run_id: str, body: wire.PropertiesIn) -> Response:
    """Adds properties; changing one already set is a 409 and writes nothing."""
    store.add_properties(run_id, body.properties)
    return no_content()


@router.patch("/runs/{run_id}/definition", response_model=wire.RunOut)
def update_definition(store: StoreDep, run_id: str, body: wire.DefinitionPatchIn) -> WireJSON:
    """Merges ``patch`` into the run's definition; answers the run."""
    return answer(wire.RunOut.of(store.update_definition(run_id, body.decoded_patch())))


@router.post("/runs/{run_id}/cancel", response_model=wire.RunOut)
def request_cancel(store: StoreDep, run_id: str) -> WireJSON:
    """Asks the run to stop (a queued run is Canceled at once, an active one gets
    ``cancel_requested_at``, which its runner polls); answers the run as it is now."""
    return answer(wire.RunOut.of(store.request_cancel(run_id)))


@router.post("/runs/{run_id}/delete", response_model=wire.RunOut)
def delete_run(store: StoreDep, run_id: str) -> WireJSON:
    """Soft-deletes an ended run and its descendants (409 while one has not ended)."""
    return answer(wire.RunOut.of(store.delete_run(run_id)))


@router.post("/runs/{run_id}/restore", response_model=wire.RunOut)
def restore_run(store: StoreDep, run_id: str) -> WireJSON:
    """Undoes a delete."""
    return answer(wire.RunOut.of(store.restore_run(run_id)))


@router.post("/purge", response_model=wire.PurgeOut)
def purge_deleted(store: StoreDep, body: wire.PurgeIn) -> WireJSON:
    """Removes for good what was deleted (or says what would go, ``dry_run``)."""
    purge = store.purge_deleted(
        deleted_before=body.deleted_before,
        run_ids=body.run_ids,
        experiment_ids=body.experiment_ids,
        dry_run=body.dry_run,
    )
    return answer(wire.PurgeOut.of(purge))


@router.post("/experiments/{experiment_id}/rename", response_model=wire.ExperimentOut)
def rename_experiment(store: StoreDep, experiment_id: str, body: wire.ExperimentIn) -> WireJSON:
    """Gives the experiment the body's name (409 when another experiment has it)."""
    return answer(wire.ExperimentOut.of(store.rename_experiment(experiment_id, body.name)))


@router.post("/experiments/{experiment_id}/tags", response_model=wire.ExperimentOut)
def set_experiment_tags(store: StoreDep, experiment_id: str, body: wire.TagsIn) -> WireJSON:
    """Adds or changes the experiment's tags; answers the experiment."""
    return answer(wire.ExperimentOut.of(store.set_experiment_tags(experiment_id, body.tags)))


@router.post("/experiments/{experiment_id}/tags/remove", response_model=wire.ExperimentOut)
def remove_experiment_tags(store: StoreDep, experiment_id: str, body: wire.TagKeysIn) -> WireJSON:
    """Removes the named tags; answers the experiment."""
    return answer(wire.ExperimentOut.of(store.remove_experiment_tags(experiment_id, body.keys)))


@router.post("/experiments/{experiment_id}/delete", response_model=wire.ExperimentOut)
def delete_experiment(store: StoreDep, experiment_id: str) -> WireJSON:
    """Soft-deletes an experiment whose runs have all ended (409 otherwise)."""
    return answer(wire.ExperimentOut.of(store.delete_experiment(experiment_id)))


@router.post("/experiments/{experiment_id}/restore", response_model=wire.ExperimentOut)
def restore_experiment(store: StoreDep, experiment_id: str) -> WireJSON:
    """Undoes a delete."""
    return answer(wire.ExperimentOut.of(store.restore_experiment(experiment_id)))


@router.post("/runs/{run_id}/rerun", status_code=201, response_model=wire.RunOut)
def rerun(store: StoreDep, request: Request, run_id: str) -> WireJSON:
    """Starts a new run from this one's snapshot, arguments and locked environment
    (as ``runyard runs rerun``); answers the new run."""
    resubmit = request.app.state.rerun
    if resubmit is None:
        raise NotFoundError(
            "this studio cannot rerun runs: it was started without a workspace to submit "
            "from; use `runyard runs rerun RUN_ID`, or the studio `runyard studio` starts"
        )
    store.get_run(run_id)  # RunNotFoundError (404) before anything is submitted
    return answer(wire.RunOut.of(store.get_run(resubmit(run_id))), status_code=201)


@router.post("/compute/{compute_target}/claim", response_model=wire.ClaimOut)
def claim_next_queued(store: StoreDep, compute_target: str, body: wire.ClaimIn) -> WireJSON:
    """Atomically claims the target's oldest queued run if a slot is free:
    ``{"run": {...}}`` or ``{"run": null}``."""
    run = store.claim_next_queued(compute_target, body.max_concurrent)
    return answer(wire.ClaimOut(run=None if run is None else wire.RunOut.of(run)))


@router.post("/runs/{run_id}/metrics", status_code=204)
def append_metrics(store: StoreDep, run_id: str, body: wire.MetricsIn) -> Response:
    """One ``append_metrics`` transaction: columnar points, records, journal offset."""
    store.append_metrics(
        run_id,
        [c.to_entity() for c in body.columns],
        [r.to_entity() for r in body.records],
        journal_offset=body.journal_offset,
        journal=body.journal,
        epoch=body.epoch,
    )
    return no_content()


@router.post("/environments", response_model=wire.EnvironmentOut)
def register_environment(store: StoreDep, body: wire.EnvironmentIn) -> WireJSON:
    """Registers a spec; the same hash as the latest version returns that version."""
    record = store.register_environment(body.name, body.decoded_spec(), body.spec_hash)
    return answer(wire.EnvironmentOut.of(record))
