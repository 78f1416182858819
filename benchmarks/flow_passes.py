"""The input pipelines alone, no model: what ``model.fit(flow)`` reads against
``flow.dataset`` (the named reference), and the gather chunk of an epoch pass over a table in
memory, in one run.

``fit`` rates of a tiny model move by more than 10% between epochs of one pipeline on a busy
two-core VM (``benchmarks.generators --fit``: its unseeded row compares a pipeline with
itself). The only difference between ``fit(flow)`` and ``fit(flow.dataset)`` is the pipeline:
a seeded flow gives ``fit`` its epoch-keyed pass (``Flow.get_tf_dataset``), ``flow.dataset`` is
one fixed pass. Here both are iterated alone, in turns (alternating which goes first), and
their CPU seconds per pass compared, for each flow kind of ``benchmarks.generators --fit``
(rvl-cdip-mini, 224 x 224 RGB, rescale 1/255, batch 32, shuffled, seed 0).

``--gather``: one epoch pass over a table of random images (``pipeline._gathered``, batched by
32) with 256 rows per gather (the reference, the chunk before 9c56320) against
``pipeline.gather_rows``' chunk (at most ``GATHER_BYTES``).

``--iterators``: an epoch of a flow's pipeline as Keras 3's ``fit`` reads a dataset
(``fit(flow.dataset)``; ``fit(flow)`` too before ``keras_adapter.keep_iterator``: ``iter()``
at the epoch's start, every batch, and the one more ``iter()`` Keras makes when an epoch
ends), with the flow's dataset functions built by ``kerasdoc.generators.tfdata`` against the
same flow built with ``Dataset.map`` / ``Dataset.flat_map`` (the reference: each iterator runs
Grappler over every function again), for the invoice and rvl-cdip recipes' flows and a seeded
``flow(x, y)``.

    python -m benchmarks.flow_passes --data ../shared/data/rvl-cdip-mini
    python -m benchmarks.flow_passes --gather-only
    python -m benchmarks.flow_passes --iterators
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _seconds(fns: dict, rounds: int, before=None, wall: bool = False) -> dict[str, list[float]]:
    """CPU (``wall``: wall) seconds of each call of ``fns``, after one untimed call each,
    ``rounds`` rounds in turns (order reversed every other round; ``benchmarks.generators``)."""
    from benchmarks.generators import in_turns

    timed = in_turns(fns, rounds, alternate=True, before=before)
    return {k: (walls if wall else cpus) for k, (walls, cpus) in timed.items()}


def _drain(ds) -> None:
    for _ in ds:
        pass


def _cpu_per_pass(pairs: dict, rounds: int, before=None) -> dict[str, list[float]]:
    """CPU seconds of each pass of each dataset in ``pairs`` (:func:`_seconds`)."""
    return _seconds({k: lambda ds=ds: _drain(ds) for k, ds in pairs.items()}, rounds, before)


def flow_passes(root: Path, rounds: int) -> dict:
    """Per flow kind: CPU seconds per pass of ``fit(flow)``'s pass and of ``flow.dataset``."""
    from benchmarks.generators import _fit_feeds, _label_file

    lf, _, _ = _label_file(root, None, Path(tempfile.mkdtemp(prefix="bench_passes_")))
    out = {}
    print("| flow | fit(flow)'s pass CPU s (min / median) | flow.dataset (reference) | ratio "
          "of medians |\n|---|---|---|---|", flush=True)
    for kind, flow in _fit_feeds(root, lf, 32, 224)["flows"].items():
        t = _cpu_per_pass({"fit(flow)": flow.get_tf_dataset(), "flow.dataset": flow.dataset},
                          rounds, flow.on_epoch_begin)
        a, b = t["fit(flow)"], t["flow.dataset"]
        ratio = statistics.median(a) / statistics.median(b)
        out[kind] = {"fit(flow)": a, "flow.dataset": b, "ratio": round(ratio, 3)}
        print(f"| {kind} | {min(a):.2f} / {statistics.median(a):.2f} | {min(b):.2f} / "
              f"{statistics.median(b):.2f} | {ratio:.2f} |", flush=True)
    return out


def gather_chunks(rounds: int) -> dict:
    """One epoch pass over tables of three row sizes: 256 rows per gather against
    ``gather_rows``' chunk."""
    import numpy as np
    import tensorflow as tf

    from kerasdoc.generators import pipeline

    tables = {"1,200 x 224 x 224 x 3 float32": ((1200, 224, 224, 3), "float32"),
              "1,200 x 128 x 128 x 3 uint8": ((1200, 128, 128, 3), "uint8"),
              "600 x 64 x 64 x 1 uint8": ((600, 64, 64, 1), "uint8")}
    key = tf.constant([1, 7], tf.int64)
    out = {}
    print("| table | 256 rows per gather (reference) CPU s (min / median) | gather_rows "
          "| ratio of medians |\n|---|---|---|---|", flush=True)
    default = pipeline.GATHER_BYTES
    for name, (shape, dtype) in tables.items():
        table = tf.constant((np.random.default_rng(0).random(shape) * 255).astype(dtype))
        pipeline.GATHER_BYTES = 1 << 62  # 256 rows whatever their size
        ref = pipeline._gathered(table, key).batch(32)
        pipeline.GATHER_BYTES = default
        rows = pipeline.gather_rows(table)
        now = pipeline._gathered(table, key).batch(32)
        t = _cpu_per_pass({"256": ref, "now": now}, rounds)
        ratio = statistics.median(t["now"]) / statistics.median(t["256"])
        out[name] = {"256 rows": t["256"], f"{rows} rows": t["now"], "ratio": round(ratio, 3)}
        print(f"| {name} | {min(t['256']):.3f} / {statistics.median(t['256']):.3f} | "
              f"{min(t['now']):.3f} / {statistics.median(t['now']):.3f} ({rows} "
              f"row{'s' if rows != 1 else ''}) | "
              f"{ratio:.2f} |", flush=True)
        del table, ref, now
    return out


def _recipe_flows(root: Path, invoice_root: Path) -> dict:
    """name -> a function building that flow (the recipes' own settings)."""
    from types import SimpleNamespace

    import numpy as np

    from benchmarks.generators import _label_file
    from kerasdoc.experiments.invoice import make_generators
    from kerasdoc.generators import ImageDataGenerator
    from kerasdoc.generators.spec import ImageSpec
    from kerasdoc.recipes import resolve

    lf, _, _ = _label_file(root, None, Path(tempfile.mkdtemp(prefix="bench_iters_")))
    inv = SimpleNamespace(**resolve("invoice", "cpu").values)
    spec = ImageSpec((inv.image_size, inv.image_size), inv.color_mode, rescale=1 / 255,
                     resize_mode=inv.resize_mode)
    x = (np.random.default_rng(0).random((512, 28, 28, 1)) * 255).astype("uint8")
    y = np.arange(512) % 10

    def invoice(cache):
        return lambda: make_generators(inv, 0.0, 0)[0].flow_from_directory(
            invoice_root, spec=spec, batch_size=inv.batch_size, seed=0, cache=cache)

    return {
        f"invoice recipe (augmented, 64 x 64 gray, cache={inv.cache})": invoice(inv.cache),
        f"invoice recipe with cache={not inv.cache}": invoice(not inv.cache),
        "rvl-cdip recipe (128 x 128 RGB, cached)": lambda: ImageDataGenerator(
            rescale=1 / 255).flow_from_labelfile(lf, root, target_size=(128, 128),
                                                 num_classes=16, batch_size=32, seed=0,
                                                 cache=True),
        "flow(x, y) seeded, 512 x 28 x 28 x 1 (numeric-loss size)": lambda: ImageDataGenerator(
            rescale=1 / 255).flow(x, y, batch_size=64, seed=0),
    }


def iterators(root: Path, invoice_root: Path, rounds: int) -> dict:
    """Per flow: wall and CPU seconds of an epoch as ``fit`` reads it, and of ``iter()``
    alone, with ``tfdata``'s maps against ``Dataset.map`` (the reference)."""
    from kerasdoc.generators import tfdata

    def keras_epoch(ds):
        def epoch():
            _drain(ds)
            iter(ds)  # Keras' EpochIterator makes the next epoch's iterator when one ends
        return epoch

    out = {}
    print("| flow | epoch as fit reads it, CPU s median: Dataset.map (reference) | tfdata | "
          "ratio | iter() alone, ms median: reference | tfdata |\n|---|---|---|---|---|---|",
          flush=True)
    usable = tfdata._usable
    for name, make in _recipe_flows(root, invoice_root).items():
        tfdata._usable = lambda: False  # the reference: every function through Dataset.map
        try:
            ref = make()
            ref_ds = ref.get_tf_dataset()
        finally:
            tfdata._usable = usable
        now = make()
        now_ds = now.get_tf_dataset()

        def begin(flows=(ref, now)):
            for f in flows:
                f.on_epoch_begin()

        ep = _seconds({"reference": keras_epoch(ref_ds), "tfdata": keras_epoch(now_ds)},
                          rounds, begin)
        it = _seconds({"reference": lambda ds=ref_ds: iter(ds),
                           "tfdata": lambda ds=now_ds: iter(ds)}, rounds, begin, wall=True)
        a, b = statistics.median(ep["reference"]), statistics.median(ep["tfdata"])
        ia, ib = (statistics.median(it["reference"]) * 1e3,
                  statistics.median(it["tfdata"]) * 1e3)
        out[name] = {"epoch_cpu_s": {"reference": ep["reference"], "tfdata": ep["tfdata"]},
                     "ratio": round(b / a, 3), "iter_ms": [round(ia, 1), round(ib, 1)]}
        print(f"| {name} | {a:.3f} | {b:.3f} | {b / a:.2f} | {ia:.1f} | {ib:.1f} |",
              flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.flow_passes", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/rvl-cdip-mini", help="rvl-cdip-mini root")
    p.add_argument("--rounds", type=int, default=8, help="timed passes per pipeline")
    p.add_argument("--gather-only", action="store_true", help="only the gather chunks")
    p.add_argument("--iterators", action="store_true",
                   help="only an epoch's iterators: tfdata's maps against Dataset.map")
    p.add_argument("--invoice-data", default="../shared/data/sroie-vendors/train",
                   help="invoice folder (one sub-folder per class) for --iterators")
    args = p.parse_args(argv)
    t, c = time.perf_counter(), time.process_time()
    out = {}
    if args.iterators:
        out["iterators"] = iterators(Path(args.data), Path(args.invoice_data), args.rounds)
        print(f"{time.perf_counter() - t:.0f} s wall, {time.process_time() - c:.0f} s CPU",
              flush=True)
        return out
    if not args.gather_only:
        root = Path(args.data)
        if not (root / "labels" / "train.txt").is_file():
            raise FileNotFoundError(f"{root}: expected rvl-cdip-mini with labels/train.txt")
        out["flow_passes"] = flow_passes(root, args.rounds)
    out["gather"] = gather_chunks(args.rounds)
    print(f"{time.perf_counter() - t:.0f} s wall, {time.process_time() - c:.0f} s CPU",
          flush=True)
    return out


if __name__ == "__main__":
    main()
