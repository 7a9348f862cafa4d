"""System metrics (runyard.sysmetrics): sampled by the runner over a submitted run's
whole process tree, stored under ``system/...``; the interval's bounds; the no-GPU and
NVML paths; an offline run that opts in."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from runyard.core import Experiment, Run, ScriptRunConfig, Workspace
from runyard.core.runconfig import PyTorchConfiguration
from runyard.entities import ComputeTargetConfig
from runyard.errors import ValidationError
from runyard.runner.paths import RUNNER_LOG
from runyard.store.artifacts import DRIVER_LOG
from runyard.sysmetrics.gpu import GpuSampler, gpu_device_present, visible
from runyard.sysmetrics.settings import settings_from

FAST = {"RUNYARD_SYSTEM_METRICS_INTERVAL": "0.5"}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "proj", name="proj")


def _submit(ws: Workspace, tmp_path: Path, code: str, variables: dict[str, str]) -> Run:
    src = tmp_path / f"src-{time.monotonic_ns()}"
    src.mkdir()
    (src / "train.py").write_text(textwrap.dedent(code))
    config = ScriptRunConfig(src, "train.py", environment_variables=variables)
    run = Experiment(ws, "sysmetrics").submit(config)
    run.wait_for_completion(timeout=120, raise_on_error=True)
    return run


def _series(run: Run, name: str) -> list[float]:
    """A system series, read by name (``run.get_metrics()`` leaves ``system/`` out)."""
    value = run.get_metrics(name)[name]
    return [float(v) for v in (value if isinstance(value, list) else [value])]


def _system_keys(ws: Workspace, run: Run) -> list[str]:
    return [k for k in ws.store.get_metric_summaries(run.id) if k.startswith("system/")]


def test_a_busy_script_shows_its_cpu_and_memory(ws: Workspace, tmp_path: Path) -> None:
    run = _submit(
        ws,
        tmp_path,
        """
        import time
        from runyard.core import Run
        wall, cpu = time.monotonic(), time.process_time()
        while time.monotonic() - wall < 4:
            pass
        # The share of a core this loop got: the machine may be loaded by others.
        share = 100 * (time.process_time() - cpu) / (time.monotonic() - wall)
        Run.get_context().log("share", share)
        """,
        FAST,
    )
    metrics = run.get_metrics()
    assert set(metrics) == {"share"}  # the system series only by name, as in the cloud
    share = float(metrics["share"])
    cpu = _series(run, "system/cpu_percent")
    assert len(cpu) >= 3
    # Near the share the script measured itself (100 on a quiet machine), and no
    # more than the machine's cores could give.
    assert 0.5 * share <= max(cpu) <= 100 * 64, (share, cpu)
    assert 5 < max(_series(run, "system/memory_rss_mb")) < 2000
    for name in ("disk_read_mb", "disk_write_mb", "network_sent_mb", "network_received_mb"):
        assert min(_series(run, f"system/{name}")) >= 0
    assert (
        not any(k.startswith("system/gpu") for k in _system_keys(ws, run)) or gpu_device_present()
    )
    runner_log = (ws.store.artifacts.run_dir(run.id) / RUNNER_LOG).read_text()  # type: ignore[attr-defined]
    assert "started train.py" in runner_log and "NVML" not in runner_log
    assert "NVML" not in run.get_details_with_logs()["logFiles"].get(DRIVER_LOG, "")


def test_a_forked_child_s_memory_is_counted(ws: Workspace, tmp_path: Path) -> None:
    run = _submit(
        ws,
        tmp_path,
        """
        import os, time
        pid = os.fork()
        if pid == 0:
            held = b"x" * (300 << 20)  # written, so resident
            time.sleep(3)
            os._exit(0)
        os.waitpid(pid, 0)
        """,
        FAST,
    )
    rss = _series(run, "system/memory_rss_mb")
    assert max(rss) > 300, rss  # the parent alone holds a few tens of MB


def test_system_metrics_can_be_switched_off(ws: Workspace, tmp_path: Path) -> None:
    run = _submit(
        ws, tmp_path, "import time\ntime.sleep(1.5)\n", {**FAST, "RUNYARD_SYSTEM_METRICS": "0"}
    )
    assert _system_keys(ws, run) == []


@pytest.mark.parametrize("value", ["0.1", "61", "abc", "nan", "-2"])
def test_an_interval_out_of_range_is_refused_at_submit(
    ws: Workspace, tmp_path: Path, value: str
) -> None:
    (tmp_path / "train.py").write_text("print(1)\n")
    config = ScriptRunConfig(
        tmp_path, "train.py", environment_variables={"RUNYARD_SYSTEM_METRICS_INTERVAL": value}
    )
    with pytest.raises(ValidationError, match=r"from 0\.5 to 60\.0"):
        Experiment(ws, "bad").submit(config)
    assert settings_from({"RUNYARD_SYSTEM_METRICS_INTERVAL": "60"}).interval_s == 60.0
    with pytest.raises(ValidationError, match="neither on nor off"):
        settings_from({"RUNYARD_SYSTEM_METRICS": "maybe"})


def test_an_offline_run_can_opt_in(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNYARD_SYSTEM_METRICS_INTERVAL", "0.5")
    run = Experiment(ws, "nb").start_logging(system_metrics=True)
    deadline = time.monotonic() + 30
    while len(ws.store.get_metric_series(run.id, "system/cpu_percent").values) < 2:
        assert time.monotonic() < deadline, "the sampler took no 2 samples in 30 s"
        spin = time.monotonic()
        while time.monotonic() - spin < 0.2:  # work to measure
            pass
        time.sleep(0.05)  # the GIL for the sampler and ingest threads, as real code does
        run.flush()
    run.complete()
    stored = Run.get(ws, run.id)
    assert len(_series(stored, "system/cpu_percent")) >= 2
    assert max(_series(stored, "system/memory_rss_mb")) > 20  # this test process
    quiet = Experiment(ws, "nb").start_logging()
    quiet.complete()
    assert _system_keys(ws, quiet) == []


def test_without_a_gpu_device_there_is_no_gpu_sampler_and_no_warning() -> None:
    if gpu_device_present():
        pytest.skip("this machine has an NVIDIA device")
    warnings: list[str] = []
    assert GpuSampler.open({}, warnings.append) is None
    assert warnings == []
    assert (
        visible("1,0", 4) == ["1", "0"] and visible("", 4) == [] and visible(None, 2) == ["0", "1"]
    )
    assert visible("0,-1,1", 4) == ["0"]


def test_a_device_without_a_loadable_nvml_is_one_warning_naming_the_fix() -> None:
    try:
        import pynvml

        pynvml.nvmlInit()
        pytest.skip("NVML loads here")
    except pynvml.NVMLError:
        pass  # the library is installed but the driver's libnvidia-ml is not: as on a
        # node whose NVIDIA driver is there but whose NVML cannot be loaded
    warnings: list[str] = []
    assert GpuSampler.open({}, warnings.append, present=lambda: True) is None
    assert len(warnings) == 1 and "install nvidia-ml-py" in warnings[0], warnings


def test_the_run_s_gpus_through_nvml() -> None:
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
    except Exception as exc:
        pytest.skip(f"NVML finds no GPU here ({type(exc).__name__}: {exc})")
    if count == 0:
        pytest.skip("NVML finds no GPU here (0 devices)")
    warnings: list[str] = []
    sampler = GpuSampler.open({"CUDA_VISIBLE_DEVICES": "0"}, warnings.append)
    assert sampler is not None and warnings == []
    figures = sampler.sample()
    sampler.close()
    assert set(k.split("/")[0] for k in figures) == {"gpu0"}  # only the run's GPU
    assert 0 <= figures["gpu0/utilization_percent"] <= 100
    assert 0 < figures["gpu0/memory_used_mb"] <= figures["gpu0/memory_total_mb"]
    assert 0 < figures["gpu0/temperature_c"] < 120


def test_each_rank_of_a_local_distributed_run_has_its_own_figures(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws", name="ranks")  # a target of 2 slots
    ws.add_compute_target(ComputeTargetConfig("pool", "local", 2))
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        textwrap.dedent(
            """
            import os, time
            held = b"x" * ((200 if os.environ["RANK"] == "1" else 1) << 20)
            time.sleep(2.5)
            """
        )
    )
    config = ScriptRunConfig(
        str(src),
        "train.py",
        compute_target="pool",
        environment_variables=FAST,
        distributed_job_config=PyTorchConfiguration(process_count=2, node_count=1),
    )
    run = Experiment(ws, "ranks").submit(config)
    run.wait_for_completion(timeout=120, raise_on_error=True)
    rank0 = max(_series(run, "system/rank0/memory_rss_mb"))
    rank1 = max(_series(run, "system/rank1/memory_rss_mb"))
    assert rank1 > 200 > rank0, (rank0, rank1)
    assert max(_series(run, "system/memory_rss_mb")) >= rank1
    assert "system/rank1/cpu_percent" in _system_keys(ws, run)
