"""The runner: supervises one submitted run, from snapshot to final status.

One :class:`~runyard.runner.supervisor.Supervisor`, handed its parts
(:mod:`runyard.runner.parts`) by :mod:`runyard.runner.local` or
:mod:`runyard.runner.remote`. Started as ``python -m runyard.runner RUN_ID
--workspace-config PATH`` by :class:`runyard.runner.launch.LocalRunnerStarter` (through
:func:`runyard.runner.slots.fill_slots`), or as a Ray job's entrypoint. This package
deliberately imports nothing here: the runner's start-up time is the run's start-up time.
"""
