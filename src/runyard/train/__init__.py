"""The SDK-v1 ``azureml.train`` module paths; :mod:`runyard.train.hyperdrive` has the sweeps."""
