"""The persian-ocr experiment (seeds/004): quick run, folder / archive data, demo digits."""

import json
import tarfile

import cv2
import numpy as np
import pytest

from experiments import get_experiment
from experiments.persian_ocr import _FolderData, main
from kerasdoc.demo.digits import array_batches, make_rendered_digits


def _write_archive(tmp_path, n_per_class=6):
    (x, y), (xv, yv), names = make_rendered_digits(10 * n_per_class, 20, size=28, channels=1)
    root = tmp_path / "digits"
    for part, xs, ys in (("train", x, y), ("valid", xv, yv)):
        for i, (img, label) in enumerate(zip(xs, ys)):
            d = root / part / names[label]
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{i}.png"), (img[..., 0] * 255).astype("uint8"))
    archive = tmp_path / "digits.tgz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(root, arcname="digits")
    return archive


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


def test_folder_data_reads_an_archive_through_generators(tmp_path):
    data = _FolderData(str(_write_archive(tmp_path)), batch_size=8, seed=0, train_fraction=0.5,
                       valid_fraction=1.0, augment=True)
    train, valid, names = data.flows(24)
    assert names == [str(i) for i in range(10)]
    assert train.samples == 30 and valid.samples == 20  # stratified half of 60
    xb, yb = next(iter(valid))
    assert xb.shape == (8, 24, 24, 3) and float(np.max(xb)) <= 1.0
    with pytest.raises(FileNotFoundError, match="nowhere.tgz"):
        _FolderData(str(tmp_path / "nowhere.tgz"), 8, 0, 1.0, 1.0, False)
    (tmp_path / "flat").mkdir()
    with pytest.raises(FileNotFoundError, match="train/<class>/ and"):
        _FolderData(str(tmp_path / "flat"), 8, 0, 1.0, 1.0, False)


def test_hoda_archive_flows(shared_data):
    data = _FolderData(str(shared_data / "hoda-digits.tgz"), batch_size=16, seed=0,
                       train_fraction=1.0, valid_fraction=1.0, augment=False)
    train, valid, names = data.flows(32)
    assert names == [str(i) for i in range(10)]
    assert (train.samples, valid.samples) == (16000, 4000)


def test_quick_run_on_generated_demo_data(tmp_path):
    res = main(["--quick", "--out", str(tmp_path)])
    assert res["data"].startswith("generated demo data")
    assert [s["stage"].split()[0] for s in res["stages"]] == ["stage1", "stage2", "stage3"]
    assert all(0.0 <= s["error_rate"] <= 1.0 for s in res["stages"])
    assert res["stages"][1]["group_lrs"][0] < res["stages"][1]["group_lrs"][-1]
    assert set(res["lr_find"]["suggestions"]) == {"steepest", "valley", "minimum"}
    assert "none (trained from scratch)" in res["weights"] and "ImageNet" in res["note"]
    for f in ("results.json", "results.md", "config.json", "lr_find.png", "top_losses.png",
              "confusion_matrix.png", "heatmap_cam.png", "heatmap_gradcam.png",
              "kernel_edge.png", "model.keras"):
        assert (tmp_path / f).stat().st_size > 0, f
    md = (tmp_path / "results.md").read_text()
    assert "0.025282" in md and "generated demo data" in md
    assert json.loads((tmp_path / "results.json").read_text())["final_input_size"] == 32
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["strategy_resolved"]["replicas_in_sync"] == 1 and config["strategy"] == "auto"


@pytest.mark.slow
def test_quick_run_on_an_archive_with_source_weights(tmp_path):
    archive = _write_archive(tmp_path)
    src = tmp_path / "src"
    first = main(["--quick", "--data", str(archive), "--out", str(src), "--resize-to", "0"])
    assert len(first["stages"]) == 2 and first["data"].startswith("real")
    res = main(["--quick", "--data", str(archive), "--weights", str(src / "model.keras"),
                "--out", str(tmp_path / "dst"), "--resize-to", "0"])
    assert res["weights"].endswith("model.keras")
