"""Hyperparameter sweeps: a parent run whose trials are ordinary submitted child runs,
driven by one controller process (:mod:`runyard.sweeps.controller`).

- :mod:`~runyard.sweeps.space`: parameter expressions, random draws, grids.
- :mod:`~runyard.sweeps.samplers`, :mod:`~runyard.sweeps.bayes`: what trial ``i`` runs.
- :mod:`~runyard.sweeps.policies`, :mod:`~runyard.sweeps.termination`: which trials stop.
- :mod:`~runyard.sweeps.trials`: the sweep as the store has it (the only history).
- :mod:`~runyard.sweeps.launch`: starting, finding and resuming controllers.

The SDK-v1 names live in :mod:`runyard.train.hyperdrive`.
"""
