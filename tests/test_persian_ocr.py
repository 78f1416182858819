"""The persian-ocr experiment (Kendal 2019): the workflow end to end, its data, the stage it ships,
serving parity, and the pieces it added (one-cycle presets, slice learning rates, the small ResNet,
ResNet-50's ImageNet preprocessing)."""

import gzip
import json
import tarfile

import cv2
import numpy as np
import pytest

from kerasdoc.data import FolderData
from kerasdoc.demo.digits import array_batches, make_rendered_digits
from kerasdoc.experiments import get_experiment
from kerasdoc.experiments._common import parse
from kerasdoc.experiments.persian_ocr import (
    build_parser,
    choose_stage,
    load_data,
    main,
    stage_epochs,
)


def _write_folders(tmp_path, n_per_class=6, n_valid=20, name="digits"):
    (x, y), (xv, yv), names = make_rendered_digits(10 * n_per_class, n_valid, size=28,
                                                   channels=1)
    root = tmp_path / name
    for part, xs, ys in (("train", x, y), ("valid", xv, yv)):
        for i, (img, label) in enumerate(zip(xs, ys)):
            d = root / part / names[label]
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{i}.png"), (img[..., 0] * 255).astype("uint8"))
    return root


def _write_archive(tmp_path, n_per_class=6):
    root = _write_folders(tmp_path, n_per_class)
    archive = tmp_path / "digits.tgz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(root, arcname="digits")
    return archive


def _spec(size=24, mode="grayscale"):
    from kerasdoc.generators.spec import ImageSpec

    return ImageSpec((size, size), mode, resize_mode="pad")


def test_registered_as_an_experiment():
    assert get_experiment("persian-ocr").main is main


def test_demo_digits_are_balanced_and_resizable():
    (x, y), (xv, yv), names = make_rendered_digits(40, 20, size=32, seed=3)
    assert x.shape == (40, 32, 32, 3) and xv.shape == (20, 32, 32, 3)
    assert np.bincount(y).tolist() == [4] * 10 and names == [str(i) for i in range(10)]
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.mean() > 0.02  # ink present
    (x2, _), _, _ = make_rendered_digits(40, 20, size=32, seed=3)
    np.testing.assert_array_equal(x, x2)  # seeded
    xb, yb = next(iter(array_batches(x, y, size=48, batch_size=8)))
    assert xb.shape == (8, 48, 48, 3) and yb.shape == (8,)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        make_rendered_digits(4, 4, channels=2)


def test_folder_data_splits_validation_into_choosing_and_held_out_parts(tmp_path):
    args = parse(build_parser(), ["--data", str(_write_archive(tmp_path)),
                                      "--train-fraction", "0.5", "--batch-size", "8"])
    data = load_data(args)
    flows = data.flows(_spec())
    assert flows["class_names"] == [str(i) for i in range(10)]
    assert flows["train"].samples == 30  # stratified half of 60
    sel, test = flows["select"], flows["test"]
    assert (sel.samples, test.samples) == (10, 10)  # --holdout-fraction 0.5 of 20
    assert not set(sel.filepaths) & set(test.filepaths)  # the test images never choose
    assert np.bincount(test.classes).tolist() == [1] * 10  # stratified
    assert flows["train"].spec == sel.spec == test.spec  # one contract
    xb, _ = next(iter(sel))
    assert xb.shape == (8, 24, 24, 1) and float(np.max(xb)) <= 1.0
    assert "held-out 50% of the validation folder" in data.describe_test(10)
    assert data.flows(_spec()) is flows  # made once per spec


def test_folder_data_with_a_separate_test_folder(tmp_path):
    root = _write_folders(tmp_path)
    other = _write_folders(tmp_path, 2, 10, name="other")
    data = FolderData.from_split_root(root, batch_size=4, seed=0, test_dir=other / "valid")
    flows = data.flows(_spec())
    assert flows["select"].samples == 20 and flows["test"].samples == 10  # the whole folder
    assert data.describe_test(10).startswith(f"test set {other / 'valid'}")


def test_bad_data_paths_are_named(tmp_path):
    base = ["--out", str(tmp_path / "o")]
    with pytest.raises(FileNotFoundError, match="nowhere.tgz"):
        main(["--data", str(tmp_path / "nowhere.tgz"), *base])
    (tmp_path / "flat").mkdir()
    with pytest.raises(FileNotFoundError, match="train/<class>/ and"):
        main(["--data", str(tmp_path / "flat"), *base])
    with pytest.raises(FileNotFoundError, match="--test .*missing is not a folder"):
        main(["--data", str(tmp_path / "flat"), "--test", str(tmp_path / "missing"), *base])


def test_hoda_archive_flows(shared_data):
    args = parse(build_parser(), ["--data", str(shared_data / "hoda-digits.tgz")])
    flows = load_data(args).flows(_spec(28))
    assert flows["class_names"] == [str(i) for i in range(10)]
    assert flows["train"].samples == 16000
    assert (flows["select"].samples, flows["test"].samples) == (2000, 2000)


def test_the_best_stage_is_shipped_never_a_worse_one():
    # the case: the 48-px stage fell to 67.5% after stage 2 reached 92%
    stages = [{"val_accuracy": 0.80}, {"val_accuracy": 0.92}, {"val_accuracy": 0.675}]
    assert choose_stage(stages) == 1 and [s["shipped"] for s in stages] == [False, True, False]
    tie = [{"val_accuracy": 0.9}, {"val_accuracy": 0.9}]
    assert choose_stage(tie) == 0  # a later stage must be strictly better
    with pytest.raises(ValueError, match="No stage"):
        choose_stage([])


def test_stage_epochs_resolve_from_the_flags():
    p = build_parser()

    def ns(*argv):
        return parse(p, list(argv))

    assert stage_epochs(ns("--recipe", "paper")) == [4, 5, 2]  # the report's cells
    assert stage_epochs(ns()) == [1, 12, 1]  # cpu: no resizing stage
    assert stage_epochs(ns("--quick")) == [1, 1, 1]
    assert stage_epochs(ns("--quick", "--epochs1", "3", "--epochs2", "7")) == [3, 7, 1]
    with pytest.raises(ValueError, match=">= 1"):
        stage_epochs(ns("--epochs1", "0"))


def test_lr_flags_take_fastai_slices():
    from kerasdoc.training.schedule import lr_text, parse_lr

    assert parse_lr("slice(1e-6, 1e-4)") == slice(1e-6, 1e-4)
    assert parse_lr("slice(1e-3)") == slice(None, 1e-3)
    assert parse_lr("1e-5:1e-3") == slice(1e-5, 1e-3) and parse_lr("3e-3") == 0.003
    assert lr_text(slice(1e-6, 1e-4)) == "slice(1e-06, 0.0001)"
    with pytest.raises(ValueError, match="slice\\(START, END\\)"):
        parse_lr("slice(a, b)")
    args = parse(build_parser(), ["--lr1", "slice(1e-4,1e-2)", "--lr2", "1e-6:1e-4"])
    assert args.lr1 == slice(1e-4, 1e-2) and args.lr2 == slice(1e-6, 1e-4)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--lr1", "fast"])


def test_fastai_v1_one_cycle_preset():
    import keras

    from kerasdoc.training.schedule import ONE_CYCLE_PRESETS, fit_one_cycle, one_cycle_values

    assert ONE_CYCLE_PRESETS["fastai-v1"] == {"div": 25.0, "pct_start": 0.3, "final_div": 2.5e5}
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="logits"),
                          keras.layers.Activation("softmax", name="predictions")])
    x, y = np.random.default_rng(0).random((80, 4)).astype("float32"), np.arange(80) % 3
    h = fit_one_cycle(m, (x, y), 2, 1e-2, batch_size=8, preset="fastai-v1", verbose=0)
    lrs = h.one_cycle.lrs  # 20 steps: the peak at step round(0.3 * 20) = 6
    assert int(np.argmax(lrs)) == 6 and lrs[0] == pytest.approx(1e-2 / 25)
    assert lrs[-1] == pytest.approx(one_cycle_values(19, 20, 1e-2, pct_start=0.3,
                                                     final_div=2.5e5)[0])
    assert one_cycle_values(20, 20, 1e-2, pct_start=0.3, final_div=2.5e5)[0] == pytest.approx(
        1e-2 / 2.5e5)  # the cycle ends at lr_max / 2.5e5
    with pytest.raises(ValueError, match="preset must be one of"):
        fit_one_cycle(m, (x, y), 1, 1e-2, preset="fastai-v3", verbose=0)


def test_one_cycle_resumes_where_it_stopped():
    from kerasdoc.training.schedule import OneCycleScheduler

    s = OneCycleScheduler(30, 1e-2, steps_per_epoch=10)
    s.on_epoch_begin(2)  # a fit resumed after two epochs
    assert s.step == 20


def test_small_resnet_keeps_the_layer_names_of_the_workflow():
    from kerasdoc.models import get_model, model_spec
    from kerasdoc.training.groups import layer_groups

    m = get_model("resnet_small", input_shape=(28, 28, 1), num_classes=10)
    assert model_spec("resnet_small").color_mode == "grayscale"
    assert m.get_layer("stem_1_conv").strides == (1, 1)  # no 7x7 / max-pool shrinking
    groups = layer_groups(m)
    assert groups[1][0].name.startswith("stage2_") and groups[-1][-1].name == "predictions"
    with pytest.raises(ValueError, match="same number of stages"):
        get_model("resnet_small", widths=(8, 16), blocks=(1,))


def test_resnet50_imagenet_weights_get_keras_preprocess_input(tmp_path, monkeypatch):
    """weights="imagenet" runs Keras' own loading code (its download mocked by a local file) and
    the model applies keras.applications.resnet50.preprocess_input to 0-1 inputs."""
    import keras
    from keras.src.utils import file_utils

    from kerasdoc.models.resnet import build_resnet50

    body = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    kernel = body.get_layer("conv1_conv").get_weights()
    kernel[0][:] = 0.01
    body.get_layer("conv1_conv").set_weights(kernel)
    local = tmp_path / "resnet50_notop.weights.h5"
    body.save_weights(local)
    asked = []

    def fake_get_file(fname=None, origin=None, **kwargs):
        asked.append(fname)
        return str(local)

    monkeypatch.setattr(file_utils, "get_file", fake_get_file)
    model = build_resnet50((32, 32, 3), 4, weights="imagenet")
    assert asked and "notop" in asked[0]  # the no-top ImageNet file Keras would download
    np.testing.assert_allclose(model.get_layer("conv1_conv").get_weights()[0], 0.01)
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    pre = keras.Model(model.input, model.get_layer("imagenet_preprocess").output)
    want = keras.applications.resnet50.preprocess_input(x * 255.0)
    np.testing.assert_allclose(np.asarray(pre(x)), want, atol=1e-3)  # BGR, minus mean pixel
    assert not any(layer.name == "normalize" for layer in model.layers)
    layer = model.get_layer("imagenet_preprocess")  # a registered layer (safe-mode loading)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    np.testing.assert_allclose(np.asarray(again(x)), want, atol=1e-3)
    with pytest.raises(ValueError, match="applied twice"):
        build_resnet50((32, 32, 3), 4, weights="imagenet", mean=0.5, std=0.2)


@pytest.mark.slow
def test_quick_run_ships_the_best_stage_and_serves_what_training_saw(tmp_path, caplog):
    """The workflow on generated digits (three stages, resizing included), then the export:
    the SavedModel's serving_default on the raw test files equals the shipped model on the
    experiment's own test batches. No TensorFlow "retracing" warning on the way (its five
    stage and shipped models were each measured through ``model.predict``, which printed one).
    (Slow: the default run trains the same quick recipe, its three stages and the export,
    through the persian_ocr notebook.)"""
    import tensorflow as tf

    from kerasdoc.generators.spec import ImageSpec
    from kerasdoc.models.weights import load_keras_model

    out = tmp_path / "out"
    argv = ["--quick", "--out", str(out), "--export", "--export-dir", str(tmp_path / "models")]
    res = main(argv)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    assert res["unread_flags"] == []
    assert res["data"].startswith("generated demo data")
    assert res["paper"].startswith("Kendal")
    stages = res["stages"]
    assert [s["stage"] for s in stages] == ["stage1", "stage2", "stage3"]
    assert sum(s["shipped"] for s in stages) == 1
    shipped = next(s for s in stages if s["shipped"])
    assert shipped["val_accuracy"] == max(s["val_accuracy"] for s in stages)
    assert res["shipped_stage"] == shipped["stage"]
    assert res["final_input_size"] == shipped["image_size"]
    assert stages[1]["group_lrs"][0] < stages[1]["group_lrs"][-1]  # discriminative
    assert set(res["lr_find"]["suggestions"]) == {"steepest", "valley", "minimum"}
    assert "held-out 50% of the validation folder" in res["evaluated_on"]
    assert 0.0 <= res["test_accuracy"] <= 1.0 and res["test_samples"] == 40
    assert "ImageNet" in res["note"]
    for f in ("results.json", "results.md", "config.json", "lr_find.png", "top_losses.png",
              "confusion_matrix.png", "heatmap_cam.png", "heatmap_gradcam.png",
              "kernel_edge.png", "model.keras", "model.kerasdoc.json"):
        assert (out / f).stat().st_size > 0, f
    md = (out / "results.md").read_text()
    assert "0.025282" in md and "generated demo data" in md and "**Test**" in md
    config = json.loads((out / "config.json").read_text())
    assert config["strategy_resolved"]["replicas_in_sync"] == 1
    # serving parity: the card's spec (size of the shipped stage, normalisation) in the graph
    model = load_keras_model(res["model_file"])
    spec = ImageSpec.from_config(res["image_spec"])
    assert spec.mean is not None and spec.image_size == (shipped["image_size"],) * 2
    args = parse(build_parser(), argv)
    flow = load_data(args).flows(spec)["test"]  # the experiment's own pipeline
    want = model.predict(flow, verbose=0)
    served = tf.saved_model.load(res["exported"]).signatures["serving_default"]
    files = [tf.io.read_file(p) for p in flow.filepaths]
    got = served(images=tf.stack(files))["probabilities"].numpy()
    np.testing.assert_allclose(got, want, atol=2e-5)


def _write_idx(path, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


@pytest.mark.slow
def test_source_model_test_folder_and_resume(tmp_path):
    root = _write_folders(tmp_path)
    other = _write_folders(tmp_path, 2, 10, name="other")
    (x, y), _, _ = make_rendered_digits(60, 10, size=28, channels=1, seed=5)
    _write_idx(tmp_path / "src-images.gz", (x[..., 0] * 255).astype("uint8"))
    _write_idx(tmp_path / "src-labels.gz", y)
    argv = ["--quick", "--data", str(root), "--test", str(other / "valid"), "--model",
            "resnet_small", "--image-size", "16", "--resize-to", "0", "--source-idx",
            str(tmp_path / "src-images.gz"), str(tmp_path / "src-labels.gz"),
            "--lr2", "slice(1e-4, 1e-3)", "--one-cycle", "fastai-v1",
            "--out", str(tmp_path / "o")]
    res = main(argv)
    assert res["unread_flags"] == []
    from kerasdoc.recipes import resolve

    assert len(res["stages"]) == 2
    assert res["source"]["epochs"] == resolve("persian-ocr", "quick").values["source_epochs"]
    assert "transferred by layer name" in res["weights"]
    assert res["evaluated_on"].startswith("test set") and res["test_samples"] == 10
    assert "valid_folder_accuracy" not in res
    # a re-run with the same flags loads the finished stages instead of training them again
    again = main([*argv, "--overwrite"])
    assert [s["val_accuracy"] for s in again["stages"]] == [s["val_accuracy"]
                                                            for s in res["stages"]]
    assert again["wall_seconds"] < res["wall_seconds"]
