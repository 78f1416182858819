"""`kerasdoc robust classify|export`: the robustness pipeline from the command line, tiny models."""

from __future__ import annotations

import csv

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc import cli
from kerasdoc import robustness as R
from kerasdoc.card import write_card
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.training.resilient import atomic_save_model

CLASSES = list("abcdefghij")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A robustness results folder as the experiment lays it out (models/<role>/model.keras +
    model cards): a classifier, a detector flagging images brighter than 0.2 on average, and a
    denoiser that returns black images (so a flagged image visibly changes)."""
    root = tmp_path_factory.mktemp("robust_run")
    inp = keras.Input((28, 28, 1), name="image")
    clf = keras.Model(inp, keras.layers.Dense(
        10, activation="softmax", name="predictions",
        kernel_initializer=keras.initializers.RandomNormal(seed=1))(
            keras.layers.Flatten(name="flatten")(inp)), name="clf")
    d_in = keras.Input((28, 28, 1), name="image")
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    det = keras.Model(d_in, dense(keras.layers.GlobalAveragePooling2D(name="gap")(d_in)),
                      name="det")
    dense.set_weights([np.array([[-50.0, 50.0]]), np.array([10.0, -10.0])])
    n_in = keras.Input((28, 28, 1), name="image")
    den = keras.Model(n_in, keras.layers.Rescaling(0.0, name="black")(n_in), name="den")
    spec = ImageSpec((28, 28), "grayscale", rescale=1 / 255)
    for role, model, names in (("cnn", clf, CLASSES), ("detector", det, ["clean", "distorted"]),
                               ("denoiser", den, ["reconstruction"])):
        f = root / "models" / role / "model.keras"
        atomic_save_model(model, f)
        write_card(f, names, spec, model=role, paper="robustness")
    return root


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    dark = np.zeros((28, 28), np.uint8)
    dark[5:9, 5:9] = 255
    cv2.imwrite(str(folder / "a.png"), dark)
    cv2.imwrite(str(folder / "b.png"), np.full((20, 20), 128, np.uint8))  # resized by the spec
    (folder / "sub").mkdir()
    cv2.imwrite(str(folder / "sub" / "c.png"), np.full((28, 28), 200, np.uint8))
    return folder


def test_classify_prints_the_pipeline_rows_and_writes_csv(run_dir, images, tmp_path, capsys):
    out = tmp_path / "rows.csv"
    assert cli.main(["robust", "classify", str(images), "--run", str(run_dir),
                     "--out", str(out)]) == 0
    std = capsys.readouterr()
    rows = [line.split("\t") for line in std.out.strip().splitlines()]
    assert [r[0] for r in rows] == [str(images / n) for n in ("a.png", "b.png", "sub/c.png")]
    assert [r[2] for r in rows] == ["clean", "denoised", "denoised"]
    api = R.classify_folder(images, str(run_dir / "models" / "cnn" / "model.keras"),
                            str(run_dir / "models" / "detector" / "model.keras"),
                            str(run_dir / "models" / "denoiser" / "model.keras"))
    assert [r[1] for r in rows] == [a["class_name"] for a in api]
    assert [r[4] for r in rows] == [CLASSES[a["class_id_before"]] for a in api]
    assert all(r[1] in CLASSES for r in rows)
    assert "3 images, 2 flagged" in std.err
    with open(out, newline="") as f:
        table = list(csv.DictReader(f))
    assert [t["flagged"] for t in table] == ["False", "True", "True"]
    assert [t["class_name"] for t in table] == [r[1] for r in rows]


def test_explicit_files_threshold_and_errors(run_dir, images, capsys):
    models = run_dir / "models"
    assert cli.main(["robust", "classify", str(images), "--classifier",
                     str(models / "cnn" / "model.keras"), "--detector",
                     str(models / "detector" / "model.keras"), "--denoiser",
                     str(models / "denoiser" / "model.keras"), "--threshold", "1.01"]) == 0
    assert [line.split("\t")[2] for line in capsys.readouterr().out.strip().splitlines()] == \
        ["clean"] * 3
    assert cli.main(["robust", "classify", str(images)]) == 2
    assert "--run DIR" in capsys.readouterr().err
    assert cli.main(["robust", "classify", str(images), "--run", str(run_dir),
                     "--classifier", "vit"]) == 2
    assert "models/vit/model.keras does not exist" in capsys.readouterr().err
    assert cli.main(["robust", "classify", str(run_dir / "nothing"), "--run",
                     str(run_dir)]) == 2
    assert "no image files" in capsys.readouterr().err


def test_export_serves_bytes_like_classify_and_never_overwrites(run_dir, images, tmp_path,
                                                                capsys):
    base = tmp_path / "saved"
    assert cli.main(["robust", "export", "--run", str(run_dir), "--name", "robust",
                     "--base-dir", str(base)]) == 0
    path = base / "robust" / "1"
    assert capsys.readouterr().out.strip() == str(path)
    files = sorted(p for p in images.rglob("*.png"))
    served = tf.saved_model.load(str(path)).signatures["serving_default"](
        images=tf.constant([p.read_bytes() for p in files]))
    assert served["flagged"].numpy().tolist() == [False, True, True]
    assert [c.decode() for c in served["class_names"].numpy()] == \
        [r["class_name"] for r in R.classify_folder(
            images, *(str(run_dir / "models" / m / "model.keras")
                      for m in ("cnn", "detector", "denoiser")), class_names=CLASSES)]
    assert cli.main(["robust", "export", "--run", str(run_dir), "--name", "robust",
                     "--base-dir", str(base), "--version", "1"]) == 2
    assert "never overwritten" in capsys.readouterr().err
    assert sorted(p.name for p in path.parent.iterdir()) == ["1"]  # no staging folder left
