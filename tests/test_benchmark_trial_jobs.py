"""benchmarks/trial_jobs.py runs its two cases and says which models end alike (tiny sizes)."""

from __future__ import annotations

import re

from benchmarks import trial_jobs


def test_benchmark_prints_both_cases_with_ratios_and_the_weights_check(capsys):
    assert trial_jobs.main(["--models", "digits_dnn", "--epochs", "1", "--trials", "2",
                            "--rows", "80"]) == 0
    out = capsys.readouterr().out
    rows = {m[0]: m[1:] for m in re.findall(
        r"^(.+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)$", out, re.M)}
    assert list(rows) == list(trial_jobs.CASES)
    assert rows["one at a time"][2:] == ("1.00", "1.00")  # the reference's own ratios
    assert float(rows["two at a time"][1]) > 0  # the workers' CPU is counted
    # the DNN sums in the same order with one thread as with TensorFlow's default
    assert "digits_dnn: the same weights one and two at a time: True" in out
