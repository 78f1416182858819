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


def test_fit_ratios_pair_each_round_with_itself():
    """Best against best, and the median of each round's own ratio: a slow spell that spans
    one round (here round 2, both calls 3x slower) moves neither."""
    a = {"images_per_s": 100.0, "images_per_cpu_s": 50.0, "wall_s": [1.0, 3.0, 1.1],
         "cpu_s": [2.0, 2.2, 2.1]}
    b = {"images_per_s": 100.0, "images_per_cpu_s": 50.0, "wall_s": [1.0, 3.3, 1.0],
         "cpu_s": [2.0, 2.2, 2.3]}
    r = bench._ratios(a, b)
    assert (r["ratio"], r["cpu_ratio"]) == (1.0, 1.0)
    # per round b's time over a's (a's images/s over b's): 1.0, 1.1, 0.909 -> median 1.0
    assert r["paired_ratio"] == 1.0
    assert r["paired_cpu_ratio"] == 1.0  # 1.0, 1.0, 1.095


def test_pace_pairs_each_round_of_epochs_with_itself():
    """The flow's epochs against the reference's: pooled medians, and the median of each
    round's own ratio, which a slow spell spanning one round (round 2: both feeds 2x) leaves
    alone while a feed slower in every round shows in both."""
    walls = {"flow": [[1.1, 1.1, 1.2], [2.2, 2.2, 2.4], [1.1, 1.0, 1.1]],
             "memory": [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [1.0, 1.0, 1.0]]}
    cpus = {"flow": [[2.0], [2.0], [2.0]], "memory": [[2.0], [2.0], [2.0]]}
    r = bench.pace_summary(walls, cpus, "memory")
    assert r["paired_overhead"] == 0.1  # rounds: 1.1 / 1.0, 2.2 / 2.0, 1.1 / 1.0
    assert r["overhead"] == 0.1  # pooled medians 1.1 / 1.0
    assert (r["cpu_overhead"], r["paired_cpu_overhead"]) == (0.0, 0.0)
    slow_spell = {"flow": [[1.0], [2.0], [1.0]], "memory": [[1.0], [1.0], [2.0]]}
    assert bench.pace_summary(slow_spell, cpus, "memory")["paired_overhead"] == 0.0


@pytest.mark.slow  # eight models built and traced: ~50 s on two cores
@pytest.mark.data
def test_pace_runs_each_recipe_in_rounds(shared_data, tmp_path):
    """``--pace`` end to end on 8 real rvl-cdip pages and a made-up invoice folder (2 classes
    of 3 photos): every recipe's feeds, the rounds' epochs and both kinds of figures."""
    import numpy as np
    from PIL import Image

    inv = tmp_path / "invoices"
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (inv / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (90, 70, 3), np.uint8)).save(inv / c / f"{i}.jpg")
    root = shared_data / "rvl-cdip-mini"
    lf, _, _ = bench._label_file(root, 8, tmp_path)
    out = bench.recipe_pace(root, lf, inv, epochs=2, rounds=2)
    assert len(out) == 3  # rvl-cdip, invoice (the recipe's cache setting), invoice (the other)
    for res in out.values():
        assert res["rounds"] == 2 and len(res["flow"]["epoch_s"]) == 2  # 2 rounds, 1 epoch each
        assert all(np.isfinite(res[k]) for k in ("overhead", "cpu_overhead", "paired_overhead",
                                                  "paired_cpu_overhead"))
    augmented = [r for r in out.values() if "memory, augmented" in r]
    assert len(augmented) == 1 and np.isfinite(augmented[0]["paired_overhead_augmented"])
