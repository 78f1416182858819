"""Images/s of the MNIST-C corruptions: one vectorised batch call against a per-image Python loop.

Gutierrez & Sze, "How Deep Can We Go? A Case Study on Image Classification" (2023) take their
distorted digits from MNIST-C (Mu & Gilmer 2019); ``kerasdoc.generators.corruptions`` re-implements
its 15
corruptions vectorised over a batch (one NumPy / SciPy call per batch, one random draw per
image). This benchmark times, in the same run and on the same 28x28 digits, each corruption on a
whole batch against the same function called image by image from a Python loop (what a
per-image ``preprocessing_function`` or a port of MNIST-C's per-image code does), alternating
the two ``--repeats`` times; it prints the median images/s of each and their ratio, plus the
process's wall and CPU time. Timings on a shared machine are noisy: compare the ratio within one
run.

Data: Kannada-MNIST digits (``--data``, MNIST idx files; the default is
``../shared/data/kannada-mnist``); without that folder, generated bar digits (said so).

Usage::

    python -m benchmarks.corruptions --batch 1000 --loop-images 100 --repeats 3 \\
        --out results/benchmarks/corruptions.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from kerasdoc.generators.corruptions import CORRUPTIONS, benchmark_corruptions
from kerasdoc.reporting import write_json

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kannada-mnist"


def load_digits(data: str | Path | None, n: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """``n`` 28x28 uint8 digits and a label saying where they came from."""
    root = Path(data) if data else DEFAULT_DATA
    images = root / "kannada-images-idx3-ubyte.gz"
    if images.is_file():
        from kerasdoc.generators.sources import load_idx

        x = load_idx(images)
        idx = np.random.default_rng(seed).choice(len(x), size=min(n, len(x)), replace=False)
        return x[idx], f"Kannada-MNIST digits ({images})"
    if data:
        raise FileNotFoundError(f"--data {root}: expected kannada-images-idx3-ubyte.gz")
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        r, c = (int(v) for v in rng.integers(4, 12, size=2))
        x[i, r:r + 12, c:c + 4] = 255
    return x, "generated bar digits (the Kannada-MNIST folder is absent)"


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print a table and return the figures."""
    from kerasdoc.reporting import markdown_table

    p = argparse.ArgumentParser(prog="python -m benchmarks.corruptions", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="Kannada-MNIST folder (idx files)")
    p.add_argument("--batch", type=int, default=1000, help="images in the vectorised batch")
    p.add_argument("--loop-images", type=int, default=100,
                   help="images the per-image loop times (it is slow)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--corruptions", default=",".join(CORRUPTIONS),
                   help="comma-separated names (default: identity and the 15)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = p.parse_args(argv)

    wall0, cpu0 = time.perf_counter(), sum(os.times()[:2])
    x, source = load_digits(args.data, args.batch, args.seed)
    names = [c.strip() for c in args.corruptions.split(",") if c.strip()]
    runs = [benchmark_corruptions(x, names, loop_images=args.loop_images, seed=args.seed + r)
            for r in range(args.repeats)]
    rows = []
    for i, name in enumerate(names):
        batch = statistics.median(r[i]["batch_ips"] for r in runs)
        loop = statistics.median(r[i]["loop_ips"] for r in runs)
        rows.append({"name": name, "batch_images_per_s": round(batch, 1),
                     "loop_images_per_s": round(loop, 1), "speedup": round(batch / loop, 1)})
    corrupting = [r for r in rows if r["name"] != "identity"]
    total_batch = 1.0 / sum(1.0 / r["batch_images_per_s"] for r in corrupting)
    total_loop = 1.0 / sum(1.0 / r["loop_images_per_s"] for r in corrupting)
    res = {"data": source, "image_size": list(x.shape[1:]), "batch": len(x),
           "loop_images": min(args.loop_images, len(x)), "repeats": args.repeats,
           "rows": rows,
           "all_15_in_sequence": {"batch_images_per_s": round(total_batch, 1),
                                  "loop_images_per_s": round(total_loop, 1),
                                  "speedup": round(total_batch / total_loop, 1)},
           "median_speedup": statistics.median(r["speedup"] for r in corrupting),
           "wall_seconds": round(time.perf_counter() - wall0, 1),
           "cpu_seconds": round(sum(os.times()[:2]) - cpu0, 1)}
    print(f"Data: {source}; {len(x)} images of {x.shape[1]}x{x.shape[2]} in one batch, "
          f"{res['loop_images']} in the per-image loop, median of {args.repeats} runs.")
    print(markdown_table(["corruption", "batch (images/s)", "per-image loop (images/s)",
                          "speedup"],
                         [[r["name"], r["batch_images_per_s"], r["loop_images_per_s"],
                           f"{r['speedup']}x"] for r in rows]))
    t = res["all_15_in_sequence"]
    print(f"All 15 corruptions one after another: {t['batch_images_per_s']} images/s batched vs "
          f"{t['loop_images_per_s']} per image ({t['speedup']}x); median speedup "
          f"{res['median_speedup']}x. Wall {res['wall_seconds']} s, CPU {res['cpu_seconds']} s.")
    if args.out:
        write_json(args.out, res)
    return res


if __name__ == "__main__":
    main()
