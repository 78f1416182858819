"""The numeric-loss experiment end to end (quick mode) and its pieces."""

import gzip
import json

import numpy as np
import pytest

from kerasdoc import datasets
from kerasdoc.experiments import get_experiment, list_experiments
from kerasdoc.experiments import numeric_loss as exp

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
    tests = res["claim"]["dnn"]["tests"]  # paired over the 2 trials, both claims
    assert set(tests) == {"numeric_error", "numeric_error_mis", "error_rate_raised",
                          "large_errors"} and all(t["n"] == 2 for t in tests.values())
    assert "Claim 2 (Figs. 5-6): large numerical errors (> 5) become rarer" in md
    assert "one-sided paired t-test" in md and "trials needed" in md
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
    assert res["data_details"]["n_train"] == 60  # the whole training pool when --test is given
    assert res["evaluated_on"] == "given test set"
    assert res["unread_flags"] == []


def test_bad_flags_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="needs --train"):
        exp.main(["--data", "kannada", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="IMAGES,LABELS"):
        datasets.parse_idx_spec("only-one-file.gz")
    with pytest.raises(SystemExit):  # --data is a recipe setting with its choices
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


def _row(model, method, er, ne, nm, large):
    """A summary row whose trials (paired by index) have these per-trial values."""
    trials = [{"error_rate": e, "numeric_error": n, "numeric_error_mis": m,
               "histogram": [5, 3, 2, 1, 1, big, 0, 0, 0]}
              for e, n, m, big in zip(er, ne, nm, large)]
    return {"model": model, "method": method, "per_trial": trials,
            "error_rate_mean": float(np.mean(er)), "numeric_error_mean": float(np.mean(ne)),
            "numeric_error_mis_mean": float(np.mean(nm))}


def test_claim_check_uses_paired_tests_over_trials():
    claim = exp.check_claim([
        # CNN: lower numerical errors in every trial, error rate up and down (noise)
        _row("cnn", "baseline", [0.20, 0.22, 0.21], [0.65, 0.70, 0.68], [3.0, 3.2, 3.1], [4, 5, 6]),
        _row("cnn", "proposed", [0.21, 0.21, 0.215], [0.60, 0.66, 0.62], [2.8, 3.0, 2.9],
             [2, 3, 3]),
        # DNN: the means are lower but one trial goes the other way: not distinguishable
        _row("dnn", "baseline", [0.3, 0.3, 0.3], [1.0, 0.9, 1.1], [3.1, 3.0, 3.2], [5, 5, 5]),
        _row("dnn", "proposed", [0.3, 0.3, 0.3], [0.8, 0.95, 1.0], [3.0, 3.1, 2.9], [5, 6, 5]),
    ])
    cnn, dnn = claim["cnn"], claim["dnn"]
    assert cnn["holds"] and cnn["tests"]["numeric_error"]["p"] < 0.05
    assert not cnn["tests"]["error_rate_raised"]["significant"]
    assert cnn["large_errors_rarer"] and cnn["trials_needed"] <= 3
    assert cnn["large_error_share"]["proposed"] < cnn["large_error_share"]["baseline"]
    assert dnn["lower_numeric_error_means"] and not dnn["holds"]  # means alone would say yes
    assert dnn["trials_needed"] > 3 and not dnn["large_errors_rarer"]


def test_paired_test_and_trials_needed():
    r = exp.paired_test([0.30, 0.32, 0.31, 0.33], [0.28, 0.29, 0.29, 0.30])
    assert r["significant"] and r["n"] == 4 and r["mean_diff"] == pytest.approx(-0.025)
    from scipy import stats

    assert r["p"] == pytest.approx(stats.ttest_rel([0.28, 0.29, 0.29, 0.30],
                                                   [0.30, 0.32, 0.31, 0.33],
                                                   alternative="less").pvalue)
    one = exp.paired_test([0.3], [0.2])
    assert not one["significant"] and np.isnan(one["p"])  # one trial: no test
    assert exp.trials_needed(2.0) == 4 and exp.trials_needed(0.5) == 27
    assert exp.trials_needed(-0.3) is None
    assert exp.large_errors([1, 0, 0, 0, 0, 2, 0, 1, 0]) == (3, 0.75)


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


def test_same_command_and_seed_give_the_same_tables_twice(tmp_path):
    """Determinism: the same flags and --seed give identical tables (CPU; a fresh folder each)."""
    argv = ["--quick", "--models", "dnn", "--trials", "1", "--seed", "3"]
    first = exp.main([*argv, "--out", str(tmp_path / "a")])
    second = exp.main([*argv, "--out", str(tmp_path / "b")])
    rows = [[(r["model"], r["method"], t["error_rate"], t["numeric_error"],
              t["numeric_error_mis"]) for r in res["rows"] for t in r["per_trial"]]
            for res in (first, second)]
    assert rows[0] == rows[1]
    tables = [(tmp_path / d / "results.md").read_text().split("## The paper")[0] for d in "ab"]
    assert tables[0] == tables[1]


def test_trial_predictions_raise_no_retracing_warning(caplog):
    """Each trial builds a new model; predicting through ``model.predict`` traced one function
    per model and TensorFlow printed "triggered tf.function retracing" from the fifth trial on.
    ``kerasdoc.interpret.predict_probs`` calls the model directly: same outputs, no warning."""
    import keras

    from kerasdoc.interpret import predict_probs

    x = np.random.default_rng(0).random((7, 4)).astype("float32")
    for _ in range(7):
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        probs = predict_probs(m, x, batch_size=3)
        np.testing.assert_allclose(probs, m.predict(x, verbose=0) if _ == 0 else probs,
                                   atol=1e-6)
        assert probs.shape == (7, 3)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
