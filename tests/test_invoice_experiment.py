"""Invoice paper (Wang et al.): demo data, the `invoice` experiment end to end, serving parity,
the benchmark."""

import json
from pathlib import Path

import numpy as np
import pytest

from kerasdoc.demo.invoices import CLASSES, DATA_LABEL, make_invoice_demo
from kerasdoc.experiments._common import parse


def test_demo_writes_class_folders_deterministically(tmp_path):
    a = make_invoice_demo(tmp_path / "a", per_class=3, test_per_class=2, size=(64, 48), seed=3)
    b = make_invoice_demo(tmp_path / "b", per_class=3, test_per_class=2, size=(64, 48), seed=3)
    for split, n in (("train", 3), ("test", 2)):
        assert sorted(p.name for p in (a / split).iterdir()) == sorted(CLASSES)
        for cls in CLASSES:
            files = sorted((a / split / cls).glob("*.jpg"))
            assert len(files) == n
            assert [f.read_bytes() for f in files] == [
                (b / split / cls / f.name).read_bytes() for f in files]
    import cv2

    img = cv2.imread(str(next((a / "train" / "vat").glob("*.jpg"))))
    assert img.shape == (64, 48, 3) and img.std() > 5


def test_demo_layouts_differ():
    # The three page layouts differ in shape (landscape, small ticket, portrait slip) and ink.
    from kerasdoc.demo.invoices import _DRAW

    rng = np.random.default_rng(0)
    pages = {c: _DRAW[c](rng) for c in CLASSES}
    assert pages["vat"].shape[1] > pages["vat"].shape[0]
    assert pages["taxi"].shape[0] > 2 * pages["taxi"].shape[1] * 0.9
    assert pages["train"].size < pages["vat"].size
    assert len({round(float((p < 128).mean()), 3) for p in pages.values()}) == 3


@pytest.mark.parametrize("kwargs,match", [
    ({"per_class": 1}, "per_class must be >= 2. Received: per_class=1"),
    ({"test_per_class": -1}, "test_per_class must be >= 0"),
    ({"size": (8, 64)}, r"size must be \(height, width\), each >= 16. Received: size=\(8, 64\)"),
])
def test_demo_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_invoice_demo(tmp_path, **kwargs)


@pytest.mark.slow  # the invoice notebook runs this training (quick, invoice_resnet, 1 epoch)
def test_quick_experiment_on_generated_demo_data(tmp_path):
    from kerasdoc.experiments.invoice import main

    res = main(["--quick", "--models", "invoice_resnet", "--epochs", "1",
                "--out", str(tmp_path)])
    assert res["data"] == DATA_LABEL
    assert set(res["models"]) == {"invoice_resnet"}
    for name, r in res["models"].items():
        assert 0.0 <= r["accuracy"] <= 1.0
        assert r["paper_parameters"] > 0 and r["trainable_parameters"] > 0
        cm = np.asarray(r["confusion_matrix"])
        assert cm.shape == (3, 3) and cm.sum() == 9  # 3 test images per class
        assert (tmp_path / f"history_{name}.png").stat().st_size > 1000
    # The split is stratified 70/30 of 8 per class: 2 validation images per class.
    assert (res["train_samples"], res["val_samples"]) == (18, 6)
    md = (tmp_path / "results.md").read_text()
    assert "generated demo data" in md and "| invoice_resnet |" in md and "97.61" in md
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["best_model"] == "invoice_resnet"
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["recipe"]["recipe"] == "quick" and cfg["data_label"] == DATA_LABEL
    assert cfg["recipe"]["settings"]["epochs"] == {"value": 1, "source": "override",
                                                   "why": "--epochs on the command line (recipe "
                                                          "quick: 2)"}
    assert cfg["strategy_resolved"]["replicas_in_sync"] == 1
    assert (tmp_path / "confusion_matrix.png").exists() and (tmp_path / "accuracy.png").exists()


# pad (the mode of the bug) by default; stretch and crop each train again: slow (every mode's
# train -> export parity without the experiment: tests/test_cli_commands.py).
@pytest.mark.parametrize("resize_mode", [pytest.param("stretch", marks=pytest.mark.slow), "pad",
                                         pytest.param("crop", marks=pytest.mark.slow)])
def test_exported_model_serves_what_training_saw(tmp_path, resize_mode):
    """The SavedModel's serving_default on the raw files equals the trained model on the
    experiment's own pipeline batches, for every --resize-mode the experiment offers (the bug
    this guards against: --resize-mode pad trained on padded pages but served stretched ones).
    Also the experiment on a folder with a separate test set and --export (one training serves
    both checks: the suite's time, issue 24)."""
    import tensorflow as tf

    from kerasdoc.experiments.invoice import build_parser, load_data, main
    from kerasdoc.models.weights import load_keras_model

    root = make_invoice_demo(tmp_path / "data", per_class=4, test_per_class=2, size=(60, 36))
    argv = ["--data", str(root / "train"), "--test", str(root / "test"), "--models",
            "invoice_resnet", "--epochs", "1", "--image-size", "32", "--resize-mode",
            resize_mode, "--out", str(tmp_path / "out"), "--export", "--export-dir",
            str(tmp_path / "models")]
    res = main(argv)
    assert res["unread_flags"] == []
    assert res["image_spec"]["resize_mode"] == resize_mode
    assert res["data"].startswith("real data: ") and "test set" in res["evaluated_on"]
    assert res["image_size"] == 32
    exported = Path(res["exported"])
    assert exported.parent.name == "invoice_invoice_resnet" and exported.name == "1"
    assert (exported / "saved_model.pb").exists()
    model = load_keras_model(res["models"]["invoice_resnet"]["model_file"])
    args = parse(build_parser(), argv)
    flow = load_data(args, seed=0, batch_size=4)["test"]  # the experiment's own pipeline
    want = model.predict(flow, verbose=0)
    served = tf.saved_model.load(res["exported"]).signatures["serving_default"]
    files = [tf.io.read_file(p) for p in flow.filepaths]
    got = served(images=tf.stack(files))["probabilities"].numpy()
    np.testing.assert_allclose(got, want, atol=2e-5)
    if resize_mode != "stretch":  # the check can fail: the wrong resize gives other outputs
        other = flow.spec.replace(resize_mode="stretch")
        from kerasdoc.generators import ImageDataGenerator

        stretched = ImageDataGenerator().flow_from_directory(
            root / "test", spec=other, shuffle=False, batch_size=4)
        assert np.abs(model.predict(stretched, verbose=0) - got).max() > 1e-4


@pytest.mark.slow  # two trainings (2 epochs, then the refit)
def test_refit_all_trains_the_final_model_on_all_training_images(tmp_path):
    from kerasdoc.experiments.invoice import main

    res = main(["--quick", "--models", "invoice_resnet", "--epochs", "2", "--refit-all",
                "--out", str(tmp_path)])
    assert res["unread_flags"] == []
    r = res["models"]["invoice_resnet"]
    assert r["chosen_epochs"] in (1, 2)  # chosen on the validation split
    assert r["refit_samples"] == res["train_samples"] + res["val_samples"] == 24
    assert "test set" in res["evaluated_on"]  # the demo's own test folder
    assert len(r["history"]["loss"]) == r["chosen_epochs"]  # the final model's training
    assert "--refit-all" in (tmp_path / "results.md").read_text()
    root = make_invoice_demo(tmp_path / "data", per_class=3, test_per_class=1, size=(48, 40))
    with pytest.raises(ValueError, match="--refit-all .* pass --test"):
        main(["--data", str(root / "train"), "--refit-all", "--out", str(tmp_path / "o")])


def test_experiment_errors_name_the_bad_input(tmp_path):
    from kerasdoc.experiments.invoice import main

    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=f"--data {missing} is not a folder"):
        main(["--data", str(missing), "--out", str(tmp_path / "o")])
    with pytest.raises(ValueError, match=r"Unknown model\(s\) \['lenet'\]"):
        main(["--quick", "--models", "lenet", "--out", str(tmp_path / "o")])


def test_experiment_is_listed():
    from kerasdoc.experiments import list_experiments

    assert "invoice" in list_experiments()


def test_benchmark_reports_ratios_to_resnet18():
    from benchmarks.invoice_models import run, to_markdown

    rows = run(image_size=32, repeats=2, models=("resnet18", "invoice_resnet"), batches=(1, 2))
    ref = rows["resnet18"]
    assert ref["params_ratio"] == ref["flops_ratio"] == ref["latency_b1_ratio"] == 1.0
    inv = rows["invoice_resnet"]
    assert inv["trainable_parameters"] == 701_283
    assert inv["params_ratio"] == pytest.approx(701_283 / 11_174_787)
    assert inv["latency_b2_ms"] > 0 and inv["flops"] < ref["flops"]
    assert "| invoice_resnet | 701,283 |" in to_markdown(rows, batches=(1, 2))
    with pytest.raises(ValueError, match="must include the reference 'resnet18'"):
        run(image_size=32, repeats=1, models=("invoice_resnet",))


def test_sroie_vendors_split_is_seeded_and_stratified(shared_data):
    from kerasdoc.experiments.invoice import build_parser, make_generators

    folder = shared_data / "sroie-vendors" / "train"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    from kerasdoc.generators.spec import ImageSpec

    args = parse(build_parser(), [])  # the cpu recipe's augmentation strengths
    gen, _ = make_generators(args, 0.3, seed=0)
    kw = dict(spec=ImageSpec((64, 64), "grayscale"), batch_size=8)
    train = gen.flow_from_directory(folder, subset="training", seed=0, **kw)
    val = gen.flow_from_directory(folder, subset="validation", shuffle=False, **kw)
    assert train.class_indices == {"gardenia": 0, "sanyu": 1, "unihakka": 2}
    assert (train.samples, val.samples) == (57, 25)
    assert np.bincount(val.classes).tolist() == [10, 7, 8]
    assert not set(train.filenames) & set(val.filenames)
    x, y = next(iter(val))
    assert x.shape == (8, 64, 64, 1) and y.shape == (8, 3)
    assert 0.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
