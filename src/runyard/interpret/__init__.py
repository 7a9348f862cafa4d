"""Model explanations kept with runs (the SDK's ``azureml.interpret``):
``ExplanationClient.from_run(run)`` uploads an explanation made by interpret-community's
explainers (``TabularExplainer``, ``MimicExplainer``, ``PFIExplainer`` ...) into the run's
files, lists a run's explanations and downloads them again, whole or their top ``k``
features. Needs ``interpret-community`` (``pip install 'runyard[interpret]'``), imported
only when an explanation is saved or loaded."""

from __future__ import annotations

from runyard.interpret.client import ExplanationClient

__all__ = ["ExplanationClient"]
