"""The cost of :func:`kerasdoc.export.export_for_serving` with Keras' plain
``ExportArchive.write_out`` (the reference) and with
:func:`kerasdoc.keras_internals.write_export_archive`, in one run.

Keras' ``write_out`` traces every endpoint to list its variables, outside the save context, and
``tf.saved_model.save`` traces it again inside (a function's traces are keyed by the save
options' variable policy); ``write_export_archive`` lists them under the save context, so the
save reuses those traces. Each case: the same trained-from-init model exported to a new
folder (three signatures: bytes, float and uint8 tensors), the endpoints' traces counted, and
the served probabilities compared between the two SavedModels.

    python -m benchmarks.export_overhead                   # resnet_quick 32 px, 3 repeats
    python -m benchmarks.export_overhead --model digits_cnn --size 28 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def one_export(model, plain: bool) -> tuple[float, float, int, str]:
    """(wall s, CPU s, endpoint traces, version folder) of one export of ``model``."""
    import kerasdoc.export as export
    from kerasdoc.keras_internals import write_export_archive

    traces = []
    serving = export._Serving
    originals = {n: getattr(serving, n) for n in ("serve_bytes", "serve_tensor")}

    def counted(fn):
        def wrapper(self, images):
            traces.append(1)  # the Python body runs once per trace
            return fn(self, images)
        return wrapper

    def keras_write_out(archive, path, *, verbose=False, options=None):
        archive.write_out(path, options=options, verbose=verbose)

    for n, fn in originals.items():
        setattr(serving, n, counted(fn))
    export.write_export_archive = keras_write_out if plain else write_export_archive
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        path = export.export_for_serving(model, "bench", tempfile.mkdtemp(),
                                         class_names=[str(k) for k in range(10)])
        return time.perf_counter() - wall, time.process_time() - cpu, len(traces), str(path)
    finally:
        export.write_export_archive = write_export_archive
        for n, fn in originals.items():
            setattr(serving, n, fn)


def main(argv=None) -> int:
    import numpy as np
    import tensorflow as tf

    from kerasdoc.models import get_model

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="resnet_quick")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    channels = 3 if args.model.startswith("resnet") else 1
    model = get_model(args.model, input_shape=(args.size, args.size, channels), num_classes=10)
    x = np.random.default_rng(0).uniform(0, 1, (4, args.size, args.size, channels))
    rows: dict[bool, list] = {}
    for _ in range(args.repeats):  # interleaved: both see the same machine
        for plain in (True, False):
            rows.setdefault(plain, []).append(one_export(model, plain))
    served = [tf.saved_model.load(rows[plain][0][3]).signatures["predict_tensor"](
        images=tf.constant(x, tf.float32))["probabilities"].numpy() for plain in (True, False)]
    print(f"{args.model} {args.size} px, {args.repeats} interleaved exports each")
    print("writer | wall s (median) | CPU s (median) | endpoint traces")
    for plain, runs in rows.items():
        label = "ExportArchive.write_out (Keras, reference)" if plain else "write_export_archive"
        print(f"{label} | {statistics.median(r[0] for r in runs):.2f} | "
              f"{statistics.median(r[1] for r in runs):.2f} | {runs[0][2]}")
    print(f"served probabilities, largest difference: {np.abs(served[0] - served[1]).max():.2e}")
    for i, what in ((0, "wall"), (1, "CPU")):
        ratio = (statistics.median(r[i] for r in rows[False])
                 / statistics.median(r[i] for r in rows[True]))
        print(f"{what} ratio (write_export_archive / reference) {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
