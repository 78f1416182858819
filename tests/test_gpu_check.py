"""``python -m benchmarks.gpu``: without a GPU it says so and runs the papers' models' steps at a
tiny size on the CPU, with mixed precision and XLA off and on (the GPU figures need a GPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_cases_cover_every_paper_at_its_input_size():
    from benchmarks.gpu import CASES, SETTINGS, build_kwargs

    assert {c.paper for c in CASES} == {"invoice", "rvl-cdip", "numeric-loss", "robustness",
                                        "persian-ocr"}
    sizes = {c.model: c.input_shape for c in CASES}
    assert sizes["invoice_resnet"] == (224, 224, 1) and sizes["resnet50"] == (299, 299, 3)
    assert sizes["holistic_inception_resnet_v2"] == (256, 256, 3)
    assert sizes["resnet34"] == (224, 224, 3) and sizes["digits_cnn"] == (28, 28, 1)
    assert set(SETTINGS) == {(False, False), (False, True), (True, False), (True, True)}
    digits = next(c for c in CASES if c.model == "digits_dnn")
    assert build_kwargs(digits, full=True) == {"input_shape": (28, 28, 1), "num_classes": 10}
    assert build_kwargs(digits, full=False)["num_classes"] == 10  # the numeric loss's digits


def test_cpu_mode_runs_the_steps_and_reports(tmp_path):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible: the check runs at full size (minutes)")
    out = tmp_path / "gpu.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", "--models", "digits_dnn",
         "--steps", "1", "--json", str(out)], cwd=REPO, capture_output=True, text=True,
        timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.startswith("No GPU or TPU is visible: running the same steps at a tiny "
                                  "size on the CPU")
    assert "| paper | model | input | global batch | precision | XLA | images/s" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [(r["model"], r["precision"], r["xla"]) for r in rows] == [
        (m, p, x) for m in ("digits_dnn",)
        for p, x in (("float32", False), ("float32", True), ("mixed", False), ("mixed", True))]
    for r in rows:
        assert r["error"] is None and r["images_per_s"] > 0, r
        assert r["loss_finite"] and r["outputs_float32"], r
        assert r["peak_memory_mib"] is None  # no device memory on the CPU
    assert {r["policy"] for r in rows} == {"float32", "mixed_bfloat16"}
