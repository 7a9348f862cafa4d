"""System metrics: CPU, memory, disk and network of a run's process tree, and its
GPUs where NVML finds them, sampled in the background and written to a journal under
``system/...`` names (docs/system-metrics.md).

The runner samples a submitted run's whole process tree (:mod:`.thread`); an offline
run (``start_logging(system_metrics=True)``) samples its own process the same way.
"""
