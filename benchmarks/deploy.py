"""Size and latency of one model exported as SavedModel, LiteRT and ONNX (CPU, one run).

Builds a registered model (default ``invoice_resnet``, the invoice paper's lightweight ResNet,
64 x 64 grayscale, padded to keep the page's aspect), exports it three times with the same image
spec, and times, on decoded uint8 pages of ``--page`` size (height x width; the resize / pad /
scaling run inside every format), at batch 1 and 32:

* SavedModel ``predict_tensor_uint8`` (``tf.saved_model.load``; what ``kerasdoc export`` writes
  for TF Serving, here called in process);
* LiteRT (``ai-edge-litert``'s interpreter, builtin ops only);
* ONNX (``onnxruntime``, CPU provider).

Each figure is the median of ``--repeats`` timed calls after warm-up, the formats interleaved
round robin in one process (ratios within one run are what to compare on a shared machine).
Also printed: size on disk, conversion time, largest probability difference from the Keras
model and whether every image gets the same class; and the run's wall and CPU time.

Usage::

    flock /tmp/kd-heavy.lock python -m benchmarks.deploy [--model invoice_resnet]
        [--page 800 600] [--repeats 10] [--threads 2] [--out results/benchmarks]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from benchmarks.serving import median_seconds
from kerasdoc import deploy
from kerasdoc.export import export_model
from kerasdoc.generators.spec import ImageSpec


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()
               and "assets.extra" not in f.parts)


def _export_all(model, spec, names, tmp, formats):
    """Export each format; returns {format: (runner, bytes, seconds)}."""
    out = {}
    for fmt in formats:
        t0 = time.perf_counter()
        path = export_model(model, "bench", tmp, format=fmt, class_names=names, spec=spec,
                            **({} if fmt == "saved_model" else {"verify": False}))
        secs = time.perf_counter() - t0
        out[fmt] = (path, _size(path), secs)
        print(f"{fmt}: exported in {secs:.1f} s, {out[fmt][1] / 1e6:.2f} MB", flush=True)
    return out


def _runner(fmt: str, path: Path, threads: int | None):
    if fmt == "saved_model":
        fn = tf.saved_model.load(str(path)).signatures["predict_tensor_uint8"]
        return lambda x: {k: v.numpy() for k, v in fn(images=tf.constant(x)).items()}
    return deploy.PortableModel(path, num_threads=threads)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print the table and return its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="invoice_resnet")
    p.add_argument("--image-size", type=int, nargs=2, default=None,
                   help="model input height width (default: the registered model's)")
    p.add_argument("--page", type=int, nargs=2, default=[800, 600],
                   help="height width of the decoded pages fed to every format")
    p.add_argument("--repeats", type=int, default=10, help="timed calls per figure (batch 1)")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="CPU threads of LiteRT and onnxruntime (TensorFlow: its default)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    p.add_argument("--out", default=None, help="write deploy.json here")
    args = p.parse_args(argv)
    wall0, cpu0 = time.perf_counter(), time.process_time()

    from kerasdoc.models import get_model

    keras.utils.set_random_seed(0)
    kw = {"input_shape": (*args.image_size, 1)} if args.image_size else {}
    model = get_model(args.model, **kw)
    spec = ImageSpec.for_model(model, resize_mode="pad")
    names = [f"class_{i}" for i in range(model.output_shape[-1])]
    formats = ["saved_model"] + [f for f in deploy.PORTABLE_FORMATS if deploy.runtime_available(f)]
    print(f"model {model.name}: {model.count_params():,} parameters, spec {spec.input_shape} "
          f"{spec.resize_mode}; pages {args.page[0]}x{args.page[1]}; TF {tf.__version__}, Keras "
          f"{keras.__version__}, {deploy._versions('litert')}, {deploy._versions('onnx')}",
          flush=True)
    wrapper = deploy.build_pixel_classifier(model, class_names=names, spec=spec)
    rows, figures = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        exported = _export_all(model, spec, names, tmp, formats)
        runners = {f: _runner(f, exported[f][0], args.threads) for f in formats}
        rng = np.random.default_rng(0)
        for batch in args.batches:
            x = rng.integers(0, 256, (batch, *args.page, spec.channels), dtype=np.uint8)
            ref = wrapper(tf.constant(x))["probabilities"].numpy()
            reps = max(3, args.repeats if batch == 1 else args.repeats // 3)
            t = median_seconds({f: (lambda r=r, x=x: r(x)) for f, r in runners.items()}, reps,
                               warmup=1)
            for f in formats:
                got = runners[f](x)["probabilities"]
                diff = float(np.max(np.abs(got - ref)))
                same = int(np.sum(got.argmax(-1) == ref.argmax(-1)))
                figures.setdefault(f, {"bytes": exported[f][1],
                                       "export_seconds": exported[f][2]})
                figures[f][f"batch_{batch}"] = {"seconds": t[f], "max_abs_difference": diff,
                                                "same_class": same, "images": batch}
                rows.append([f, batch, f"{exported[f][1] / 1e6:.2f}", f"{t[f] * 1000:.1f}",
                             f"{t[f] / t['saved_model']:.2f}", f"{diff:.1e}",
                             f"{same}/{batch}"])
            print(f"batch {batch}: done ({reps} timed calls each)", flush=True)

    from kerasdoc.reporting import markdown_table

    print()
    print(markdown_table(["format", "batch", "size MB", "median ms", "ratio to SavedModel",
                          "max |p - Keras|", "same class"], rows))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"run: wall {wall:.1f} s, CPU {cpu:.1f} s; load average (1 min) {load}; cores "
          f"{os.cpu_count()}; LiteRT / onnxruntime threads {args.threads}")
    result = {"model": model.name, "parameters": int(model.count_params()),
              "spec": spec.get_config(), "page": args.page, "figures": figures,
              "wall_seconds": wall, "cpu_seconds": cpu, "load_average": load,
              "threads": args.threads}
    if args.out:
        from kerasdoc.reporting import write_json

        print(f"wrote {write_json(Path(args.out) / 'deploy.json', result)}")
    return result


if __name__ == "__main__":
    main()
