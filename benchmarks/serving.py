"""Latency of an exported SavedModel against ``model.predict`` (ResNet-18 size, CPU, one run).

Builds ``resnet18`` from the registry (the invoice paper's 000 baseline; a ResNet-18 from
``kerasdoc.models.blocks`` where it is not registered), exports it with
:func:`kerasdoc.export.export_for_serving`, loads the SavedModel back with
``tf.saved_model.load`` and times, for a batch of 1 and of 32 images:

* ``model.predict(x)``, the reference;
* ``model(x, training=False)``, a direct call;
* the SavedModel's ``predict_tensor`` signature (float pixels in; resize + rescale inside);
* its ``serving_default`` signature on JPEG bytes (decode + preprocessing inside), what TF
  Serving runs.

Each figure is the median of ``--repeats`` timed calls after warm-up calls, the four paths
interleaved round robin in the same process, and is printed as a ratio to ``model.predict``
(timings on a shared machine are noisy; the ratios in one run are what to compare).

Usage::

    python -m benchmarks.serving [--repeats 20] [--image-size 224] [--out results/benchmarks]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerasdoc.export import export_for_serving
from kerasdoc.generators.spec import ImageSpec


def build_resnet18(size: int, num_classes: int) -> keras.Model:
    """The registry's ``resnet18``, or one built from ``kerasdoc.models.blocks``."""
    from kerasdoc.models import list_models

    if "resnet18" in list_models():
        from kerasdoc.models import get_model

        return get_model("resnet18", input_shape=(size, size, 3), num_classes=num_classes)
    from kerasdoc.models.blocks import apply_resnet_stages, apply_resnet_stem

    inp = keras.Input((size, size, 3), name="image")
    x = apply_resnet_stem(inp, name="stem")
    x = apply_resnet_stages(x, [2, 2, 2, 2], [64, 128, 256, 512], name="stages")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="resnet18_blocks")


def median_seconds(fns: dict[str, Callable[[], object]], repeats: int,
                   warmup: int = 2) -> dict[str, float]:
    """Median wall time of each ``fn()`` over ``repeats`` rounds after ``warmup`` calls each.

    The calls are interleaved round robin (A B C D, A B C D, ...), so a change in machine load
    during the run hits every path alike and the ratios stay comparable.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print the table and return its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20, help="timed calls per figure")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--classes", type=int, default=16)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    p.add_argument("--out", default=None, help="write serving.json here")
    args = p.parse_args(argv)

    keras.utils.set_random_seed(0)
    model = build_resnet18(args.image_size, args.classes)
    print(f"model {model.name}: {model.count_params():,} parameters, input "
          f"{model.input_shape}; TF {tf.__version__}, Keras {keras.__version__}, "
          f"CPU threads {tf.config.threading.get_inter_op_parallelism_threads() or 'default'}",
          flush=True)
    prep = ImageSpec((args.image_size, args.image_size), "rgb")
    with tempfile.TemporaryDirectory() as tmp:
        path = export_for_serving(model, "bench", tmp, class_names=[f"c{i}" for i in
                                                                     range(args.classes)],
                                  spec=prep)
        loaded = tf.saved_model.load(str(path))
        tensor_sig = loaded.signatures["predict_tensor"]
        bytes_sig = loaded.signatures["serving_default"]
        rng = np.random.RandomState(0)
        rows, figures = [], {}
        for batch in args.batches:
            pixels = rng.randint(0, 256, (batch, args.image_size, args.image_size, 3))
            pixels = pixels.astype(np.uint8)
            x = (pixels.astype(np.float32) / 255.0)
            jpegs = tf.constant([tf.io.encode_jpeg(img, quality=95).numpy() for img in pixels])
            pix_t = tf.constant(pixels.astype(np.float32))
            # Same answer first: the exported graph is the Keras model.
            ref = model.predict(x, verbose=0)
            got = tensor_sig(images=pix_t)["probabilities"].numpy()
            max_diff = float(np.abs(got - ref).max())
            reps = max(3, args.repeats if batch == 1 else args.repeats // 4)
            t = median_seconds({
                "model.predict": lambda x=x: model.predict(x, verbose=0),
                "model(x) direct call": lambda x=x: model(x, training=False),
                "SavedModel predict_tensor": lambda p=pix_t: tensor_sig(images=p),
                "SavedModel serving_default (JPEG bytes)": lambda j=jpegs: bytes_sig(images=j),
            }, reps)
            base = t["model.predict"]
            for name, sec in t.items():
                rows.append([batch, name, f"{sec * 1000:.1f}", f"{sec / base:.2f}"])
            figures[f"batch_{batch}"] = {"seconds": t, "ratio_to_predict":
                                         {k: v / base for k, v in t.items()},
                                         "max_abs_diff_probabilities": max_diff,
                                         "repeats": reps}
            print(f"batch {batch}: done ({reps} timed calls each; max |SavedModel - Keras| "
                  f"probability difference {max_diff:.2e})", flush=True)

    from kerasdoc.reporting import markdown_table

    print()
    print(markdown_table(["batch", "path", "median ms", "ratio to model.predict"], rows))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"load average (1 min) at the end: {load}; cores: {os.cpu_count()}")
    result = {"model": model.name, "parameters": int(model.count_params()),
              "image_size": args.image_size, "figures": figures, "load_average": load}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "serving.json").write_text(json.dumps(result, indent=2))
        print(f"wrote {out / 'serving.json'}")
    return result


if __name__ == "__main__":
    main()
