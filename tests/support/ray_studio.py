"""A workspace whose studio (a real uvicorn server with a token) is where the runners
on the test Ray cluster report, with a Ray target of that cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from runyard.core import ComputeTarget, RayCompute, Workspace
from runyard.server import create_app
from runyard.store import open_store
from runyard.store.base import Store
from tests.support.ray_cluster import RayHead
from tests.support.server import start_server


@contextlib.contextmanager
def ray_workspace(
    folder: Path, ray: RayHead, *, name: str, target: str, token: str, slots: int
) -> Iterator[tuple[Workspace, Store]]:
    """The workspace and its studio's store, the target ``target`` with ``slots`` runs
    at once and a 3 s cancel grace."""
    ws = Workspace.create(folder, name=name)
    server_store = open_store(ws.tracking_uri, artifact_root=ws.artifact_root)
    server = start_server(create_app(server_store, token=token))
    try:
        ComputeTarget.create(
            ws,
            target,
            RayCompute.provisioning_configuration(
                address=ray.address,
                max_concurrent_runs=slots,
                server_url=server.url,
                token=token,
                cancel_grace_seconds=3,
            ),
        )
        yield ws, server_store
    finally:
        server.stop()
        server_store.close()
        ws.close()
