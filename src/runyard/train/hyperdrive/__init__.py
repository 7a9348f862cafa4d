"""``azureml.train.hyperdrive`` for Runyard: hyperparameter sweeps.

A sweep is a run whose children are the trials: ordinary submitted runs of
``run_config`` with sampled arguments, on its compute target, driven by one controller
process that resumes after a crash (docs/sweeps.md)::

    ps = RandomParameterSampling({"--lr": uniform(0.001, 0.1), "--batch-size": choice(16, 32)})
    hd = HyperDriveConfig(run_config=src, hyperparameter_sampling=ps,
                          policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1),
                          primary_metric_name="val_acc",
                          primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                          max_total_runs=40, max_concurrent_runs=4)
    hd_run = experiment.submit(hd)
    hd_run.wait_for_completion(show_output=True)
    best = hd_run.get_best_run_by_primary_metric()
"""

from runyard.train.hyperdrive.parameter_expressions import (
    choice,
    lognormal,
    loguniform,
    normal,
    qlognormal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)
from runyard.train.hyperdrive.policy import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    OptunaPrunerPolicy,
    TruncationSelectionPolicy,
)
from runyard.train.hyperdrive.run import HyperDriveRun
from runyard.train.hyperdrive.runconfig import HyperDriveConfig, PrimaryMetricGoal
from runyard.train.hyperdrive.sampling import (
    BayesianParameterSampling,
    GridParameterSampling,
    HyperParameterSampling,
    RandomParameterSampling,
)

__all__ = [
    "BanditPolicy",
    "BayesianParameterSampling",
    "EarlyTerminationPolicy",
    "GridParameterSampling",
    "HyperDriveConfig",
    "HyperDriveRun",
    "HyperParameterSampling",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "OptunaPrunerPolicy",
    "PrimaryMetricGoal",
    "RandomParameterSampling",
    "TruncationSelectionPolicy",
    "choice",
    "lognormal",
    "loguniform",
    "normal",
    "qlognormal",
    "qloguniform",
    "qnormal",
    "quniform",
    "randint",
    "uniform",
]
