"""`kerasdoc train / evaluate / export / predict` end to end on a generated image folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdoc.cli import main

REPO = Path(__file__).resolve().parents[1]


def _make_folder(root: Path, per_class: int, seed: int = 0) -> Path:
    """Two classes told apart by brightness: dark / bright noisy 24x20 grayscale PNGs."""
    rng = np.random.RandomState(seed)
    for cls, base in (("bright", 200), ("dark", 50)):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            arr = np.clip(rng.normal(base, 25, (24, 20)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / cls / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    _make_folder(root / "train", 16)
    _make_folder(root / "val", 4, seed=1)
    out = root / "run"
    rc = main(["train", "digits_dnn", "--data", str(root / "train"), "--val", str(root / "val"),
               "--epochs", "3", "--batch-size", "8", "--image-size", "12", "12",
               "--learning-rate", "0.01", "--out", str(out), "--quiet"])
    assert rc == 0
    return root, out


def test_train_writes_model_card_history_and_tensorboard_logs(trained):
    root, out = trained
    assert (out / "model.keras").is_file() and not (out / "backup").exists()
    assert not (out / "checkpoint.keras").exists()
    card = json.loads((out / "model.kerasdoc.json").read_text())
    assert card["class_names"] == ["bright", "dark"]
    assert card["image_spec"]["image_size"] == [12, 12]
    assert card["image_spec"]["color_mode"] == "grayscale"
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 3 and len(history["val_accuracy"]) == 3
    events = list((out / "logs" / "train").glob("events.out.tfevents.*"))
    assert events
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(str(events[0]))
            for v in e.summary.value}
    assert {"epoch_loss", "epoch_accuracy"} <= tags
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    assert model.input_shape == (None, 12, 12, 1) and model.output_shape == (None, 2)


def test_train_refuses_to_overwrite_a_finished_run(trained, capsys):
    root, out = trained
    rc = main(["train", "digits_dnn", "--data", str(root / "train"), "--image-size", "12", "12",
               "--epochs", "1", "--out", str(out)])
    assert rc == 2
    assert "model.keras exists from a finished run; pass --overwrite" in capsys.readouterr().err


def test_evaluate_prints_accuracy_and_writes_results(trained, capsys):
    root, out = trained
    rc = main(["evaluate", str(out / "model.keras"), "--data", str(root / "val"),
               "--out", str(root / "eval")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "8 images, accuracy" in text and "| bright | 4 |" in text
    res = json.loads((root / "eval" / "results.json").read_text())
    model = keras.saving.load_model(out / "model.keras")
    from kerasdoc.generators import ImageDataGenerator
    from kerasdoc.generators.spec import ImageSpec

    flow = ImageDataGenerator().flow_from_directory(
        root / "val", spec=ImageSpec((12, 12), "grayscale"), class_mode="sparse", shuffle=False)
    want = float((model.predict(flow, verbose=0).argmax(-1) == flow.classes).mean())
    assert res["accuracy"] == pytest.approx(want)
    assert np.sum(res["confusion_matrix"]) == 8 and (root / "eval" / "confusion.png").is_file()


def test_export_then_predict_locally_both_ways(trained, capsys):
    root, out = trained
    assert main(["export", str(out / "model.keras"), "--name", "bright",
                 "--base-dir", str(root / "sm"), "--top-k", "2"]) == 0
    assert capsys.readouterr().out.strip() == str(root / "sm" / "bright" / "1")
    assert main(["export", str(out / "model.keras"), "--name", "bright",
                 "--base-dir", str(root / "sm"), "--version", "1"]) == 2
    assert "already exists; versions are never overwritten" in capsys.readouterr().err
    imgs = [str(root / "val" / "dark" / "0.png"), str(root / "val" / "bright" / "1.png")]
    assert main(["predict", str(root / "sm" / "bright"), *imgs]) == 0
    saved = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert main(["predict", str(out / "model.keras"), *imgs]) == 0
    local = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [r[:2] for r in saved] == [r[:2] for r in local]
    assert [r[0] for r in saved] == imgs
    np.testing.assert_allclose([float(r[2]) for r in saved], [float(r[2]) for r in local],
                               atol=1e-5)
    model = keras.saving.load_model(out / "model.keras")
    from kerasdoc.generators import ImageDataGenerator
    from kerasdoc.generators.spec import ImageSpec

    flow = ImageDataGenerator().flow_from_directory(
        root / "val", spec=ImageSpec((12, 12), "grayscale"), class_mode=None, shuffle=False)
    probs = model.predict(flow, verbose=0)
    names = ["bright", "dark"]
    for path, cls, prob in saved:
        i = flow.filepaths.index(os.path.abspath(path))
        assert cls == names[int(probs[i].argmax())]
        assert float(prob) == pytest.approx(float(probs[i].max()), abs=1e-5)


def test_predict_reports_bad_files_without_crashing(trained, tmp_path, capsys):
    root, out = trained
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "fake.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 50)  # JPEG magic, no image
    good = str(root / "val" / "dark" / "0.png")
    rc = main(["predict", str(out / "model.keras"), good, str(tmp_path / "notes.txt"),
               str(tmp_path / "missing.png")])
    captured = capsys.readouterr()
    assert rc == 1 and captured.out.startswith(good + "\t")
    assert "notes.txt is not an image: expected JPEG, PNG, BMP or GIF" in captured.err
    assert "missing.png does not exist" in captured.err
    rc = main(["predict", str(out / "model.keras"), str(tmp_path / "fake.jpg")])
    assert rc == 2 and "fake.jpg" in capsys.readouterr().err
    rc = main(["predict", str(tmp_path), good])
    assert rc == 2 and "not a SavedModel folder" in capsys.readouterr().err


def _png_with_bad_idat(src, dst):
    """A PNG whose header and trailer are fine but whose compressed pixel data is corrupt."""
    data = bytearray(open(src, "rb").read())
    i = data.index(b"IDAT") + 4
    data[i:i + 8] = b"\x00\xff" * 4
    open(dst, "wb").write(bytes(data))


def test_predict_one_undecodable_file_costs_only_its_own_row(trained, tmp_path, capsys):
    root, out = trained
    good = [str(root / "val" / "dark" / "0.png"), str(root / "val" / "bright" / "0.png")]
    bad = tmp_path / "bad_idat.png"
    _png_with_bad_idat(good[0], bad)
    for target in (out / "model.keras", root / "sm" / "bright"):
        if not target.exists():
            continue
        rc = main(["predict", str(target), good[0], str(bad), good[1], "--batch-size", "8"])
        captured = capsys.readouterr()
        rows = [line.split("\t")[0] for line in captured.out.splitlines()]
        assert rc == 1 and rows == good, captured
        assert f"cannot classify {bad}" in captured.err


@pytest.mark.parametrize("resize_mode,crop", [("stretch", None), ("pad", None),
                                              ("crop", None), ("stretch", "top")])
def test_train_export_serving_equals_training_pipeline(tmp_path, resize_mode, crop):
    """`kerasdoc train --resize-mode/--crop` then `kerasdoc export`: serving_default on the raw
    files gives what the trained model gives on the training pipeline's own batches."""
    from kerasdoc.generators import ImageDataGenerator
    from kerasdoc.generators.spec import ImageSpec

    data = _make_folder(tmp_path / "data", 6)
    out, sm = tmp_path / "run", tmp_path / "sm"
    argv = ["train", "digits_dnn", "--data", str(data), "--image-size", "12", "10", "--epochs",
            "1", "--resize-mode", resize_mode, "--out", str(out), "--quiet"]
    assert main(argv + (["--crop", crop] if crop else [])) == 0
    assert main(["export", str(out / "model.keras"), "--name", "m", "--base-dir", str(sm)]) == 0
    spec = ImageSpec((12, 10), "grayscale", crop=crop, resize_mode=resize_mode)
    card = json.loads((out / "model.kerasdoc.json").read_text())
    assert ImageSpec.from_config(card["image_spec"]) == spec
    flow = ImageDataGenerator().flow_from_directory(data, spec=spec, shuffle=False, batch_size=5)
    want = keras.saving.load_model(out / "model.keras").predict(flow, verbose=0)
    served = tf.saved_model.load(str(sm / "m" / "1")).signatures["serving_default"]
    got = served(images=tf.stack([tf.io.read_file(p) for p in flow.filepaths]))
    np.testing.assert_allclose(got["probabilities"].numpy(), want, atol=2e-5)


def test_train_and_evaluate_bad_arguments(tmp_path, capsys):
    rc = main(["train", "digits_dnn", "--data", str(tmp_path / "nope"), "--out",
               str(tmp_path / "r"), "--image-size", "8", "8"])
    assert rc == 2 and "nope" in capsys.readouterr().err
    rc = main(["train", "no_such_model", "--data", str(tmp_path)])
    assert rc == 2 and "Unknown model 'no_such_model'" in capsys.readouterr().err
    rc = main(["evaluate", str(tmp_path / "m.keras"), "--data", str(tmp_path)])
    assert rc == 2 and "m.keras does not exist" in capsys.readouterr().err


def test_mixed_precision_training_keeps_float32_outputs(trained, tmp_path):
    root, _ = trained
    rc = main(["train", "digits_dnn", "--data", str(root / "train"), "--epochs", "1",
               "--batch-size", "8", "--image-size", "12", "12", "--mixed-precision",
               "--out", str(tmp_path / "mp"), "--quiet"])
    assert rc == 0
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    card = json.loads((tmp_path / "mp" / "model.kerasdoc.json").read_text())
    assert card["run"]["policy"] == "mixed_bfloat16"  # no GPU on the test machines
    model = keras.saving.load_model(tmp_path / "mp" / "model.keras")
    assert any(layer.compute_dtype == "bfloat16" for layer in model.layers)
    assert model(np.zeros((1, 12, 12, 1), np.float32)).dtype == "float32"
    assert main(["export", str(tmp_path / "mp" / "model.keras"), "--name", "mp",
                 "--base-dir", str(tmp_path / "sm")]) == 0
    sig = tf.saved_model.load(str(tmp_path / "sm" / "mp" / "1")).signatures["serving_default"]
    assert sig.structured_outputs["probabilities"].dtype == tf.float32


@pytest.mark.slow
def test_rerunning_train_after_sigkill_resumes(tmp_path):
    _make_folder(tmp_path / "train", 100)
    cmd = [sys.executable, "-m", "kerasdoc", "train", "digits_dnn", "--data",
           str(tmp_path / "train"), "--epochs", "6", "--batch-size", "4", "--image-size", "12",
           "12", "--out", str(tmp_path / "run"), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    meta = tmp_path / "run" / "backup" / "training_metadata.json"
    deadline = time.time() + 240
    while not (meta.exists() and json.loads(meta.read_text())["epoch"] >= 1):
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(meta.read_text())["epoch"]
    assert 1 <= done < 6 and not (tmp_path / "run" / "model.keras").exists()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"resumed after epoch {done}" in res.stdout
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["loss"]) == 6


def test_predict_names_the_pixel_limit_for_a_decompression_bomb(trained, tmp_path, capsys):
    """A small PNG declaring 20000 x 20000 pixels: its own row fails with the right reason."""
    from PIL import Image

    root, out = trained
    good = str(root / "val" / "dark" / "0.png")
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)
    for target in (out / "model.keras", root / "sm" / "bright"):
        if not target.exists():
            continue
        rc = main(["predict", str(target), str(bomb), good])
        captured = capsys.readouterr()
        assert rc == 1 and [ln.split("\t")[0] for ln in captured.out.splitlines()] == [good]
        assert str(bomb) in captured.err and "pixels" in captured.err, captured.err
