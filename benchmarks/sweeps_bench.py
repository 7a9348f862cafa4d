"""HyperDrive sweeps (issue 16): policy latency, savings on recorded curves, throughput.

    .venv/bin/python -m benchmarks.sweeps_bench [--small] [--only latency,savings,rate]
                                                [--no-ray] [--record]

(a) **latency**: a Bandit sweep of one winner and losers logging one value a second;
    the value that decides a loser's stop is its ``sweep.stopped_at_interval``-th point.
    Measured from that point's timestamp (taken at ``run.log``) to the
    ``early-terminated`` tag being in the store (polled every 10 ms), and from then to
    the trial's script process being gone (its pid, which it writes at start). Targets:
    <= 1 s and <= 5 s.
(b) **savings**: a recorded learning-curve workload, ``benchmarks/sweeps_curves.json``:
    validation accuracy per epoch of scikit-learn's MLPClassifier on the bundled digits
    dataset, 16 configurations (learning rate x width), 20 epochs, recorded once with
    ``--record``. Each trial replays one configuration's curve, one epoch per
    ``epoch_s``. The same grid runs without a policy and with Bandit; trial-seconds are
    the sum of the trials' run times (start to end, runner overhead included). Targets:
    Bandit saves >= 25% of trial-seconds, its best final metric within 1% of no policy's.
(c) **rate**: trials per minute on a 1-second toy objective, 4 at a time: a Runyard sweep
    (each trial a submitted run: snapshot, runner, script process, ingest) against
    Optuna with its RDB storage on SQLite (4 worker processes sharing the study, the
    documented way to parallelize across processes; "database is locked" errors counted)
    and Ray Tune (``ray[tune]``, a local Ray started by ``ray.init`` on loopback;
    measured with and without its start-up). Same machine, same run, one after another.

``--small`` is the smoke test's size (tests/test_benchmarks_smoke.py); it skips Ray Tune
unless ``--ray`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.target_table import Result, print_table

CURVES = Path(__file__).resolve().parent / "sweeps_curves.json"
LOCKED = re.compile(r"database is locked", re.IGNORECASE)


# -- shared -------------------------------------------------------------------------------


def _workspace(root: Path, slots: int) -> Any:
    from runyard.core import LocalCompute, Workspace

    ws = Workspace.create(root / "ws", name="sweeps-bench")
    LocalCompute.create(
        ws, "cpu", LocalCompute.provisioning_configuration(max_concurrent_runs=slots)
    )
    return ws


def _sweep(ws: Any, src: Path, sampling: Any, metric: str, goal: str, **kw: Any) -> Any:
    from runyard.core import Experiment, ScriptRunConfig
    from runyard.train.hyperdrive import HyperDriveConfig, PrimaryMetricGoal

    config = ScriptRunConfig(
        source_directory=str(src),
        script="trial.py",
        arguments=kw.pop("arguments", []),
        compute_target="cpu",
    )
    hd = HyperDriveConfig(
        run_config=config,
        hyperparameter_sampling=sampling,
        primary_metric_name=metric,
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE
        if goal == "max"
        else PrimaryMetricGoal.MINIMIZE,
        **kw,
    )
    return Experiment(ws, "bench").submit(hd)


def _poll(check: Callable[[], bool], timeout: float, every: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def _pid_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie is gone: it runs nothing, holds no memory


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- (a) latency --------------------------------------------------------------------------

LATENCY_TRIAL = """
import argparse, os, time
from runyard.core import Run
p = argparse.ArgumentParser()
p.add_argument("--v", type=float)
p.add_argument("--pids")
a = p.parse_args()
open(os.path.join(a.pids, f"{a.v}.pid"), "w").write(str(os.getpid()))
run = Run.get_context()
if a.v >= 1:
    for _ in range(5):
        run.log("acc", 1.0)
    time.sleep(3)
else:
    # One value a second until stopped: under load the winner may not have logged at
    # this trial's first intervals; a later one decides (the stopped_at-th point).
    for _ in range(60):
        time.sleep(1.0)
        run.log("acc", a.v)
"""


def bench_latency(root: Path, losers: int) -> list[Result]:
    from runyard.sweeps import spec as names
    from runyard.train.hyperdrive import BanditPolicy, GridParameterSampling, choice

    ws = _workspace(root, slots=3)
    src = root / "latency-src"
    src.mkdir()
    (src / "trial.py").write_text(LATENCY_TRIAL)
    pids = root / "pids"
    pids.mkdir()
    values = [1.0, *(round(0.1 + 0.01 * i, 2) for i in range(losers))]
    run = _sweep(
        ws,
        src,
        GridParameterSampling({"--v": choice(*values)}),
        "acc",
        "max",
        arguments=["--pids", str(pids)],
        policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1, delay_evaluation=0),
        max_total_runs=len(values),
        max_concurrent_runs=3,
    )
    store = ws.store
    decided: dict[str, float] = {}
    gone: dict[str, float] = {}
    trial_ids = [f"{run.id}_{i}" for i in range(1, len(values))]  # trial 0 is the winner

    def step() -> bool:
        now = time.time()
        for rid in trial_ids:
            if rid not in decided:
                try:
                    tags = store.get_run(rid).tags
                except Exception:
                    continue
                if tags.get(names.TAG_END_REASON, "").startswith("early-terminated"):
                    decided[rid] = now
            elif rid not in gone:
                v = store.get_run(rid).properties[names.PROP_PARAMS]
                pid_file = pids / f"{json.loads(v)['--v']}.pid"
                if pid_file.exists() and _pid_gone(int(pid_file.read_text())):
                    gone[rid] = now
        return len(gone) == len(trial_ids)

    _poll(step, timeout=120 + 20 * losers, every=0.01)
    run.wait_for_completion(timeout=120, raise_on_error=False)
    decide_s, gone_s = [], []
    for rid, t in decided.items():
        at = int(store.get_run(rid).tags.get(names.TAG_STOPPED_AT, "1") or 1)
        point = store.get_metric_series(rid, "acc").timestamps[at - 1]
        decide_s.append(t - point)
        if rid in gone:
            gone_s.append(gone[rid] - t)
    ws.close()
    if not decide_s:
        return [
            Result("policy decision after the deciding run.log", float("nan"), "s", "<= 1 s", False)
        ]
    worst_d, worst_g = max(decide_s), max(gone_s) if gone_s else float("nan")
    print(
        f"latency: {len(decide_s)}/{len(trial_ids)} stops seen; decision s: "
        f"{', '.join(f'{v:.2f}' for v in sorted(decide_s))}; gone s: "
        f"{', '.join(f'{v:.2f}' for v in sorted(gone_s))}"
    )
    return [
        Result(
            f"policy decision after run.log, median of {len(decide_s)}",
            _quantile(decide_s, 0.5),
            "s",
            "<= 1 s",
            _quantile(decide_s, 0.5) <= 1.0,
        ),
        Result("policy decision after run.log, worst", worst_d, "s", "<= 1 s", worst_d <= 1.0),
        Result(
            "stopped trial's process gone after, worst",
            worst_g,
            "s",
            "<= 5 s",
            len(gone_s) == len(trial_ids) and worst_g <= 5.0,
        ),
    ]


# -- (b) savings on recorded curves -------------------------------------------------------

REPLAY_TRIAL = """
import argparse, json, time
from runyard.core import Run
p = argparse.ArgumentParser()
p.add_argument("--config", type=int)
p.add_argument("--epoch-s", type=float)
p.add_argument("--epochs", type=int)
a = p.parse_args()
curve = json.load(open("sweeps_curves.json"))["configs"][a.config]["val_acc"][: a.epochs]
run = Run.get_context()
for value in curve:
    time.sleep(a.epoch_s)     # one epoch of training
    run.log("val_acc", value)
"""


def record_curves(path: Path = CURVES, epochs: int = 20) -> None:
    """Trains scikit-learn's MLPClassifier on the digits dataset for each configuration
    and stores its validation accuracy after each epoch (partial_fit over the train set)."""
    import numpy as np
    import sklearn  # type: ignore[import-untyped]
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]
    from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]
    from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    x, y = load_digits(return_X_y=True)
    xtr, xva, ytr, yva = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(xtr)
    xtr, xva = scaler.transform(xtr), scaler.transform(xva)
    configs = []
    for lr in (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2):
        for width in (8, 64):
            model = MLPClassifier(
                hidden_layer_sizes=(width,), learning_rate_init=lr, batch_size=64, random_state=0
            )
            accs = []
            for _ in range(epochs):
                model.partial_fit(xtr, ytr, classes=np.arange(10))
                accs.append(round(float(model.score(xva, yva)), 4))
            configs.append({"learning_rate_init": lr, "hidden": width, "val_acc": accs})
    # A fixed shuffle: a grid in order of learning rate would put every good
    # configuration last, which no real sweep's order does.
    order = [11, 2, 13, 6, 0, 9, 15, 4, 7, 12, 1, 10, 5, 14, 3, 8]
    doc = {
        "what": "validation accuracy per epoch, sklearn MLPClassifier on load_digits (70/30 split)",
        "recorded_with": f"scikit-learn {sklearn.__version__}: "
        "python -m benchmarks.sweeps_bench --record",
        "configs": [configs[i] for i in order],
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"recorded {len(configs)} curves of {epochs} epochs into {path}")


def _replay(
    root: Path, name: str, policy: Any, n: int, epochs: int, epoch_s: float
) -> tuple[float, float, float]:
    from runyard.train.hyperdrive import GridParameterSampling, choice

    ws = _workspace(root / name, slots=4)
    src = root / name / "src"
    src.mkdir(parents=True)
    (src / "trial.py").write_text(REPLAY_TRIAL)
    (src / "sweeps_curves.json").write_text(CURVES.read_text())
    t0 = time.monotonic()
    run = _sweep(
        ws,
        src,
        GridParameterSampling({"--config": choice(*range(n))}),
        "val_acc",
        "max",
        arguments=["--epoch-s", str(epoch_s), "--epochs", str(epochs)],
        policy=policy,
        max_total_runs=n,
        max_concurrent_runs=4,
    )
    run.wait_for_completion(timeout=600, raise_on_error=False)
    wall = time.monotonic() - t0
    rows = run.get_children_sorted_by_primary_metric()
    seconds = 0.0
    for row in rows:
        info = ws.store.get_run(row["run_id"])
        seconds += (info.ended_at or 0) - (info.started_at or info.created_at)
    best = max((r["best_primary_metric"] or 0.0) for r in rows)
    stopped = sum(1 for r in rows if r["end_reason"].startswith("early-terminated"))
    print(
        f"savings/{name}: {len(rows)} trials, {stopped} stopped, {seconds:.1f} trial-s, "
        f"best {best:.4f}, wall {wall:.1f} s"
    )
    ws.close()
    return seconds, best, wall


def bench_savings(root: Path, n: int, epochs: int, epoch_s: float) -> list[Result]:
    from runyard.train.hyperdrive import BanditPolicy, NoTerminationPolicy

    if not CURVES.exists():
        record_curves()
    none_s, none_best, _ = _replay(root, "none", NoTerminationPolicy(), n, epochs, epoch_s)
    bandit = BanditPolicy(evaluation_interval=1, slack_factor=0.1, delay_evaluation=3)
    band_s, band_best, _ = _replay(root, "bandit", bandit, n, epochs, epoch_s)
    saved = 1 - band_s / none_s if none_s else 0.0
    gap = (none_best - band_best) / none_best if none_best else 0.0
    return [
        Result(
            "Bandit: trial-seconds saved vs no policy", 100 * saved, "%", ">= 25%", saved >= 0.25
        ),
        Result("Bandit: best final metric below no policy's", 100 * gap, "%", "<= 1%", gap <= 0.01),
    ]


# -- (c) rate: trials per minute ----------------------------------------------------------

TOY_TRIAL = """
import argparse, time
from runyard.core import Run
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
a = p.parse_args()
time.sleep(1.0)
Run.get_context().log("y", (a.x - 0.3) ** 2)
"""

OPTUNA_WORKER = """
import sys, time, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
def objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    time.sleep(1.0)
    return (x - 0.3) ** 2
study = optuna.load_study(study_name="bench", storage=sys.argv[1])
study.optimize(objective, n_trials=int(sys.argv[2]))
"""

RAY_TUNE = """
import json, sys, time
t0 = time.monotonic()
import ray
from ray import tune
ray.init(num_cpus=4, include_dashboard=False, _node_ip_address="127.0.0.1",
         log_to_driver=False, configure_logging=False)
t1 = time.monotonic()
def objective(config):
    time.sleep(1.0)
    return {"y": (config["x"] - 0.3) ** 2}
tuner = tune.Tuner(
    objective,
    param_space={"x": tune.uniform(0.0, 1.0)},
    tune_config=tune.TuneConfig(num_samples=int(sys.argv[1]), max_concurrent_trials=4,
                                metric="y", mode="min"),
    run_config=tune.RunConfig(storage_path=sys.argv[2], verbose=0),
)
results = tuner.fit()
t2 = time.monotonic()
ok = sum(1 for r in results if r.error is None)
ray.shutdown()
print(json.dumps({"total_s": t2 - t0, "fit_s": t2 - t1, "ok": ok}))
"""


def _rate_runyard(root: Path, n: int) -> tuple[float, int]:
    from runyard.train.hyperdrive import RandomParameterSampling, uniform

    ws = _workspace(root / "rate", slots=4)
    src = root / "rate" / "src"
    src.mkdir(parents=True)
    (src / "trial.py").write_text(TOY_TRIAL)
    t0 = time.monotonic()
    run = _sweep(
        ws,
        src,
        RandomParameterSampling({"--x": uniform(0.0, 1.0)}),
        "y",
        "min",
        max_total_runs=n,
        max_concurrent_runs=4,
    )
    run.wait_for_completion(timeout=900, raise_on_error=False)
    wall = time.monotonic() - t0
    done = sum(1 for r in run.get_children_sorted_by_primary_metric() if r["status"] == "Completed")
    ws.close()
    return wall, done


def _rate_optuna(root: Path, n: int) -> tuple[float, int, int] | str:
    try:
        import optuna
    except ImportError:
        return "optuna is not installed (pip install 'runyard[sweeps]')"
    db = root / "optuna.db"
    storage = f"sqlite:///{db}"
    optuna.create_study(study_name="bench", storage=storage, direction="minimize")
    script = root / "optuna_worker.py"
    script.write_text(OPTUNA_WORKER)
    per = [n // 4 + (1 if i < n % 4 else 0) for i in range(4)]
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), storage, str(k)], stderr=subprocess.PIPE, text=True
        )
        for k in per
    ]
    errs = [p.communicate()[1] for p in procs]
    wall = time.monotonic() - t0
    study = optuna.load_study(study_name="bench", storage=storage)
    done = sum(1 for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)
    locked = sum(len(LOCKED.findall(e)) for e in errs)
    return wall, done, locked


def _rate_ray(root: Path, n: int) -> dict[str, Any] | str:
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        return "ray[tune] is not installed (pip install 'ray[tune]')"
    script = root / "ray_tune.py"
    script.write_text(RAY_TUNE)
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
        # else ray.init() saves ~/.ray/auth_token, which turns token auth on for every
        # Ray head started later on this machine (the test fixtures' included)
        "RAY_AUTH_MODE": "disabled",
    }
    done = subprocess.run(
        [sys.executable, str(script), str(n), str(root / "ray-results")],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return f"Ray Tune failed ({done.returncode}): {done.stderr[-500:]}"
    return dict(json.loads(lines[-1]))


def bench_rate(root: Path, n: int, with_ray: bool) -> list[Result]:
    results = []
    wall, done = _rate_runyard(root, n)
    ours = 60 * done / wall
    results.append(
        Result(
            f"Runyard sweep, {n} x 1 s trials, 4 at a time", ours, "trials/min", "report", done == n
        )
    )
    opt = _rate_optuna(root, n)
    if isinstance(opt, str):
        print("rate: Optuna:", opt)
    else:
        owall, odone, locked = opt
        results.append(
            Result(
                f"Optuna RDB/SQLite, 4 processes ({locked} 'locked')",
                60 * odone / owall,
                "trials/min",
                "peer",
                odone == n,
            )
        )
    if with_ray:
        ray = _rate_ray(root, n)
        if isinstance(ray, str):
            print("rate: Ray Tune:", ray)
        else:
            results.append(
                Result(
                    "Ray Tune, with ray.init",
                    60 * ray["ok"] / ray["total_s"],
                    "trials/min",
                    "peer",
                    ray["ok"] == n,
                )
            )
            results.append(
                Result(
                    "Ray Tune, fit only",
                    60 * ray["ok"] / ray["fit_s"],
                    "trials/min",
                    "peer",
                    ray["ok"] == n,
                )
            )
    else:
        print("rate: Ray Tune skipped (--small without --ray, or --no-ray)")
    return results


# -- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sweeps_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--small", action="store_true", help="the smoke test's sizes")
    parser.add_argument("--only", default="latency,savings,rate", help="comma-separated parts")
    parser.add_argument("--ray", action="store_true", help="run Ray Tune in --small too")
    parser.add_argument("--no-ray", action="store_true", help="skip Ray Tune")
    parser.add_argument("--record", action="store_true", help="record sweeps_curves.json and exit")
    args = parser.parse_args(argv)
    if args.record:
        record_curves()
        return 0
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="sweeps-bench-") as tmp:
        root = Path(tmp)
        if "latency" in parts:
            (root / "a").mkdir()
            results += bench_latency(root / "a", losers=1 if args.small else 6)
        if "savings" in parts:
            (root / "b").mkdir()
            if args.small:
                results += bench_savings(root / "b", n=4, epochs=5, epoch_s=0.3)
            else:
                results += bench_savings(root / "b", n=16, epochs=20, epoch_s=0.5)
        if "rate" in parts:
            (root / "c").mkdir()
            with_ray = (args.ray or not args.small) and not args.no_ray
            results += bench_rate(root / "c", n=4 if args.small else 24, with_ray=with_ray)
    print()
    print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
