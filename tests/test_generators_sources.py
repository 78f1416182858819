"""Label files, split helpers, joblib / JSON lists, idx and tfds sources, the image-size survey."""

from __future__ import annotations

import gzip
import json

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds

from kerasdoc.generators import (
    MNIST_C_CORRUPTIONS,
    ImageDataGenerator,
    image_size_survey,
    load_file_list,
    load_idx,
    load_tfds,
    parse_label_file,
    save_file_list,
    subset_lists,
    train_val_test_split,
)
from kerasdoc.generators.survey import main as survey_main


def test_parse_label_file(tmp_path):
    lf = tmp_path / "train.txt"
    lf.write_text("# comment\nimagesa/a/b.tif 3\n\nimages/with space.tif   15\n")
    paths, labels = parse_label_file(lf, num_classes=16, root=tmp_path)
    assert paths == ["imagesa/a/b.tif", "images/with space.tif"] and labels == [3, 15]


def test_train_val_test_split_is_stratified_seeded_and_complete():
    labels = np.repeat(np.arange(4), 25)
    tr, va, te = train_val_test_split(labels, 0.2, 0.2, seed=3)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(100))
    assert np.bincount(labels[va]).tolist() == [5] * 4
    assert np.bincount(labels[te]).tolist() == [5] * 4
    again = train_val_test_split(labels, 0.2, 0.2, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    other = train_val_test_split(labels, 0.2, 0.2, seed=4)
    assert not np.array_equal(te, other[2])
    tr2, va2, te2 = train_val_test_split(labels, 0.3, 0.0)
    assert len(te2) == 0 and len(va2) == 32 and len(tr2) == 68
    p, lab = subset_lists([f"{i}.png" for i in range(100)], labels.tolist(), te)
    assert len(p) == 20 and lab == labels[te].tolist()
    with pytest.raises(ValueError, match="their sum < 1"):
        train_val_test_split(labels, 0.6, 0.5)


@pytest.mark.parametrize("suffix", [".json", ".joblib", ".pkl"])
def test_save_and_load_file_lists(tmp_path, suffix):
    path = save_file_list(tmp_path / f"train{suffix}", ["a/1.jpg", "b/2.jpg"], [0, 15],
                          class_names=["x", "y"])
    obj = load_file_list(path)
    assert obj["paths"] == ["a/1.jpg", "b/2.jpg"] and obj["labels"] == [0, 15]
    assert obj["class_names"] == ["x", "y"]
    if suffix == ".json":
        assert json.loads(path.read_text())["labels"] == [0, 15]


def test_file_list_errors(tmp_path):
    with pytest.raises(ValueError, match="differ in length"):
        save_file_list(tmp_path / "x.json", ["a"], [1, 2])
    with pytest.raises(ValueError, match="unknown list format '.csv'"):
        save_file_list(tmp_path / "x.csv", ["a"], [1])
    with pytest.raises(FileNotFoundError, match="file list not found"):
        load_file_list(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_file_list(tmp_path / "bad.json")


def test_idx_arrays_through_flow(tmp_path):
    imgs = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    header = bytes([0, 0, 8, 3]) + b"".join(int(v).to_bytes(4, "big") for v in imgs.shape)
    (tmp_path / "img-idx3-ubyte").write_bytes(header + imgs.tobytes())
    with gzip.open(tmp_path / "lab-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 6]) + bytes([0, 1, 2, 0, 1, 2]))
    x, y = load_idx(tmp_path / "img-idx3-ubyte"), load_idx(tmp_path / "lab-idx1-ubyte.gz")
    flow = ImageDataGenerator(rescale=1 / 255).flow(x, y, batch_size=6, shuffle=False)
    xb, yb = next(iter(flow.dataset))
    np.testing.assert_allclose(xb.numpy()[..., 0], imgs / 255, rtol=1e-6)
    assert yb.numpy().tolist() == [0, 1, 2, 0, 1, 2] and flow.num_classes == 3


@pytest.mark.parametrize("name,shape", [("mnist", (28, 28, 1)),
                                        ("mnist_corrupted/shot_noise", (28, 28, 1)),
                                        ("svhn_cropped", (32, 32, 3))])
def test_tfds_wrappers_with_mock_data(name, shape):
    with tfds.testing.mock_data(num_examples=10):
        ds, labels, names = load_tfds(name, "test")
        x, y = next(iter(ds))
        assert tuple(x.shape) == shape and len(labels) == 10 and names[:3] == ["0", "1", "2"]
        flow = ImageDataGenerator(rescale=1 / 255).flow_from_tfds(
            name, "test", target_size=(16, 16), color_mode="grayscale", class_mode="categorical",
            batch_size=4, shuffle=False)
        xb = np.concatenate([b[0].numpy() for b in flow.dataset])
        yb = np.concatenate([b[1].numpy() for b in flow.dataset])
        assert xb.shape == (10, 16, 16, 1) and 0 <= xb.min() and xb.max() <= 1
        np.testing.assert_array_equal(yb.argmax(1), flow.classes)  # file order, as listed
        gen = ImageDataGenerator(validation_split=0.3)
        tr = gen.flow_from_tfds(name, "test", subset="training")
        va = gen.flow_from_tfds(name, "test", subset="validation")
        assert tr.samples + va.samples == 10
        assert sum(len(b[0]) for b in va.dataset) == va.samples
        vy = np.concatenate([b[1].numpy() for b in va.dataset])
        np.testing.assert_array_equal(vy, va.classes)


def test_tfds_rejects_unknown_corruption():
    assert "shot_noise" in MNIST_C_CORRUPTIONS
    with pytest.raises(ValueError, match="unknown MNIST-C corruption 'sparkle'"):
        load_tfds("mnist_corrupted/sparkle")


def test_image_size_survey_numbers_and_png(tmp_path):
    paths = {"train": [], "val": []}
    for i, (h, w) in enumerate([(10, 20), (10, 30), (12, 40), (8, 8)]):
        p = tmp_path / f"{i}.png"
        cv2.imwrite(str(p), np.zeros((h, w), np.uint8))
        paths["train" if i < 3 else "val"].append(str(p))
    s = image_size_survey(paths, png=tmp_path / "hist.png")
    assert s["train"]["count"] == 3 and s["train"]["width"]["min"] == 20
    assert s["train"]["width"]["max"] == 40 and s["train"]["width"]["mean"] == 30.0
    assert s["val"]["height"]["median"] == 8.0 and s["val"]["aspect"]["mean"] == 1.0
    assert (tmp_path / "hist.png").read_bytes()[:4] == b"\x89PNG"
    sampled = image_size_survey(paths, sample=2)
    assert sampled["train"]["count"] == 2
    with pytest.raises(ValueError, match="split 'test' has no images"):
        image_size_survey({"test": []})


@pytest.mark.data
def test_survey_cli_on_rvl_cdip(shared_data, tmp_path):
    root = shared_data / "rvl-cdip-mini"
    out = survey_main(["--root", str(root), "--labels", str(root / "labels" / "val.txt"),
                       "--sample", "50", "--out", str(tmp_path)])
    assert out["val"]["count"] == 50 and out["val"]["height"]["median"] > 500
    assert (tmp_path / "survey.png").is_file() and (tmp_path / "survey.json").is_file()
