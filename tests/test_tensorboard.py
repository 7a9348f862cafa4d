"""``runyard.tensorboard`` (the SDK's ``azureml.tensorboard``): runs' metrics exported as
event files TensorBoard's own reader reads back, and a real TensorBoard process serving
the event files runs uploaded, started on loopback and stopped by its process id."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from runyard.core import Experiment, Workspace
from runyard.errors import ConfigError, ValidationError
from runyard.tensorboard import Tensorboard
from runyard.tensorboard.export import export_to_tensorboard


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_export_writes_every_numeric_point_per_run_and_child(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    root = Experiment(ws, "tb-export").start_logging()
    losses = [1.0, 0.5, 0.25, 0.125, 0.1]
    for step, loss in enumerate(losses):
        root.log("loss", loss, step=step * 10)
    root.log("epochs", 3)
    root.log("converged", True)
    root.log("note", "text has no scalar form")
    child = root.child_run("alpha-0.1")
    child.log("alpha", 0.1)
    child.log("mse", 3012.5)
    child.complete()
    root.complete()
    logs = tmp_path / "exported"
    export_to_tensorboard(root, logs)
    got = _scalars(logs / root.id)
    assert set(got) == {"loss", "epochs", "converged"}
    assert [s for s, _ in got["loss"]] == [0, 10, 20, 30, 40]
    # TensorBoard keeps scalars as float32: the values are float32's nearest.
    assert [v for _, v in got["loss"]] == [float(np.float32(v)) for v in losses]
    assert got["epochs"] == [(0, 3.0)] and got["converged"] == [(0, 1.0)]
    assert _scalars(logs / root.id / child.id) == {"alpha": [(0, pytest.approx(0.1))],
                                                   "mse": [(0, 3012.5)]}  # fmt: skip
    flat = tmp_path / "flat"
    export_to_tensorboard([root], flat, recursive=False)
    assert not (flat / root.id / child.id).exists()
    with pytest.raises(ValidationError, match="a Run or a list of runs"):
        export_to_tensorboard(["not a run"], logs)  # type: ignore[list-item]
    ws.close()


def test_tensorboard_serves_the_event_files_runs_uploaded(tmp_path: Path) -> None:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    ws = Workspace.create(tmp_path / "proj", name="proj")
    run = Experiment(ws, "tb-serve").start_logging()
    written = tmp_path / "tf-logs"
    writer = EventFileWriter(str(written))
    for step in range(3):
        value = Summary.Value(tag="train/loss", simple_value=1.0 / (step + 1))
        writer.add_event(Event(wall_time=1.0 + step, step=step, summary=Summary(value=[value])))
    writer.close()
    (events,) = written.iterdir()
    run.upload_file(f"logs/{events.name}", str(events))
    run.upload_file("outputs/model.txt", str(events))  # not an event file: not copied
    run.complete()

    board = Tensorboard([run], local_root=tmp_path / "tb", port=0)
    url = board.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        assert (tmp_path / "tb" / run.id / "logs" / events.name).is_file()
        assert not (tmp_path / "tb" / run.id / "outputs").exists()
        with urllib.request.urlopen(url + "data/plugin/scalars/tags", timeout=30) as answer:
            tags = json.load(answer)
        assert list(tags) == [f"{run.id}/logs"] and list(tags[f"{run.id}/logs"]) == ["train/loss"]
        with pytest.raises(ConfigError, match="is in use"):
            Tensorboard([], local_root=tmp_path / "tb", port=board.port).start()
    finally:
        proc = board._proc
        board.stop()
    assert proc is not None and proc.poll() is not None  # stopped, by its process
    with pytest.raises(ValidationError, match="not a port number"):
        Tensorboard([], port=70000)
    ws.close()
