"""The cost of a ``fit`` of a new model with and without
:func:`kerasdoc.keras_internals.build_before_fit`, in one run (reference: Keras' plain ``fit``).

Keras 3's TensorFlow trainer creates the optimizer's and compiled metrics' variables in the
first trace of the training step, so TensorFlow traces the step a second time;
``build_before_fit`` builds them first. Each case: a fresh model (same seed), compiled with Adam
and accuracy, one epoch of 160 random images with validation, timed from ``fit`` to its end;
the traces of ``train_step`` are counted and the final losses compared.

    python -m benchmarks.fit_overhead                     # resnet_quick 24 px, digits_cnn 28 px
    python -m benchmarks.fit_overhead --models resnet18 --size 32 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def one_fit(name: str, size: int, channels: int, prebuild: bool) -> tuple[float, float, int, float]:
    """(wall s, CPU s, train_step traces, final loss) of one fresh model's one-epoch fit."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdoc.keras_internals import build_before_fit
    from kerasdoc.models import get_model

    rng = np.random.default_rng(0)
    x = rng.random((160, size, size, channels), np.float32)
    y = np.arange(160) % 10
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    keras.utils.set_random_seed(0)
    model = get_model(name, input_shape=(size, size, channels), num_classes=10)
    traces = []
    step = model.train_step

    def counted(data):
        traces.append(1)
        return step(data)

    model.train_step = counted
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    wall, cpu = time.perf_counter(), time.process_time()
    if prebuild:
        build_before_fit(model, ds)
    hist = model.fit(ds, epochs=1, validation_data=ds, verbose=0)
    return (time.perf_counter() - wall, time.process_time() - cpu, len(traces),
            hist.history["loss"][-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["resnet_quick", "digits_cnn"])
    p.add_argument("--size", type=int, default=None, help="input size (default: 24 for "
                   "resnet_quick, 28 otherwise)")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)
    print("model | fit | wall s (median) | CPU s (median) | traces | loss")
    for name in args.models:
        size = args.size or (24 if name == "resnet_quick" else 28)
        channels = 3 if name.startswith("resnet") else 1
        rows = {}
        for _ in range(args.repeats):  # interleaved: both see the same machine
            for prebuild in (False, True):
                rows.setdefault(prebuild, []).append(one_fit(name, size, channels, prebuild))
        for prebuild, runs in rows.items():
            label = "build_before_fit + fit" if prebuild else "fit (Keras, reference)"
            print(f"{name} | {label} | {statistics.median(r[0] for r in runs):.2f} | "
                  f"{statistics.median(r[1] for r in runs):.2f} | {runs[0][2]} | "
                  f"{runs[0][3]:.6f}")
        ratio = (statistics.median(r[0] for r in rows[True])
                 / statistics.median(r[0] for r in rows[False]))
        print(f"{name}: wall ratio (build_before_fit / reference) {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
