"""A GPU check: each paper's model at the paper's input size, a fixed number of training steps
under the auto strategy, mixed precision and XLA off and on.

For every case (the papers' models below) and each of the four settings (float32 or mixed
precision, XLA off or on) it builds the model inside ``kerasdoc.distribute.get_strategy("auto")``
(a TPU, ``MirroredStrategy`` over several GPUs, the one GPU, else the CPU), compiles it with the
paper's loss, trains ``--warmup`` steps (tracing and compiling) and then ``--steps`` timed
steps on synthetic data of the global batch, and prints:

* images per second over the timed steps (global batch x steps / wall seconds);
* the peak device memory of those steps (``tf.config.experimental.get_memory_info``, GPU 0;
  ``n/a`` on the CPU);
* whether the loss stayed finite at every step;
* whether the model's outputs are float32 (a mixed-precision model must keep its last layer in
  float32).

Without a GPU or TPU it says so and runs the same steps at a tiny size on the CPU: each model's
small test build from the registry (``test_kwargs``: a small input, and for a few models fewer
units; the paper's number of classes) with a batch of 4, so that the whole path (strategy,
policies, XLA, the losses) is exercised. Those figures say nothing about GPU speed.

Usage::

    python -m benchmarks.gpu                       # every case, four settings each
    python -m benchmarks.gpu --models invoice_resnet,resnet50 --steps 50
    python -m benchmarks.gpu --json results/gpu.json

A case that fails (out of memory, an op without an XLA kernel) is reported in its row and the
others go on.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True)
class Case:
    """One paper's model at the paper's input size."""

    paper: str
    model: str
    input_shape: tuple[int, int, int]
    num_classes: int
    batch: int  # per replica, at full size
    loss: str = "sparse_categorical_crossentropy"  # or "numeric", "mse" (image to image)


#: The papers' models at their input sizes (the batch is per replica).
CASES = (
    Case("invoice", "invoice_resnet", (224, 224, 1), 3, 32),
    Case("rvl-cdip", "holistic_inception_resnet_v2", (256, 256, 3), 16, 32),
    Case("numeric-loss", "digits_dnn", (28, 28, 1), 10, 128, "numeric"),
    Case("numeric-loss", "digits_cnn", (28, 28, 1), 10, 128, "numeric"),
    Case("numeric-loss", "digits_rnn", (28, 28, 1), 10, 128, "numeric"),
    Case("robustness", "digits_vit", (28, 28, 1), 10, 128),
    Case("robustness", "robust_cnn", (28, 28, 1), 10, 128),
    Case("robustness", "distortion_detector", (28, 28, 1), 16, 128),
    Case("robustness", "conv_denoiser", (28, 28, 1), 0, 128, "mse"),
    Case("robustness", "svhn_cnn", (32, 32, 3), 10, 128),
    Case("robustness", "svhn_denoising_cnn", (32, 32, 3), 10, 128),
    Case("persian-ocr", "resnet34", (224, 224, 3), 10, 64),
    Case("persian-ocr", "resnet50", (299, 299, 3), 10, 32),
)
#: (mixed precision, XLA) settings, in the order they run.
SETTINGS = ((False, False), (False, True), (True, False), (True, True))
#: The batch per replica in CPU mode.
CPU_BATCH = 4


def accelerators() -> dict[str, Any]:
    """The visible GPUs and TPUs (``{"gpus": [...], "tpu": bool}``), with GPU names."""
    import tensorflow as tf

    from kerasdoc.distribute import _tpu_present

    gpus = []
    for d in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(d)
        gpus.append(f"{d.name} ({details.get('device_name', 'GPU')}, "
                    f"compute capability {details.get('compute_capability', '?')})")
    return {"gpus": gpus, "tpu": bool(_tpu_present())}


def build_kwargs(case: Case, full: bool) -> dict[str, Any]:
    """The builder's arguments: the paper's size, or the registry's small test build."""
    from kerasdoc.models import model_spec

    if full:
        kwargs: dict[str, Any] = {"input_shape": case.input_shape}
        if case.num_classes:
            kwargs["num_classes"] = case.num_classes
        return kwargs
    kwargs = dict(model_spec(case.model).test_kwargs)
    if case.num_classes:  # the paper's classes (the numeric loss needs the 10 digits)
        kwargs["num_classes"] = case.num_classes
    return kwargs


def _loss(case: Case):
    if case.loss == "numeric":
        from kerasdoc.losses import CombinedNumericLoss

        return CombinedNumericLoss(alpha=0.05, beta=0.9)
    return case.loss


def _data(model, case: Case, batch: int, seed: int = 0):
    """One synthetic global batch ``(x, y)`` for ``model``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = tuple(model.input_shape[1:])
    x = rng.uniform(0, 1, (batch, *shape)).astype("float32")
    if case.loss == "mse":
        return x, x
    n = int(model.output_shape[-1])
    return x, rng.integers(0, n, batch).astype("int32")


def _memory(device: str | None) -> dict[str, int] | None:
    import tensorflow as tf

    if device is None:
        return None
    try:
        return tf.config.experimental.get_memory_info(device)
    except (ValueError, RuntimeError):
        return None


def run_case(case: Case, mixed: bool, xla: bool, *, full: bool, steps: int, warmup: int,
             strategy, batch: int | None = None) -> dict[str, Any]:
    """Train ``case`` for ``warmup`` + ``steps`` steps under ``strategy``; its figures."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdoc.distribute import global_batch_size, set_mixed_precision

    row: dict[str, Any] = {"paper": case.paper, "model": case.model,
                           "precision": "mixed" if mixed else "float32", "xla": xla}
    device = "GPU:0" if tf.config.list_logical_devices("GPU") else None
    policy = set_mixed_precision(mixed)
    row["policy"] = policy
    try:
        per_replica = batch or (case.batch if full else CPU_BATCH)
        gbatch = global_batch_size(per_replica, strategy)
        kwargs = build_kwargs(case, full)
        with strategy.scope():
            from kerasdoc.models import get_model

            model = get_model(case.model, **kwargs)
            model.compile(keras.optimizers.Adam(1e-4), loss=_loss(case), jit_compile=xla)
        x, y = _data(model, case, gbatch)
        row.update(input="x".join(map(str, model.input_shape[1:])), global_batch=gbatch)
        ds = tf.data.Dataset.from_tensors((x, y)).repeat()
        losses: list[float] = []
        record = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda b, logs: losses.append(float(logs["loss"])))
        model.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0, callbacks=[record],
                  shuffle=False)
        if device:
            tf.config.experimental.reset_memory_stats(device)
        start = time.perf_counter()
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[record],
                  shuffle=False)
        seconds = time.perf_counter() - start
        mem = _memory(device)
        out = model.predict_on_batch(x[: max(1, min(2, len(x)))])
        row.update(images_per_s=round(gbatch * steps / seconds, 1),
                   peak_memory_mib=round(mem["peak"] / 2**20) if mem else None,
                   loss_finite=bool(losses) and all(math.isfinite(v) for v in losses),
                   last_loss=losses[-1] if losses else None,
                   outputs_float32=np.asarray(out).dtype == np.float32,
                   output_dtype=str(np.asarray(out).dtype), error=None)
    except Exception as e:  # noqa: BLE001 - a failing case is a row, the others go on
        row.update(error=f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}")
    finally:
        set_mixed_precision(False)
        keras.backend.clear_session()
        gc.collect()
    return row


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if key == "peak_memory_mib":
        return "n/a" if value is None else f"{value:,} MiB"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return "" if value is None else str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""
    from kerasdoc.reporting import markdown_table

    head = ["paper", "model", "input", "global batch", "precision", "XLA", "images/s",
            "peak device memory", "loss finite", "float32 outputs"]
    body = []
    for r in rows:
        cells = [r["paper"], r["model"], _cell(r, "input"), _cell(r, "global_batch"),
                 r["precision"], "on" if r["xla"] else "off"]
        if r.get("error"):
            cells += [f"failed: {r['error']}", "", "", ""]
        else:
            cells += [_cell(r, k) for k in ("images_per_s", "peak_memory_mib", "loss_finite",
                                            "outputs_float32")]
        body.append(cells)
    return markdown_table(head, body)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu",
                                description=__doc__.split("\n\n")[0].replace("\n", " "))
    p.add_argument("--models", default=None,
                   help="comma-separated model names (default: every case: "
                        + ", ".join(c.model for c in CASES) + ")")
    p.add_argument("--steps", type=int, default=None,
                   help="timed steps per setting (default: 20 on an accelerator, 2 on the CPU)")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed steps first (tracing, XLA compilation; default: 3, CPU 1)")
    p.add_argument("--batch", type=int, default=None,
                   help="batch per replica for every case (default: each case's, CPU 4)")
    p.add_argument("--settings", default="all", choices=("all", "float32", "mixed"),
                   help="which precision settings to run (each with XLA off and on)")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    return p


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = build_parser().parse_args(argv)
    from kerasdoc.cli import import_tensorflow_quietly
    from kerasdoc.tfstartup import TrainerRetracingFilter

    import_tensorflow_quietly()
    import tensorflow as tf

    # each case builds new models: Keras' trainer functions are traced once per model, which
    # TensorFlow reports as "retracing" after five (a Run drops it the same way)
    logging.getLogger("tensorflow").addFilter(TrainerRetracingFilter())

    from kerasdoc.distribute import describe, get_strategy

    strategy = get_strategy("auto")  # before other TensorFlow work
    found = accelerators()
    full = bool(found["gpus"] or found["tpu"])
    names = args.models.split(",") if args.models else [c.model for c in CASES]
    unknown = sorted(set(names) - {c.model for c in CASES})
    if unknown:
        raise SystemExit(f"unknown model(s): {', '.join(unknown)}; the cases are "
                         f"{', '.join(c.model for c in CASES)}")
    steps = args.steps or (20 if full else 2)
    warmup = args.warmup or (3 if full else 1)
    settings = [s for s in SETTINGS if args.settings == "all"
                or s[0] == (args.settings == "mixed")]
    if full:
        print("accelerators: " + ", ".join(found["gpus"] + (["TPU"] if found["tpu"] else [])))
    else:
        print("No GPU or TPU is visible: running the same steps at a tiny size on the CPU "
              "(each model's small test build, batch 4); these figures say nothing about GPU "
              "speed.")
    print(f"TensorFlow {tf.__version__}; strategy {describe(strategy)['strategy']}, "
          f"{strategy.num_replicas_in_sync} replica(s); {warmup} warm-up + {steps} timed "
          f"steps per setting", flush=True)
    rows = []
    start, cpu0 = time.perf_counter(), time.process_time()
    for case in (c for c in CASES if c.model in names):
        for mixed, xla in settings:
            rows.append(run_case(case, mixed, xla, full=full, steps=steps, warmup=warmup,
                                 strategy=strategy, batch=args.batch))
            r = rows[-1]
            print(f"  {case.model} {r['precision']} XLA {'on' if xla else 'off'}: "
                  + (f"failed: {r['error']}" if r.get("error") else
                     f"{r['images_per_s']} images/s"), flush=True)
    print()
    print(table(rows))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU; "
          f"process peak RSS {peak_rss:,.0f} MiB")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"accelerators": found, "full_size": full,
                                               "steps": steps, "warmup": warmup, "rows": rows},
                                              indent=2))
    return rows


if __name__ == "__main__":
    rows = main()
    sys.exit(1 if any(r.get("error") for r in rows) else 0)
