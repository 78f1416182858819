"""The numeric-loss experiment end to end (quick mode) and its pieces."""

import gzip
import json

import numpy as np
import pytest

from experiments import get_experiment, list_experiments
from experiments import numeric_loss as exp
from kerasdoc import datasets

KEYS = ["model", "method", "error_rate_mean", "error_rate_std", "numeric_error_mean",
        "numeric_error_std", "numeric_error_mis_mean", "numeric_error_mis_std", "paper"]


def _write_idx(path, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


def test_experiment_is_discovered():
    assert "numeric-loss" in list_experiments()
    assert get_experiment("numeric-loss") is exp


def test_quick_run_writes_tables_figures_and_paper_values(tmp_path):
    res = exp.main(["--quick", "--models", "dnn", "--trials", "2", "--out", str(tmp_path)])
    for name in ("results.json", "results.md", "config.json", "fig5_error_counts.png",
                 "fig6_error_rates.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [(r["model"], r["method"]) for r in saved["rows"]] == [("dnn", "baseline"),
                                                                  ("dnn", "proposed")]
    for row in saved["rows"]:
        assert all(k in row for k in KEYS)
        assert 0.0 <= row["error_rate_mean"] <= 1.0
        assert len(row["per_trial"]) == 2
        # Table 2 = Table 1 x Table 3, trial by trial
        for t in row["per_trial"]:
            assert t["numeric_error"] == pytest.approx(t["error_rate"] * t["numeric_error_mis"])
    assert saved["rows"][0]["paper"]["error_rate_pct"] == {"mean": 2.00, "std": 0.037}
    assert "scikit-learn" in saved["data"]
    assert saved["paper"].startswith("Suzuki et al., An Image Classification Model")
    assert saved["unread_flags"] == []  # every flag offered is read
    md = (tmp_path / "results.md").read_text()
    assert "Table 3" in md and "paper (MNIST)" in md and "scikit-learn" in md
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["trials"] == 2 and "tensorflow" in config["environment"]
    assert res["claim"].keys() == {"dnn"}
    # each trial is its own resumable folder; a finished one is reused, not retrained
    trial = tmp_path / "runs" / "dnn-baseline-0" / "trial.json"
    assert json.loads(trial.read_text())["seed"] == 0
    assert not (trial.parent / "backup").exists()


def test_kannada_idx_with_given_test_set(tmp_path):
    rng = np.random.default_rng(0)
    for part, n in (("train", 60), ("test", 30)):
        _write_idx(tmp_path / f"{part}-images.gz", rng.integers(0, 255, (n, 28, 28)))
        _write_idx(tmp_path / f"{part}-labels.gz", np.arange(n) % 10)
    spec = lambda p: f"{tmp_path}/{p}-images.gz,{tmp_path}/{p}-labels.gz"  # noqa: E731
    res = exp.main(["--data", "kannada", "--train", spec("train"), "--test", spec("test"),
                    "--models", "rnn", "--trials", "1", "--epochs", "1",
                    "--out", str(tmp_path / "out")])
    assert res["data_details"]["paper_column"] == "Dig-MNIST"
    assert res["data_details"]["n_test"] == 30
    assert res["evaluated_on"] == "given test set"
    assert res["unread_flags"] == []


def test_bad_flags_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="needs --train"):
        exp.main(["--data", "kannada", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="IMAGES,LABELS"):
        datasets.parse_idx_spec("only-one-file.gz")
    with pytest.raises(ValueError, match="--data must be"):
        exp.main(["--data", "cifar", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        exp.main(["--models", "transformer", "--out", str(tmp_path)])


def test_a_finished_run_is_never_replaced_silently(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--quick", "--models", "dnn", "--trials", "1"]
    exp.main(argv)
    assert (tmp_path / "results" / "numeric-loss-quick" / "results.json").is_file()
    exp.main(argv)  # the default folder is taken: a numbered one is used
    assert (tmp_path / "results" / "numeric-loss-quick-2" / "results.json").is_file()
    with pytest.raises(FileExistsError, match="--overwrite"):
        exp.main([*argv, "--out", "results/numeric-loss-quick"])


def test_claim_check_logic():
    def row(model, method, er, ne, nm, std=0.01):
        return {"model": model, "method": method, "error_rate_mean": er, "error_rate_std": std,
                "numeric_error_mean": ne, "numeric_error_mis_mean": nm}
    claim = exp.check_claim([row("cnn", "baseline", 0.20, 0.65, 3.0),
                             row("cnn", "proposed", 0.205, 0.60, 2.9),    # within noise
                             row("dnn", "baseline", 0.30, 1.0, 3.1),
                             row("dnn", "proposed", 0.40, 0.9, 3.0)])     # error rate raised
    assert claim["cnn"]["holds"] and not claim["cnn"]["error_rate_not_raised_strict"]
    assert not claim["dnn"]["holds"] and claim["dnn"]["lower_numeric_error"]


@pytest.mark.data
def test_real_kannada_files_load(shared_data):
    folder = shared_data / "kannada-mnist"
    x, y = datasets.load_idx_pair(folder / "kannada-images-idx3-ubyte.gz",
                                  folder / "kannada-labels-idx1-ubyte.gz")
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() < x.max() <= 1
    assert np.bincount(y).tolist() == [1000] * 10


def test_mnist_through_tensorflow_datasets_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=40):
        x, y = datasets.load_tfds_mnist("train")
        assert x.shape == (40, 28, 28, 1) and x.dtype == np.float32 and x.max() <= 1.0
        res = exp.main(["--data", "mnist", "--models", "dnn", "--trials", "1", "--epochs", "1",
                        "--out", str(tmp_path)])
    assert res["data"].startswith("MNIST") and res["data_details"]["n_test"] == 40


def test_runs_under_a_named_strategy_and_records_it(tmp_path):
    res = exp.main(["--quick", "--models", "dnn", "--trials", "1", "--strategy", "mirrored",
                    "--out", str(tmp_path)])
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["strategy_resolved"]["strategy"] == "MirroredStrategy"
    assert config["batch_size"] == 64 * config["strategy_resolved"]["replicas_in_sync"]
    assert 0.0 <= res["rows"][0]["error_rate_mean"] <= 1.0
