"""The `kerasdoc` command: list and reproduce."""

import json
import subprocess
import sys

import pytest

from kerasdoc.cli import main


def test_list_prints_models_with_counts_and_experiments(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "| digits_cnn | Suzuki et al. (2021) | 28x28x1 grayscale | 1,199,882 | 1,199,882 |" \
        in out
    # the paper counts trainable parameters
    assert "| invoice_resnet | Wang et al. | 64x64x1 grayscale | 703,907 | 701,283 |" in out
    assert "| resnet_quick | Kendal (2019) |" in out  # every registered model, experiments' too
    assert "| numeric-loss | Suzuki et al. (2021) |" in out
    assert "seeds/" not in out


def test_reproduce_unknown_experiment_names_the_known_ones(capsys):
    assert main(["reproduce", "nope"]) == 2
    assert "Unknown experiment 'nope'" in capsys.readouterr().err


def test_reproduce_runs_the_experiment_through_the_console_entry(tmp_path):
    out = tmp_path / "res"
    proc = subprocess.run(
        [sys.executable, "-m", "kerasdoc", "reproduce", "numeric-loss", "--quick", "--models",
         "dnn", "--trials", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Table 1" in proc.stdout and "trial 1/1" in proc.stdout
    assert json.loads((out / "results.json").read_text())["experiment"] == "numeric-loss"


def test_help_documents_each_command():
    proc = subprocess.run([sys.executable, "-m", "kerasdoc", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "list" in proc.stdout and "reproduce" in proc.stdout


def test_flag_choices_are_the_librarys_names():
    """The CLI's TensorFlow-free choices (kerasdoc.constants) are the library's own."""
    from kerasdoc import constants, distribute
    from kerasdoc.generators import ops, spec

    assert distribute.STRATEGIES is constants.STRATEGIES
    assert tuple(spec.COLOR_MODES) == constants.COLOR_MODES
    assert ops.RESIZE_MODES is constants.RESIZE_MODES


def test_a_missing_or_wrong_model_file_fails_before_tensorflow_starts(tmp_path):
    # each command's model file is checked first: one line, status 2, TensorFlow not imported
    not_zip = tmp_path / "model.keras"
    not_zip.write_text("not a zip")
    cases = {
        ("evaluate", str(tmp_path / "no.keras"), "--data", str(tmp_path)):
            f"kerasdoc evaluate: Model file {tmp_path / 'no.keras'} does not exist.",
        ("export", str(not_zip), "--name", "m", "--base-dir", str(tmp_path / "out")):
            f"kerasdoc export: {not_zip} is not a readable .keras model: it is not a zip "
            "archive (9 bytes; truncated, or another format).",
        ("evaluate", str(tmp_path), "--data", str(tmp_path)):
            f"kerasdoc evaluate: Model file {tmp_path} is a directory, not a .keras file",
    }
    code = ("import sys; from kerasdoc.cli import main; rc = main(sys.argv[1:]); "
            "print(rc, 'tensorflow' in sys.modules)")
    for argv, line in cases.items():
        proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                              text=True, timeout=60)
        assert proc.stdout.split() == ["2", "False"], (argv, proc.stdout, proc.stderr[-500:])
        assert proc.stderr.startswith(line) and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert list((tmp_path / "out").iterdir()) == []  # checked writable first; nothing written


def test_train_names_a_bad_model_or_folder_before_tensorflow_and_writes_nothing(tmp_path):
    # a typo in the model name or --data used to leave an empty run folder (runs/<model>) behind
    code = ("import sys; from kerasdoc.cli import main; rc = main(sys.argv[1:]); "
            "print(rc, 'tensorflow' in sys.modules)")
    cases = {
        ("train", "no_such_model", "--data", str(tmp_path), "--out", str(tmp_path / "r1")):
            "kerasdoc train: Unknown model 'no_such_model'. Expected one of: ",
        ("train", "digits_dnn", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r2")):
            f"kerasdoc train: image folder not found: {tmp_path / 'nope'} (expected a folder",
        ("train", "digits_dnn", "--data", str(tmp_path), "--val", str(tmp_path / "v"), "--out",
         str(tmp_path / "r3")):
            f"kerasdoc train: image folder not found: {tmp_path / 'v'} (expected a folder",
    }
    for argv, line in cases.items():
        proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                              text=True, timeout=60, cwd=tmp_path)
        assert proc.stdout.split() == ["2", "False"], (argv, proc.stdout, proc.stderr[-500:])
        assert proc.stderr.startswith(line) and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert argv[1] != "no_such_model" or "digits_dnn" in proc.stderr  # the models there are
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no --out, no runs/ folder


def test_train_early_check_lets_archives_through(tmp_path):
    # --data may be an archive (data.tgz) or a folder inside one (data.tgz/train): resolved
    # later by the loader, so the early check only refuses paths with nothing on disk
    import argparse

    from kerasdoc.cli import check_inputs

    archive = tmp_path / "data.tgz"
    archive.write_bytes(b"x")
    for data in (archive, archive / "train", tmp_path):
        check_inputs(argparse.Namespace(command="train", model="digits_dnn", data=str(data),
                                        val=None))
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        check_inputs(argparse.Namespace(command="train", model="digits_dnn",
                                        data=str(tmp_path / "no" / "train"), val=None))
