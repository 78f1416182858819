"""Images/s of the stacked RVL-CDIP pipeline: one SavedModel (each page decoded once, 5 crops in
the graph) against the 5 members on 5 separately decoded flows, in the same run.

Das et al. (2018) / the blog classify a page with 5 models (holistic, top, bottom, left, right)
and a meta-MLP. Served naively that is 5 reads and decodes of every page; the exported ensemble
(``kerasdoc.stacking.export_pipeline``) decodes each page once. Both paths are timed here on the
same pages, alternating, ``--repeats`` times; the median images/s of each and their ratio are
printed (timings on a shared machine are noisy; compare the ratio within one run).

Usage::

    python -m benchmarks.rvl_inference --pipeline results/rvl-cdip-mini \\
        --saved-model results/rvl-cdip-mini/saved_models/rvl_cdip_stack \\
        --labels ../shared/data/rvl-cdip-mini/labels/val.txt --root ../shared/data/rvl-cdip-mini
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import tensorflow as tf

from kerasdoc.export import resolve_version_dir
from kerasdoc.generators.label_files import parse_label_file, resolve_under
from kerasdoc.reporting import write_json
from kerasdoc.stacking import StackedPipeline, member_probabilities, stack_predict


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print and return the medians (images/s) and their ratio."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.rvl_inference", description=__doc__)
    p.add_argument("--pipeline", required=True, help="run folder with pipeline.json")
    p.add_argument("--saved-model", required=True, help="exported ensemble (name or version)")
    p.add_argument("--labels", required=True, help="label file of the pages to classify")
    p.add_argument("--root", required=True, help="folder the label file's paths are under")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)

    rel, _ = parse_label_file(args.labels, root=args.root)
    paths = [str(resolve_under(args.root, r)) for r in rel]
    pipe = StackedPipeline(args.pipeline)
    for m in pipe.models:
        m.jit_compile = False
    fn = tf.saved_model.load(str(resolve_version_dir(args.saved_model))).signatures[
        "serving_default"]

    def served() -> np.ndarray:
        out = []
        for i in range(0, len(paths), args.batch_size):
            data = [tf.io.read_file(f) for f in paths[i:i + args.batch_size]]
            out.append(fn(images=tf.stack(data))["probabilities"].numpy())
        return np.concatenate(out)

    def five_flows() -> np.ndarray:
        members = member_probabilities(pipe.models, pipe.specs, paths,
                                       batch_size=args.batch_size)
        return stack_predict(pipe.stacker, members)

    a, b = served(), five_flows()  # warm-up (tracing), and the two paths agree
    times: dict[str, list[float]] = {"one_savedmodel_decode_once": [], "five_flows": []}
    for _ in range(args.repeats):
        for name, f in (("one_savedmodel_decode_once", served), ("five_flows", five_flows)):
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    ips = {k: len(paths) / statistics.median(v) for k, v in times.items()}
    res = {"pages": len(paths), "batch_size": args.batch_size, "repeats": args.repeats,
           "images_per_second": {k: round(v, 2) for k, v in ips.items()},
           "speedup_one_savedmodel": round(ips["one_savedmodel_decode_once"] /
                                           ips["five_flows"], 2),
           "class_agreement": float((a.argmax(-1) == b.argmax(-1)).mean()),
           "max_abs_difference": float(np.abs(a - b).max()), "seconds": times}
    print(json.dumps({k: v for k, v in res.items() if k != "seconds"}, indent=1))
    if args.out:
        write_json(args.out, res)
    return res


if __name__ == "__main__":
    main()
