"""The run's GPUs through NVML (``nvidia-ml-py``, imported only when a GPU may exist).

Only the GPUs given to the run are read: those named by its ``CUDA_VISIBLE_DEVICES``
(indices or ``GPU-...`` UUIDs; Ray sets it to the GPUs it assigned), else every GPU
NVML sees. Metric names use the run's own ordinal (``gpu0`` is the run's ``cuda:0``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

_MB = 1024 * 1024
NVML_MISSING = (
    "a GPU device exists on this node but NVML could not be loaded ({why}), so GPU "
    "metrics are not sampled; install nvidia-ml-py (pip install 'runyard[gpu]')"
)


def gpu_device_present() -> bool:
    """Whether this node has an NVIDIA device (a driver node or /dev/nvidia0)."""
    return Path("/proc/driver/nvidia").exists() or Path("/dev/nvidia0").exists()


def visible(spec: str | None, count: int) -> list[str] | None:
    """The entries of ``CUDA_VISIBLE_DEVICES`` (None: all ``count`` GPUs). CUDA stops at
    the first entry it cannot use, so an empty or ``-1`` list means no GPU."""
    if spec is None:
        return [str(i) for i in range(count)]
    out: list[str] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item or item.startswith("-"):
            break
        out.append(item)
    return out


class GpuSampler:
    """Reads utilisation, memory, power and temperature of the run's GPUs."""

    def __init__(self, handles: list[Any], nvml: Any) -> None:
        self._handles = handles
        self._nvml = nvml

    @classmethod
    def open(
        cls,
        env: Mapping[str, str],
        warn: Callable[[str], None],
        present: Callable[[], bool] = gpu_device_present,
    ) -> GpuSampler | None:
        """The sampler for the GPUs ``env`` gives the run; None without a GPU (and a
        warning through ``warn`` when a device exists but NVML cannot be used)."""
        if not present():
            return None
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as exc:  # ImportError, or NVMLError: library or driver missing
            warn(NVML_MISSING.format(why=f"{type(exc).__name__}: {exc}"))
            return None
        handles: list[Any] = []
        count = pynvml.nvmlDeviceGetCount()
        for item in visible(env.get("CUDA_VISIBLE_DEVICES"), count) or []:
            try:
                if item.isdigit():
                    handles.append(pynvml.nvmlDeviceGetHandleByIndex(int(item)))
                else:
                    handles.append(pynvml.nvmlDeviceGetHandleByUUID(item))
            except Exception as exc:  # NVMLError: a GPU the driver does not know
                warn(f"CUDA_VISIBLE_DEVICES names GPU {item!r}, unknown to NVML: {exc}")
        return cls(handles, pynvml) if handles else None

    def sample(self) -> dict[str, float]:
        """``gpu<i>/<figure>`` for each of the run's GPUs; a figure NVML cannot read on
        this GPU (power on some boards) is left out."""
        out: dict[str, float] = {}
        for i, handle in enumerate(self._handles):
            for name, value in self._figures(handle):
                out[f"gpu{i}/{name}"] = value
        return out

    def _figures(self, handle: Any) -> Iterator[tuple[str, float]]:
        nvml = self._nvml
        with contextlib.suppress(nvml.NVMLError):  # not supported on this board
            yield "utilization_percent", float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        with contextlib.suppress(nvml.NVMLError):
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            yield "memory_used_mb", memory.used / _MB
            yield "memory_total_mb", memory.total / _MB
        with contextlib.suppress(nvml.NVMLError):
            yield "power_w", nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
        with contextlib.suppress(nvml.NVMLError):
            celsius = nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
            yield "temperature_c", float(celsius)

    def close(self) -> None:
        """Shuts NVML down."""
        with contextlib.suppress(Exception):  # NVMLError: already shut down
            self._nvml.nvmlShutdown()
