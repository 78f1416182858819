"""No TensorFlow start-up lines on the console, real errors still shown (kerasdoc.tfstartup).

The commands run in a subprocess with whatever TensorFlow wheel is installed; set
``KERASDOC_FULL_TF_PYTHON`` to an interpreter that has the full ``tensorflow`` wheel (whose
start-up prints the ``cuInit`` error line on machines without a GPU) to run them there too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kerasdoc.tfstartup import CUINIT, quiet_lines

REPO = Path(__file__).resolve().parents[1]
PYTHONS = [sys.executable] + [p for p in [os.environ.get("KERASDOC_FULL_TF_PYTHON")] if p]

#: What the full tensorflow 2.21 wheel printed here (no GPU), verbatim but for the times.
STARTUP = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796542519.849960   16780 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "I0000 00:00:1796542520.093035   16780 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.",
    "E0000 00:00:1796542529.214987   16780 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
]
REAL = "E0000 00:00:1796542529.300000   16780 some_kernel.cc:10] Something real went wrong"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def test_startup_lines_are_dropped_and_real_errors_kept():
    assert quiet_lines([*STARTUP, REAL, "Traceback (most recent call last):"], min_level=2,
                       gpu_device_files=False) == [REAL, "Traceback (most recent call last):"]
    # with NVIDIA device files a failing cuInit is a real error
    assert quiet_lines(STARTUP, min_level=2, gpu_device_files=True) == [STARTUP[-1]]
    warning = "W0000 00:00:1.5 7 loader.cc:3] a warning"
    assert quiet_lines([warning], min_level=0, gpu_device_files=False) == [warning]
    assert quiet_lines([warning], min_level=2, gpu_device_files=False) == []


def test_capture_is_at_the_file_descriptor_and_keeps_real_lines(tmp_path):
    """A stand-in ``tensorflow`` writing to fd 2 at import and at device listing, as the C++
    runtime does: only the real line comes through."""
    fake = tmp_path / "fake" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(textwrap.dedent(f"""
        import os
        os.write(2, {(chr(10).join(STARTUP[:4]) + chr(10)).encode()!r})

        class config:
            @staticmethod
            def list_physical_devices():
                os.write(2, {(STARTUP[4] + chr(10) + REAL + chr(10)).encode()!r})
                return []
        """))
    code = ("from kerasdoc.tfstartup import import_tensorflow_quietly\n"
            "import_tensorflow_quietly()\nprint('ok')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env=_env(PYTHONPATH=f"{tmp_path / 'fake'}{os.pathsep}{REPO}"))
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
    expected = [REAL] if not Path("/dev/nvidiactl").exists() else [STARTUP[4], REAL]
    assert proc.stderr.splitlines() == expected


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("console")
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (root / "data" / cls).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (12, 12), np.uint8)).save(
                root / "data" / cls / f"{i}.png")
    return root


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: "this" if p == sys.executable else "full")
def test_commands_print_no_tensorflow_startup_lines(python, image_folder):
    run = image_folder / f"run-{PYTHONS.index(python)}"
    proc = subprocess.run(
        [python, "-m", "kerasdoc", "train", "digits_dnn", "--data", str(image_folder / "data"),
         "--epochs", "1", "--batch-size", "4", "--image-size", "12", "12", "--out", str(run),
         "--quiet"], cwd=image_folder, capture_output=True, text=True, timeout=600, env=_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == "", proc.stderr  # not one line: no start-up noise, no warning
    assert CUINIT not in proc.stdout
    # a real error still reaches the console, alone
    proc = subprocess.run(
        [python, "-m", "kerasdoc", "evaluate", str(run / "missing.keras"), "--data",
         str(image_folder / "data")], cwd=image_folder, capture_output=True, text=True,
        timeout=600, env=_env())
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == [
        f"kerasdoc evaluate: Model file {run / 'missing.keras'} does not exist."], proc.stderr


def test_a_missing_tensorflow_is_one_line(tmp_path):
    # -S: no site-packages, so no TensorFlow (kerasdoc itself comes from PYTHONPATH)
    proc = subprocess.run([sys.executable, "-S", "-m", "kerasdoc", "train", "digits_dnn",
                           "--data", str(tmp_path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=_env())
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        'kerasdoc: TensorFlow is not installed; install it with pip install '
        '"kerasdoc[tensorflow]" (or "kerasdoc[cpu]" for tensorflow-cpu).'], proc.stderr
