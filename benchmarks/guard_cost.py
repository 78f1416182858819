"""The size guard's cost: the flows' header checks and a serving call, per code checkout.

For each code root (a checkout before the guard, this one ...), a fresh process times
``check_files`` over rvl-cdip-mini (best of 5, microseconds per file) and ``serving_default`` on
64 pages with a 64x64 grayscale model (best of 3, wall and CPU milliseconds per page). Usage::

    flock /tmp/kd-heavy.lock python -m benchmarks.guard_cost ROOT_BEFORE ROOT_AFTER ...
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

_CODE = r'''
import glob, json, sys, time
import keras, tensorflow as tf
from kerasdoc.export import export_for_serving
from kerasdoc.generators.files import check_files
from kerasdoc.generators.spec import ImageSpec
files = sorted(glob.glob("/work/shared/data/rvl-cdip-mini/images/*/*"))
best = 1e9
for _ in range(5):
    t = time.perf_counter()
    check_files(files)
    best = min(best, time.perf_counter() - t)
keras.utils.set_random_seed(0)
inp = keras.Input((64, 64, 1))
x = keras.layers.GlobalAveragePooling2D()(inp)
m = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))
d = export_for_serving(m, "s", sys.argv[1], class_names=["a", "b", "c"],
                       spec=ImageSpec((64, 64), "grayscale"))
serve = tf.saved_model.load(str(d)).signatures["serving_default"]
data = tf.constant([open(f, "rb").read() for f in files[:64]])
serve(images=data[:2])
wall = cpu = 1e9
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    serve(images=data)
    wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
print(json.dumps({"files": len(files), "check_files_us_per_file": round(best / len(files) * 1e6, 1),
                  "serve_ms_per_page": round(wall / 64 * 1000, 2),
                  "serve_cpu_ms_per_page": round(cpu / 64 * 1000, 2)}))
'''


def main(roots: list[str]) -> None:
    for root in roots:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3")
            out = subprocess.run([sys.executable, "-c", _CODE, tmp], env=env,
                                 capture_output=True, text=True, cwd=tmp)
            ok = out.returncode == 0
            print(root, out.stdout.strip().splitlines()[-1] if ok else out.stderr[-1500:],
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
