"""``from azureml.telemetry import set_diagnostics_collection``: five public notebooks
open with it."""

from __future__ import annotations

from runyard.telemetry import get_diagnostics_collection_info, set_diagnostics_collection


def test_set_diagnostics_collection_is_accepted_and_recorded() -> None:
    set_diagnostics_collection(send_diagnostics=True)
    assert get_diagnostics_collection_info() == {"send_diagnostics": True}
    set_diagnostics_collection(reset=True)
    assert get_diagnostics_collection_info() == {"send_diagnostics": False}
