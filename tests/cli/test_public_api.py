"""Each package's public surface is what it says (like httpx's test of its __all__)."""

from __future__ import annotations

import importlib

import pytest

STAGE_FUNCTIONS = {
    "monitor": {"ingest_file", "ingest_rows"},
    "providers": {"resolve_pending", "refresh_prefix_table", "membership"},
    "schedules": {"run_job", "run_scheduler", "job_status", "list_jobs", "load_config"},
    "reports": {"render_scorecard", "write_quarterly_reports", "write_briefing"},
}


@pytest.mark.parametrize("package", sorted(STAGE_FUNCTIONS))
def test_all_names_exist_and_are_sorted(package):
    module = importlib.import_module(package)
    assert module.__doc__ and len(module.__doc__) > 80, (
        f"{package} needs a docstring saying what it is for"
    )
    assert list(module.__all__) == sorted(module.__all__)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing


@pytest.mark.parametrize("package, functions", sorted(STAGE_FUNCTIONS.items()))
def test_stage_functions_other_stages_call_are_public(package, functions):
    module = importlib.import_module(package)
    assert functions <= set(module.__all__)
    for name in functions:
        assert callable(getattr(module, name)) and getattr(module, name).__doc__
