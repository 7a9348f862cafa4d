"""MLflow's own API on three tracking stores, in one run: Runyard's plugin
(``ws.get_mlflow_tracking_uri()``), MLflow's file store (``file:``) and MLflow's SQLite
store (``sqlite:``).

    .venv/bin/python -m benchmarks.mlflow_bench [--values 5000] [--runs 20]

Measures, for each store: the median cost of one ``mlflow.log_metric(key, value,
step=i)`` inside ``mlflow.start_run()`` (timed over ``--values`` calls), the time to
end that run (``end_run``, after which every value is readable), reading the metric's
history back (``MlflowClient.get_metric_history``), and ``mlflow.search_runs`` over
``--runs`` runs with a param and two metrics each. Each store's figures are from a fresh
folder in the same process, so they share the machine's state.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from runyard.core import Workspace


def _measure(uri: str, values: int, runs: int) -> dict[str, float]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench")
    client = mlflow.MlflowClient()
    active = mlflow.start_run()
    costs = []
    for step in range(values):
        t0 = time.perf_counter()
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        costs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    mlflow.end_run()
    end_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    history = client.get_metric_history(active.info.run_id, "loss")
    history_s = time.perf_counter() - t0
    assert len(history) == values, (uri, len(history))
    for i in range(runs):
        with mlflow.start_run():
            mlflow.log_param("lr", 0.1 / (i + 1))
            mlflow.log_metrics({"acc": i / runs, "val_loss": 1 - i / runs})
    t0 = time.perf_counter()
    found = mlflow.search_runs(filter_string="metrics.acc > 0.5", order_by=["metrics.acc DESC"])
    search_s = time.perf_counter() - t0
    assert len(found) == sum(1 for i in range(runs) if i / runs > 0.5), (uri, len(found))
    mlflow.set_tracking_uri(None)
    return {
        "log_metric_us": statistics.median(costs) * 1e6,
        "end_run_ms": end_s * 1000,
        "history_ms": history_s * 1000,
        "search_ms": search_s * 1000,
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    # MLflow 3 keeps its file store in maintenance mode behind this switch.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
        root = Path(tmp)
        ws = Workspace.create(root / "runyard", name="bench")
        stores: dict[str, Any] = {
            "Runyard (runyard:)": ws.get_mlflow_tracking_uri(),
            "MLflow file store (file:)": (root / "mlruns").as_uri(),
            "MLflow SQLite store (sqlite:)": f"sqlite:///{root / 'mlflow.db'}",
        }
        for name, uri in stores.items():
            out[name] = _measure(uri, args.values, args.runs)
        ws.close()
    print(f"{'store':32} {'log_metric':>12} {'end_run':>10} {'history':>10} {'search':>10}")
    for name, row in out.items():
        print(
            f"{name:32} {row['log_metric_us']:>9.1f} us {row['end_run_ms']:>7.1f} ms "
            f"{row['history_ms']:>7.1f} ms {row['search_ms']:>7.1f} ms"
        )
    return out


if __name__ == "__main__":
    main()
