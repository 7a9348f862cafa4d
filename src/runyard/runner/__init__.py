"""The runner: supervises one submitted run, from snapshot to final status.

Started as ``python -m runyard.runner RUN_ID --workspace-config PATH`` by
:func:`runyard.runner.launch.claim_and_launch`. This package deliberately imports
nothing here: the runner's start-up time is the run's start-up time.
"""
