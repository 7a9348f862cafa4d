"""Sizes, time caps and per-tool knobs of the suite, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "benchmarks"
CACHE_DIR = BENCH_DIR / ".cache"
VENV_DIR = CACHE_DIR / "venvs"
PEERS_DIR = BENCH_DIR / "peers"
DOC_PATH = ROOT / "docs" / "benchmarks.md"
CHART_DIR = ROOT / "docs" / "benchmarks"
RESULTS_PATH = CACHE_DIR / "results" / "latest.json"

RUNYARD = "runyard"
PEERS = ("mlflow", "wandb", "aim", "tensorboard")
LABELS = {
    RUNYARD: "Runyard",
    "mlflow": "MLflow",
    "wandb": "W&B",
    "aim": "Aim",
    "tensorboard": "TensorBoard",
}

# What `make bench` installs into each peer's virtual environment. Bounded to the major
# versions the drivers were written against, so an API break shows as a version bump.
PEER_SPECS = {
    "mlflow": ["mlflow>=3,<4"],
    "wandb": ["wandb>=0.19,<1"],
    "aim": ["aim>=3.20,<4"],
    # tensorboardX writes the event files (no TensorFlow, no torch); tensorboard reads them.
    "tensorboard": ["tensorboardX>=2.6,<3", "tensorboard>=2.14,<3"],
}

# Report the logged count to the side file every N calls: often enough that the count
# is close to the truth at the moment of the kill, rarely enough that most kills land
# while logging rather than while writing the side file (a few ms here).
DURABLE_EVERY = {RUNYARD: 10_000, "mlflow": 5, "wandb": 20, "aim": 20, "tensorboard": 20}
# Read the clock every N steps in timed loops (only Runyard's loop is fast enough for
# the clock to matter).
CHECK_EVERY = {RUNYARD: 1000, "mlflow": 1, "wandb": 1, "aim": 1, "tensorboard": 1}

WORKLOADS = ("logging", "durability", "read", "runs", "startup", "submit", "server")


@dataclass(frozen=True)
class Sizes:
    """The issue's default sizes at ``scale=1``. ``caps=1`` gives each slow timed loop
    a few seconds; without caps MLflow alone would need most of an hour."""

    metrics: int = 3
    steps: int = 20_000
    series: dict[str, int] = field(default_factory=lambda: {"short": 20_000, "long": 1_000_000})
    runs: int = 2_000
    params: int = 5
    log_budget_s: float | None = 4.0
    create_budget_s: float | None = 40.0
    series_budget_s: float | None = 40.0
    kill_window_s: tuple[float, float] = (0.5, 2.0)
    slow_s: float = 25.0  # a driver call slower than this once is not repeated

    @classmethod
    def scaled(cls, scale: float, caps: float) -> Sizes:
        def n(value: int) -> int:
            return max(2, round(value * scale))

        def cap(seconds: float) -> float | None:
            # Caps grow with the sizes (never below a quarter of the default), and
            # caps=0 removes them.
            return None if caps <= 0 else seconds * caps * max(0.25, scale)

        return cls(
            steps=n(20_000),
            series={"short": n(20_000), "long": n(1_000_000)},
            runs=n(2_000),
            log_budget_s=cap(4.0),
            create_budget_s=cap(40.0),
            series_budget_s=cap(40.0),
            slow_s=25.0 * max(1.0, scale) if caps > 0 else float("inf"),
        )
