"""The benchmark script runs end to end on a few real pages (a smoke test, not a timed test)."""

from __future__ import annotations

import pytest

from benchmarks import generators as bench


@pytest.mark.data
def test_benchmark_script_runs_on_a_few_pages(shared_data, tmp_path):
    res = bench.main(["--data", str(shared_data / "rvl-cdip-mini"), "--limit", "48",
                      "--repeats", "1", "--skip-training", "--out", str(tmp_path)])
    assert res["images"] == 48
    assert {"a/b", "a/c", "a/d", "g/d", "f/d"} <= set(res["ratios"])
    # the band's partial decode gives the full decode's pixels
    assert res["reduced_decode_vs_full_decode_0_255"]["top band (g vs a)"]["max"] == 0
    assert all(v > 0 for v in res["throughput_images_per_s"].values())
    assert (tmp_path / "results.json").is_file() and (tmp_path / "results.md").is_file()
