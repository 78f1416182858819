"""benchmarks/trials.py runs its three cases and checks what it claims (tiny sizes)."""

from __future__ import annotations

import re

from benchmarks import trials


def test_benchmark_prints_each_case_with_its_ratio_and_the_same_weights(capsys):
    assert trials.main(["--epochs", "2", "--trials", "2", "--rows", "80", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for feed in ("keras", "epoch_arrays"):
        assert re.search(rf"iter\(\) of the {feed} feed: \d+\.\d\d ms CPU", out)
    rows = {m[0]: m[1:] for m in re.findall(
        r"^(.+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)$", out, re.M)}
    assert list(rows) == list(trials.CASES)
    assert rows["keras"][2:] == ("1.00", "1.00")  # the reference's own ratios
    assert "ends with epoch_arrays' weights: True" in out
