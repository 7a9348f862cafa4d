"""The run a script gets when it runs on its own (``python train.py``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from runyard.core.run import Run
from runyard.entities import RunInfo, RunKind, RunStatus
from runyard.tracking.journal import check_metric_name


class OfflineRun(Run):
    """Every call succeeds and prints what it would have logged, so a training script
    written for Runyard still runs without a workspace. Nothing is stored."""

    def __init__(self) -> None:  # no store, no journal: nothing to call super() for
        self._tags: dict[str, str] = {}
        self._properties: dict[str, str] = {}
        self._metrics: dict[str, list[Any]] = {}
        self._steps: dict[str, int] = {}

    @property
    def id(self) -> str:
        return "OfflineRun"

    @property
    def number(self) -> int:
        return 0

    @property
    def display_name(self) -> str:
        return "OfflineRun"

    @property
    def info(self) -> RunInfo:
        return RunInfo(
            run_id=self.id,
            experiment_id="",
            number=0,
            kind=RunKind.INTERACTIVE,
            status=RunStatus.RUNNING,
            created_at=0.0,
        )

    def _say(self, text: str) -> None:
        print(f"[runyard offline] {text}", file=sys.stderr)

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        check_metric_name(name)
        if not isinstance(value, (bool, int, float, str)) and not hasattr(value, "item"):
            from runyard.errors import MetricTypeError

            raise MetricTypeError(
                f"metric {name!r}: cannot log a value of type {type(value).__name__}"
            )
        self._metrics.setdefault(name, []).append(value)
        self._say(f"would log {name}={value!r}" + (f" at step {step}" if step is not None else ""))

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        self._metrics[name] = list(value)
        self._say(f"would log list {name}={list(value)!r}")

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._metrics.setdefault(name, []).append(kwargs)
        self._say(f"would log row {name}: {kwargs!r}")

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        self._metrics[name] = [dict(value)]
        self._say(f"would log table {name}")

    def log_image(
        self, name: str, path: str | Path | None = None, plot: Any = None, description: str = ""
    ) -> None:
        self._say(f"would log image {name} from {path or 'a plot'}")

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        items = {k: (v[0] if len(v) == 1 else list(v)) for k, v in self._metrics.items()}
        return (
            {name: items[name]} if name is not None and name in items else ({} if name else items)
        )

    def flush(self) -> None:
        pass

    def tag(self, key: str, value: str | None = None) -> None:
        self._tags[key] = "" if value is None else str(value)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._tags.update({k: str(v) for k, v in tags.items()})

    def get_tags(self) -> dict[str, str]:
        return dict(self._tags)

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        self._properties.update({k: str(v) for k, v in properties.items()})

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    def upload_file(self, name: str, path_or_stream: str | Path | BinaryIO) -> None:
        self._say(f"would upload {name}")

    def upload_folder(self, name: str, path: str | Path) -> None:
        self._say(f"would upload folder {name}")

    def get_file_names(self) -> list[str]:
        return []

    def get_status(self) -> str:
        return RunStatus.RUNNING.value

    def get_details(self) -> dict[str, Any]:
        return {"runId": self.id, "status": self.get_status(), "offline": True}

    def complete(self) -> None:
        pass

    def fail(self, error_details: Any = None) -> None:
        pass

    def cancel(self) -> None:
        pass

    def get_portal_url(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "OfflineRun()"

    def child_run(self, name: str | None = None) -> Run:
        return OfflineRun()
