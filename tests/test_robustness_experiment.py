"""experiments/robustness.py: flags, tables beside the paper's, and (slow) a whole --quick run."""

import json

import numpy as np
import pytest

from kerasdoc import robustness as R
from kerasdoc.experiments import get_experiment
from kerasdoc.experiments import robustness as E
from kerasdoc.experiments._common import parse


def _rows(before, gated, oracle):
    return [{"breakout": n, "n": 1500, "counts": {}, "before": before, "after_gated": gated,
             "after_oracle": oracle, "flagged_pct": 50.0, "detector_accuracy": 95.0,
             "clean_flagged_pct": 2.0, "distorted_flagged_pct": 90.0,
             "paper_before": R.PAPER_TABLE1[n], "paper_after": R.PAPER_TABLE2[n]}
            for n in R.BREAKOUTS]


def test_registered_and_flags():
    assert get_experiment("robustness") is E and E.PAPER == "robustness"
    args = parse(E.build_parser(), ["--quick", "--classifier", "vit", "--svhn"])
    assert args.recipe == "quick" and args.classifier == "vit" and args.svhn
    # The parser is TensorFlow-free, so it states the paper's settings itself: they must agree.
    assert tuple(args.denoiser_corruptions.split(",")) == R.DENOISER_CORRUPTIONS
    assert f"paper: {R.PAPER_DENOISER_EPOCHS}" in E.build_parser().format_help()
    with pytest.raises(SystemExit):  # --data is a recipe setting with its choices
        parse(E.build_parser(), ["--data", "imagenet"])


def test_full_run_data_loads_kannada_with_a_stratified_split_and_train_size(shared_data):
    # The full-run path (--data kannada) reads --train as a path override and --trials for SVHN.
    args = parse(E.build_parser(), ["--data", "kannada",
                                    "--train", str(shared_data / "kannada-mnist"),
                                    "--train-size", "500", "--trials", "2"])
    data = E.load_data(args)
    assert args.trials == 2
    assert len(data["y_train"]) == 500 and data["x_train"].shape[1:3] == (28, 28)
    assert data["x_train"].dtype == np.uint8 and set(np.unique(data["y_test"])) == set(range(10))


def test_summary_and_markdown_name_the_classifier_the_paper_and_the_oracle():
    results = {
        "tables": {"vit": _rows(80.0, 84.0, 86.0)},
        "classifiers": {"vit": {"model": "digits_vit", "val_accuracy": 97.0, "epochs": 12}},
        "breakout_size": 1500,
        "detector": {"test_accuracy": 96.0, "corruptions": list(R.DETECTOR_CORRUPTIONS)},
        "denoiser": {"final_loss": 0.01, "final_val_loss": 0.012, "epochs": 15,
                     "corruptions": ["motion_blur", "shot_noise"], "paper_loss": 0.1365,
                     "paper_epochs": 50,
                     "test_mse": {"shot_noise": {"noisy_mse": 0.06, "denoised_mse": 0.01}}},
        "throughput": [{"name": "fog", "batch_ips": 400.0, "loop_ips": 300.0, "speedup": 1.3}],
        "timings_seconds": {"detector": 1.0},
    }
    summary = E.summarise(results)
    assert summary["vit"]["mixed_gain_gated"] == pytest.approx(4.0)
    assert summary["vit"]["goal_3_points_gated"] is True
    md = E.render_markdown(results, {"description": "Kannada-MNIST", "split": "70/30"}, summary)
    assert "Gutierrez & Sze" in md and "`digits_vit`" in md and "ORACLE" in md
    assert "| 100% clean | 80.00 | 99.0 | 84.00 | 86.00 | 99.0 |" in md
    assert "goal of +3 points (gated): met" in md


@pytest.mark.slow
def test_quick_run_writes_tables_and_figures(tmp_path):
    res = E.main(["--quick", "--out", str(tmp_path), "--svhn"])
    assert res["recipe"] == "quick" and res["unread_flags"] == []  # every setting read
    for f in ("results.json", "results.md", "config.json", "fig2_gallery.png",
              "fig5_reconstructions.png", "fig6_denoiser_loss.png", "tables_cnn.png",
              "fig7_svhn_curves.png", "fig8_svhn_probabilities.png", "fig9_svhn_scores.png"):
        assert (tmp_path / f).is_file(), f
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["breakout"] for r in saved["tables"]["cnn"]] == list(R.BREAKOUTS)
    assert res["data"]["source"] == "digits" and len(saved["throughput"]) == 16


def test_hoda_pool_read_class_by_class_is_shuffled_so_every_slice_holds_all_digits(shared_data):
    data = E.load_data(parse(E.build_parser(), [
        "--data", "hoda", "--train", str(shared_data / "hoda-digits.tgz"), "--train-size", "300"]))
    assert len(data["y_test"]) == 4000 and len(data["y_train"]) == 300
    assert set(np.unique(data["y_test"][:200])) == set(range(10))
