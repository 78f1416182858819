"""RVL-CDIP models, stacking helpers and the rvl-cdip experiment (Das et al. 2018 / the blog)."""

from __future__ import annotations

import json
from unittest import mock

import keras
import numpy as np
import pytest

from kerasdoc.demo.pages import make_demo_pages
from kerasdoc.experiments import rvl_cdip
from kerasdoc.experiments._common import parse
from kerasdoc.models import get_model, model_spec
from kerasdoc.models.rvl import imagenet_spec, region_model
from kerasdoc.stacking import fit_stacker, kfold_indices, meta_split, stack_predict


def test_registry_facts():
    for name in ("holistic_inception_resnet_v2", "rvl_small_resnet", "stacking_mlp"):
        assert model_spec(name).paper == "rvl-cdip"
    assert model_spec("holistic_inception_resnet_v2").large
    assert model_spec("holistic_inception_resnet_v2").input_shape == (None, None, 3)
    assert model_spec("stacking_mlp").input_shape == (5, 16, 1)


def test_small_backbone_head_names_and_variable_input():
    m = get_model("rvl_small_resnet", num_classes=16)
    names = [la.name for la in m.layers]
    for n in ("head_pool", "head_dense1", "head_dropout1", "head_dense2", "head_dropout2",
              "logits", "predictions"):
        assert n in names
    x128 = np.zeros((1, 128, 128, 3), "float32")
    x256 = np.zeros((1, 64, 96, 3), "float32")
    assert m(x128).shape == (1, 16) and m(x256).shape == (1, 16)  # progressive resizing
    with pytest.raises(ValueError, match=r"\(height, width, 3\)"):
        get_model("rvl_small_resnet", input_shape=(64, 64, 1))


def test_region_model_is_an_l2_copy_of_the_holistic_model():
    h = get_model("rvl_small_resnet", num_classes=4, widths=(4, 4, 4, 4), head_units=(8, 8))
    r = region_model(h, "bottom")
    assert r.name == "rvl_small_resnet_bottom"
    assert r.transfer_report["skipped_shape"] == [] and r.transfer_report["missing_in_src"] == []
    x = np.random.default_rng(0).uniform(0, 1, (2, 40, 32, 3)).astype("float32")
    np.testing.assert_allclose(r(x, training=False), h(x, training=False), atol=1e-6)
    r.get_layer("logits").set_weights([w * 0 for w in r.get_layer("logits").get_weights()])
    assert not np.allclose(h.get_layer("logits").get_weights()[0], 0)  # a copy, not shared
    fixed = get_model("rvl_small_resnet", input_shape=(32, 32, 3), num_classes=4,
                      widths=(4, 4, 4, 4), head_units=(8, 8))
    assert region_model(fixed, "top", input_size=48).input_shape == (None, 48, 48, 3)


def test_imagenet_spec_is_keras_preprocess_input():
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype("float32")
    want = keras.applications.inception_resnet_v2.preprocess_input(x.copy())
    spec = imagenet_spec((5, 5), "left")
    np.testing.assert_allclose(spec.scale(x), want, atol=1e-6)
    assert spec.crop == "left" and spec.color_mode == "rgb"


def test_holistic_weights_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        get_model("holistic_inception_resnet_v2", weights=tmp_path / "nope.h5")


@pytest.mark.slow
def test_holistic_imagenet_weights_use_keras_loading_code(tmp_path):
    """weights="imagenet": Keras' own download function is called for the no-top file (mocked:
    no network here) and what it returns is loaded into the nested backbone."""
    src = keras.applications.InceptionResNetV2(include_top=False, weights=None,
                                               input_shape=(None, None, 3))
    fake = tmp_path / "inception_resnet_v2_notop.weights.h5"
    src.save_weights(fake)
    calls = []

    def get_file(fname, origin, **kwargs):
        calls.append((fname, origin, kwargs))
        return str(fake)

    target = "keras.src.applications.inception_resnet_v2.file_utils.get_file"
    with mock.patch(target, side_effect=get_file):
        m = get_model("holistic_inception_resnet_v2", weights="imagenet", num_classes=16)
    assert calls and calls[0][0].endswith("_notop.h5")
    assert "storage.googleapis.com" in calls[0][1]
    base = m.get_layer("inception_resnet_v2")
    for a, b in zip(base.get_weights()[:10], src.get_weights()[:10]):
        np.testing.assert_array_equal(a, b)
    assert m.output_shape == (None, 16)


@pytest.mark.slow
def test_holistic_battery(tmp_path):
    from kerasdoc.testing import run_model_battery

    run_model_battery("holistic_inception_resnet_v2", tmp_path)


def test_meta_split_and_folds_are_stratified_and_seeded():
    y = np.repeat(np.arange(4), 6)
    tr, te = meta_split(y, 0.5, seed=3)
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(24))
    assert np.bincount(y[te]).tolist() == [3, 3, 3, 3]
    assert np.array_equal(meta_split(y, 0.5, seed=3)[1], te)
    assert not np.array_equal(meta_split(y, 0.5, seed=4)[1], te)
    folds = kfold_indices(y, 3, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(24))
    assert all(np.bincount(y[f], minlength=4).tolist() == [2, 2, 2, 2] for f in folds)
    with pytest.raises(ValueError, match="folds must be >= 2"):
        kfold_indices(y, 1)


def test_stacker_learns_which_member_to_trust():
    """Member 0 is confidently wrong at random, member 1 is right but timid: the meta-MLP
    must learn to follow member 1, where the members' mean follows member 0."""
    rng = np.random.default_rng(0)
    n = 240
    y = np.arange(n) % 4
    x = np.full((n, 2, 4), 0.02, "float32")
    x[np.arange(n), 0, rng.integers(0, 4, n)] = 0.94
    x[:, 1] = 0.2
    x[np.arange(n), 1, y] = 0.4
    meta = fit_stacker(x[:120], y[:120], epochs=30, batch_size=16, units=32, lr=1e-2, seed=0,
                       jit_compile=False)
    assert meta.input_shape == (None, 2, 4, 1)
    acc = float((stack_predict(meta, x[120:]).argmax(-1) == y[120:]).mean())
    mean_acc = float((x[120:].mean(1).argmax(-1) == y[120:]).mean())
    assert acc > 0.95 and mean_acc < 0.5
    with pytest.raises(ValueError, match="members, classes"):
        fit_stacker(x[:, 0], y)


def test_paper_recipe_is_the_blogs_numbers():
    args = parse(rvl_cdip.build_parser(), ["--recipe", "paper"])
    assert (args.epochs, args.final_epochs, args.region_epochs, args.batch_size) == (30, 20, 5,
                                                                                      128)
    assert args.pages_per_class == 10_000
    assert (args.lr, args.momentum, args.nesterov) == (0.1, 0.0, False)
    assert (args.plateau_patience, args.plateau_factor) == (2, 0.1)
    assert (args.image_size, args.final_size, args.region_size) == (128, 256, 256)
    assert (args.region_lr, args.meta_epochs) == (1e-4, 20)
    assert args.backbone == "holistic_inception_resnet_v2"
    assert rvl_cdip._weights(args) == "imagenet"
    spec = rvl_cdip._spec(args, 256, "top")
    assert spec.crop == "top" and spec.mean == (1.0,)  # ImageNet start: Keras' preprocessing
    small = parse(rvl_cdip.build_parser(), ["--recipe", "paper", "--backbone",
                                            "rvl_small_resnet"])
    assert rvl_cdip._weights(small) is None and rvl_cdip._spec(small, 128).rescale == 1 / 255


def test_load_data_lists_survey_and_balance(tmp_path):
    root = make_demo_pages(tmp_path / "pages", train_per_class=2, val_per_class=1)
    (root / "labels" / "test.txt").write_text(
        (root / "labels" / "val.txt").read_text())
    args = parse(rvl_cdip.build_parser(), ["--data", str(root)])
    out = tmp_path / "out"
    data = rvl_cdip.load_data(args, out)
    assert set(data["splits"]) == {"train", "val", "test"}
    assert len(data["splits"]["train"]["labels"]) == 32
    assert data["class_balance"]["train"] == [2] * 16
    for split in ("train", "val", "test"):
        assert (out / "lists" / f"{split}.joblib").is_file()  # the blog's joblib lists
    assert (out / "survey.png").stat().st_size > 1000
    assert data["survey"]["train"]["count"] == 32
    with pytest.raises(FileNotFoundError, match="labels/train.txt"):
        rvl_cdip.load_data(parse(rvl_cdip.build_parser(), ["--data", str(tmp_path)]),
                           tmp_path / "o2")


@pytest.mark.slow
def test_quick_experiment_end_to_end(tmp_path):
    """--quick trains all 7 stages, stacks, exports one SavedModel that agrees with the pipeline;
    a second run skips every finished stage; --from-stage re-runs from there. (Slow: eight
    trainings, the suite's longest test; the default run covers rvl-cdip end to end through its
    notebook: holistic, top region, stack, export and a prediction.)"""
    out = tmp_path / "run"
    argv = ["--quick", "--out", str(out), "--export", "--export-dir", str(tmp_path / "sm")]
    res = rvl_cdip.main(argv)
    assert res["recipe"] == "quick" and res["unread_flags"] == []  # every setting read
    assert set(res["stage_seconds_wall_cpu"]) >= {"survey", "holistic_small", "holistic", "top",
                                                  "bottom", "left", "right", "stack", "export"}
    assert res["export"]["class_agreement"] == 1.0
    assert res["export"]["max_abs_probability_difference"] < 1e-4
    for f in ("results.json", "results.md", "config.json", "survey.png", "class_balance.png",
              "accuracy.png", "confusion_matrix.png", "page_prediction.png",
              "saved_model_cli.txt", "pipeline.json"):
        assert (out / f).is_file(), f
    assert "member_probabilities" in (out / "saved_model_cli.txt").read_text()
    card = json.loads((out / "stages" / "top" / "model.kerasdoc.json").read_text())
    assert card["image_spec"]["crop"] == "top" and card["stage"] == "top"
    again = rvl_cdip.main(argv[:-3] + ["--from-stage", "right"])
    trained = set(again["stage_seconds_wall_cpu"]) - {"survey", "stack"}
    assert trained == {"right"}


@pytest.mark.slow
def test_quick_out_of_fold_stacking(tmp_path):
    """--stacking oof: k member pipelines give out-of-fold training features; the meta-MLP is
    fitted on all training pages and tested on the whole validation set."""
    res = rvl_cdip.main(["--quick", "--out", str(tmp_path / "oof"), "--stacking", "oof",
                         "--folds", "2", "--regions", "top"])
    assert res["meta_learner"].startswith("out-of-fold: 2-fold")
    row = res["per_seed"][0]
    assert row["n_meta_train"] == res["splits"]["train"]
    assert row["n_meta_test"] == res["splits"]["val"]
    for k in range(2):
        assert (tmp_path / "oof" / "oof" / f"fold{k}" / "top" / "model.keras").is_file()
    out = tmp_path / "oof"
    assert "Meta-learner: out-of-fold: 2-fold" in (out / "results.md").read_text()
    assert json.loads((out / "pipeline.json").read_text())["meta_fit"] == res["meta_learner"]
    assert np.isfinite(row["stack"]) and set(row) >= {"holistic", "top", "mean_of_members"}


def test_quick_backbone_is_tiny_and_backbone_kwargs_are_checked():
    """--quick's two-stage rvl_small_resnet (what keeps the whole recipe near a CPU-minute)."""
    args = parse(rvl_cdip.build_parser(), ["--quick"])
    kwargs = rvl_cdip._backbone_kwargs(args)
    assert kwargs["blocks"] == [1, 1]
    m = get_model("rvl_small_resnet", num_classes=16, **kwargs)
    assert m.count_params() < 10_000 and m.output_shape == (None, 16)
    for bad in ("[1, 2]", "{widths: 3}"):
        args.backbone_kwargs = bad
        with pytest.raises(ValueError, match="JSON object"):
            rvl_cdip._backbone_kwargs(args)
