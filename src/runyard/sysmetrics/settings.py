"""How often system metrics are sampled, and whether at all, from a run's variables.

Set by the user like any other run variable: ``ScriptRunConfig(environment_variables=
{"RUNYARD_SYSTEM_METRICS_INTERVAL": "1"})``, in the shell for ``start_logging``, or
``RUNYARD_SYSTEM_METRICS=0`` to switch sampling off. Checked at submit, so a bad value
is refused before the run is queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runyard.errors import ValidationError

ENV_INTERVAL = "RUNYARD_SYSTEM_METRICS_INTERVAL"
ENV_ENABLED = "RUNYARD_SYSTEM_METRICS"
DEFAULT_INTERVAL_S = 2.0
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.5, 60.0
_OFF, _ON = {"0", "false", "no", "off"}, {"1", "true", "yes", "on", ""}


@dataclass(frozen=True)
class SamplerSettings:
    """Whether to sample, and every how many seconds."""

    enabled: bool = True
    interval_s: float = DEFAULT_INTERVAL_S


def check_interval(value: object) -> float:
    """``value`` as seconds between samples; a ValidationError naming the range if it
    is not a number from 0.5 to 60."""
    try:
        seconds = float(str(value).strip())
    except ValueError:
        seconds = float("nan")
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:  # NaN fails this too
        raise ValidationError(
            f"{ENV_INTERVAL}={value!r} is not a number of seconds from {MIN_INTERVAL_S} "
            f"to {MAX_INTERVAL_S}; set it in that range, or {ENV_ENABLED}=0 to switch "
            "system metrics off"
        )
    return seconds


def settings_from(variables: Mapping[str, str]) -> SamplerSettings:
    """The sampler's settings from a run's environment variables (ValidationError when
    one is malformed)."""
    switch = variables.get(ENV_ENABLED, "").strip().lower()
    if switch not in _OFF | _ON:
        raise ValidationError(
            f"{ENV_ENABLED}={variables[ENV_ENABLED]!r} is neither on nor off; use 1 or 0"
        )
    raw = variables.get(ENV_INTERVAL)
    interval = DEFAULT_INTERVAL_S if raw in (None, "") else check_interval(raw)
    return SamplerSettings(enabled=switch not in _OFF, interval_s=interval)
