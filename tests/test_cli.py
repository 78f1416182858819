"""The `kerasdoc` command: list and reproduce."""

import json
import subprocess
import sys

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
