"""The stacked RVL-CDIP pipeline served as one SavedModel: parity with the training pipeline."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.card import write_card
from kerasdoc.export import Predictor, export_for_serving, read_export_metadata
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.models import get_model
from kerasdoc.models.rvl import MEMBERS, region_model
from kerasdoc.stacking import (
    StackedPipeline,
    fit_stacker,
    member_probabilities,
    prediction_flow,
    read_pipeline,
    write_pipeline,
)
from kerasdoc.training.resilient import atomic_save_model

CLASSES = ["letter", "form", "email"]


def _pages(folder, n=6):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        h, w = (int(rng.integers(150, 260)), int(rng.integers(110, 200)))
        page = np.full((h, w), 235, np.uint8)
        page[rng.integers(0, h // 2):, : w // 3] = 40 * (i % 3)  # left / bottom differ by page
        page[: h // 4, rng.integers(0, w // 2):] = 120
        p = folder / f"page{i}.jpg"
        cv2.imwrite(str(p), page)
        paths.append(str(p))
    return paths


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory):
    """5 tiny members (holistic + 4 regions by L2 transfer, perturbed so they differ) with
    their cards and a stacker: a pipeline.json as the experiment writes it."""
    root = tmp_path_factory.mktemp("rvl_pipeline")
    keras.utils.set_random_seed(1)
    holistic = get_model("rvl_small_resnet", num_classes=3, widths=(4, 4, 4, 4),
                         head_units=(8, 8))
    files = {}
    rng = np.random.default_rng(3)
    for member in MEMBERS:
        if member == "holistic":
            model, spec = holistic, ImageSpec((40, 32), "rgb")
        else:
            model = region_model(holistic, member)
            w = model.get_layer("logits").get_weights()
            model.get_layer("logits").set_weights([w[0] + rng.normal(0, 0.5, w[0].shape),
                                                   w[1]])
            spec = ImageSpec((24, 24), "rgb", crop=member)
        f = root / member / "model.keras"
        atomic_save_model(model, f)
        write_card(f, CLASSES, spec, model="rvl_small_resnet", stage=member)
        files[member] = f
    x = rng.dirichlet(np.ones(3), size=(12, len(MEMBERS))).astype("float32")
    stacker = fit_stacker(x, np.arange(12) % 3, epochs=2, units=8, seed=0)
    atomic_save_model(stacker, root / "stack" / "model.keras")
    write_pipeline(root / "pipeline.json", files, root / "stack" / "model.keras", CLASSES,
                   meta_fit="test")
    return root


@pytest.fixture(scope="module")
def exported(pipeline_dir, tmp_path_factory):
    """The pipeline exported from the command line: `kerasdoc export RUN_FOLDER` (its
    pipeline.json) -> kerasdoc.runs.export_model_file -> kerasdoc.stacking.export_pipeline."""
    from kerasdoc import cli

    base = tmp_path_factory.mktemp("saved")
    assert cli.main(["export", str(pipeline_dir), "--name", "rvl_stack", "--base-dir",
                     str(base), "--top-k", "2"]) == 0
    return base / "rvl_stack" / "1"


def test_cli_export_of_a_pipeline_never_overwrites_and_predicts_like_it(
        pipeline_dir, pipe, exported, tmp_path, capsys):
    """`kerasdoc export pipeline.json` refuses an existing version (the folder is untouched);
    `kerasdoc predict` on the export answers as the pipeline does; a pipeline mixed with .keras
    files is refused."""
    from kerasdoc import cli

    pb = exported / "saved_model.pb"
    stamp = pb.stat().st_mtime_ns
    base = str(exported.parent.parent)
    capsys.readouterr()
    assert cli.main(["export", str(pipeline_dir / "pipeline.json"), "--name", "rvl_stack",
                     "--base-dir", base, "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert pb.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in exported.parent.iterdir()) == ["1"]
    assert cli.main(["export", str(pipeline_dir), str(pipeline_dir / "top" / "model.keras"),
                     "--name", "mixed", "--base-dir", base]) == 2
    assert "not both" in capsys.readouterr().err
    paths = _pages(tmp_path, 4)
    ref = pipe.predict_files(paths)
    assert cli.main(["predict", str(exported), *paths]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [r[0] for r in rows] == paths
    assert [r[1] for r in rows] == [CLASSES[i] for i in ref["probabilities"].argmax(-1)]
    np.testing.assert_allclose([float(r[2]) for r in rows], ref["probabilities"].max(-1),
                               atol=1e-5)


def test_pipeline_file_round_trip(pipeline_dir, pipe):
    data = read_pipeline(pipeline_dir)
    assert list(data["members"]) == list(MEMBERS)
    assert data["class_names"] == CLASSES and data["meta_fit"] == "test"
    raw = json.loads((pipeline_dir / "pipeline.json").read_text())
    assert raw["members"]["top"] == "top/model.keras"  # relative: the run folder can move
    assert [s.crop for s in pipe.specs] == [None, "top", "bottom", "left", "right"]


def test_read_pipeline_names_missing_files(tmp_path, pipeline_dir):
    with pytest.raises(FileNotFoundError, match="pipeline.json"):
        read_pipeline(tmp_path)
    bad = tmp_path / "pipeline.json"
    bad.write_text(json.dumps({"members": {"holistic": "nope.keras"},
                               "stacker": str(pipeline_dir / "stack" / "model.keras"),
                               "class_names": CLASSES}))
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        read_pipeline(bad)


@pytest.fixture(scope="module")
def pipe(pipeline_dir):
    return StackedPipeline(pipeline_dir)


def test_serving_equals_training_pipeline(pipe, exported, tmp_path):
    """serving_default on raw page files == each trained member on its own training-pipeline
    flow's batches (its crop and size), and the meta-MLP on those; one SavedModel."""
    paths = _pages(tmp_path)
    members = []
    for model, spec, name in zip(pipe.models, pipe.specs, pipe.names):
        batches = [np.asarray(b) for b in prediction_flow(paths, spec, batch_size=4).dataset]
        assert sum(len(b) for b in batches) == len(paths), name
        assert tuple(batches[0].shape[1:]) == spec.input_shape, name
        members.append(np.concatenate([model(b, training=False).numpy() for b in batches]))
    members = np.stack(members, axis=1)
    stack = pipe.stacker(members[..., None], training=False).numpy()
    loaded = tf.saved_model.load(str(exported))
    out = loaded.signatures["serving_default"](
        images=tf.constant([open(p, "rb").read() for p in paths]))
    np.testing.assert_allclose(out["member_probabilities"].numpy(), members, atol=2e-5)
    np.testing.assert_allclose(out["probabilities"].numpy(), stack, atol=2e-5)
    assert out["class_names"].numpy().tolist() == [CLASSES[i].encode()
                                                   for i in stack.argmax(-1)]
    assert out["top_k_class_ids"].shape == (len(paths), 2)
    # the members really differ, so the parity covers each crop
    assert min(np.abs(members[:, 0] - members[:, i]).max() for i in range(1, 5)) > 1e-3
    meta = read_export_metadata(exported)
    assert meta["stacker"] == "stacking_mlp"
    assert [s["crop"] for s in meta["image_spec"]] == [None, "top", "bottom", "left", "right"]


def test_member_probabilities_checks_specs(pipe):
    with pytest.raises(ValueError, match="2 specs for 5 members"):
        member_probabilities(pipe.models, pipe.specs[:2], ["x.jpg"])


@pytest.mark.slow
def test_predictor_and_pipeline_predict_agree(pipe, exported, tmp_path):
    paths = _pages(tmp_path, 3)
    ref = pipe.predict_files(paths)
    assert ref["member_probabilities"].shape == (3, 5, 3)
    rows = Predictor(exported.parent).predict([open(p, "rb").read() for p in paths])
    np.testing.assert_allclose([r["probabilities"] for r in rows], ref["probabilities"],
                               atol=2e-5)


def test_export_refuses_a_stacker_of_the_wrong_size(tmp_path):
    members = [get_model("digits_dnn", input_shape=(8, 8, 1), num_classes=3) for _ in range(2)]
    stacker = get_model("stacking_mlp", input_shape=(3, 3, 1), num_classes=3, units=4)
    with pytest.raises(ValueError, match="2 x 3 member probabilities"):
        export_for_serving(members, "bad", tmp_path, stacker=stacker)
    ok = get_model("stacking_mlp", input_shape=(2, 3, 1), num_classes=3, units=4)
    with pytest.raises(ValueError, match="ensemble_weights or a stacker"):
        export_for_serving(members, "bad", tmp_path, stacker=ok, ensemble_weights=[1, 1])


@pytest.mark.slow
def test_saved_model_cli_shows_the_named_outputs(exported):
    cli = subprocess.run([sys.executable, "-m", "tensorflow.python.tools.saved_model_cli",
                          "show", "--dir", str(exported), "--tag_set", "serve",
                          "--signature_def", "serving_default"],
                         capture_output=True, text=True, check=True)
    for name in ("probabilities", "class_ids", "class_names", "member_probabilities",
                 "top_k_class_names"):
        assert f"outputs['{name}']" in cli.stdout
