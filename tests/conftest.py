"""Shared fixtures: quiet TensorFlow, seeded Keras, and the path to ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# TensorFlow's start-up lines (e.g. "oneDNN custom operations are on", printed before absl's
# logging starts, whatever TF_CPP_MIN_LOG_LEVEL says) kept off the test run's console, as the
# kerasdoc command keeps them off its own
from kerasdoc.tfstartup import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KERASDOC_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (or $KERASDOC_SHARED_DATA); skips the test where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set KERASDOC_SHARED_DATA)")
    return SHARED_DATA


# The default run's longest tests (tens of seconds each: the notebooks, the end-to-end runs
# that train, model batteries and fresh-process checks; `--durations=0` on two cores). Under
# xdist (`python -m pytest -n 2`) they are started first, so the two workers end on short
# tests instead of one waiting for the other's last long test. A plain run keeps file order.
HEAVY_FIRST = (
    "tests/test_notebooks.py::test_notebook_executes_in_quick_mode",
    "tests/test_reliability_models.py::test_every_shipped_model_loads_in_every_command",
    "tests/test_resume_exact.py::test_killed_after_any_epoch_resumes_to_the_uninterrupted",
    "tests/test_invoice_experiment.py::test_exported_model_serves_what_training_saw",
    "tests/test_models.py::test_model_battery",
    "tests/test_readme.py::test_python_snippet_runs",
    "tests/test_console.py::test_commands_print_no_tensorflow_startup_lines",
    "tests/test_gpu_check.py::test_cpu_mode_runs_the_steps_and_reports",
    "tests/test_invoice_models.py::test_invoice_resnet_learns_a_trivial_split",
    "tests/test_resilient.py::test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run",
    "tests/test_generators_benchmark.py::test_benchmark_script_runs_on_a_few_pages",
    "tests/test_distribute.py::test_two_worker_multiworker_mirrored_on_localhost",
)


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return

    def rank(item) -> int:
        return next((i for i, p in enumerate(HEAVY_FIRST) if item.nodeid.startswith(p)),
                    len(HEAVY_FIRST))

    items.sort(key=rank)  # stable: the rest keeps its order
