"""Lightness measured: parameters, FLOPs per image and CPU latency of the five Table 1 models.

Wang et al. (seeds/000) call their model lightweight from its parameter count alone. This
benchmark measures, for alexnet, zfnet, vgg16, resnet18 (the paper's layout) and
invoice_resnet at the same input (default 64x64x1, 3 classes):

- parameters (trainable, the paper's convention, and Keras' ``count_params``);
- FLOPs per image, counted from the layer shapes (2 x multiply-adds of every Conv2D and Dense,
  plus one operation per output element of BatchNormalization, activations, additions and
  pooling);
- inference latency on the CPU, batch 1 and batch 32: a compiled ``model(x, training=False)``,
  warmed up, then ``--repeats`` rounds in which every model runs once in turn (interleaved, so
  that load from other processes hits all models alike); the median per model is reported,
  and every figure is also given as a ratio to ResNet-18 measured in the same run.

Usage:
    python -m benchmarks.invoice_models                    # 64x64, prints a markdown table
    python -m benchmarks.invoice_models --image-size 128 --repeats 30 --out results/bench
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODELS = ("alexnet", "zfnet", "vgg16", "resnet18", "invoice_resnet")
REFERENCE = "resnet18"


def _shape(t) -> tuple[int, ...]:
    return tuple(int(d) for d in t.shape[1:])


def count_flops(model) -> int:
    """FLOPs of one forward pass of one image, from the layer shapes.

    Paper: seeds/000 (the "lightweight" claim, measured). Convolutions and dense layers count
    2 x multiply-adds (bias additions included in the 2); BatchNormalization, activations,
    ``Add`` and pooling count one operation per output element (pooling: per window element).
    Layers without arithmetic (input, flatten, dropout at inference) count 0.

    Args:
        model: a built functional ``keras.Model`` with a fixed input size.

    Returns:
        int FLOPs per image.

    Example:
        >>> import keras
        >>> x = keras.Input((8, 8, 2))
        >>> m = keras.Model(x, keras.layers.Conv2D(4, 3, padding="same", name="c")(x))
        >>> count_flops(m) == 2 * 8 * 8 * 4 * 3 * 3 * 2
        True
    """
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        out = _shape(layer.output)
        n_out = int(np.prod(out))
        if isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            cin = _shape(layer.input)[-1]
            total += 2 * n_out * kh * kw * cin // layer.groups
        elif isinstance(layer, layers.Dense):
            total += 2 * _shape(layer.input)[-1] * layer.units
        elif isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
            total += n_out * int(np.prod(layer.pool_size))
        elif isinstance(layer, layers.GlobalAveragePooling2D):
            total += int(np.prod(_shape(layer.input)))
        elif isinstance(layer, (layers.BatchNormalization, layers.Activation, layers.Add,
                                layers.ReLU)):
            total += n_out
        # Flatten, Dropout, Reshape: no arithmetic at inference.
        if getattr(layer, "activation", None) is not None and not isinstance(
                layer, layers.Activation):
            name = getattr(layer.activation, "__name__", "")
            if name not in ("linear", ""):
                total += n_out
    return int(total)


def build(name: str, image_size: int, num_classes: int = 3):
    from kerasdoc.models import get_model

    kwargs = {"input_shape": (image_size, image_size, 1), "num_classes": num_classes}
    if name == "resnet18":
        kwargs["paper_layout"] = True
    return get_model(name, **kwargs)


def measure_latency(models: dict, batch: int, repeats: int, warmup: int = 3,
                    seed: int = 0) -> dict[str, float]:
    """Median seconds per call of each model on one batch, interleaving models per round.

    Args:
        models: dict name -> keras.Model.
        batch: int. Batch size.
        repeats: int. Timed rounds.
        warmup: int. Untimed calls per model first (tracing, allocation).
        seed: int. Seed of the random input.

    Returns:
        dict name -> median seconds per call.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    fns, inputs = {}, {}
    for name, m in models.items():
        fns[name] = tf.function(lambda x, m=m: m(x, training=False), reduce_retracing=True)
        shape = (batch, *m.input_shape[1:])
        inputs[name] = tf.constant(rng.uniform(0, 1, shape).astype("float32"))
        for _ in range(warmup):
            fns[name](inputs[name]).numpy()
    times: dict[str, list[float]] = {n: [] for n in models}
    for _ in range(repeats):
        for name in models:
            t0 = time.perf_counter()
            fns[name](inputs[name]).numpy()
            times[name].append(time.perf_counter() - t0)
    return {n: float(np.median(v)) for n, v in times.items()}


def run(image_size: int = 64, repeats: int = 20, models: Sequence[str] = MODELS,
        batches: Sequence[int] = (1, 32)) -> dict:
    """Measure every model; returns ``{name: {...}}`` with absolute values and ratios."""
    from kerasdoc.models.invoice import PAPER_PARAMS
    from kerasdoc.models.weights import trainable_param_count

    if REFERENCE not in models:
        raise ValueError(f"models must include the reference {REFERENCE!r}. Received: {models}")
    built = {n: build(n, image_size) for n in models}
    rows = {n: {"trainable_parameters": trainable_param_count(m),
                "keras_parameters": int(m.count_params()),
                "paper_parameters": PAPER_PARAMS.get(n),
                "flops": count_flops(m)} for n, m in built.items()}
    for b in batches:
        print(f"[bench] latency, batch {b}: {repeats} interleaved rounds ...", flush=True)
        lat = measure_latency(built, b, repeats)
        for n in models:
            rows[n][f"latency_b{b}_ms"] = 1000 * lat[n]
    ref = rows[REFERENCE]
    for n in models:
        r = rows[n]
        r["params_ratio"] = r["trainable_parameters"] / ref["trainable_parameters"]
        r["flops_ratio"] = r["flops"] / ref["flops"]
        for b in batches:
            r[f"latency_b{b}_ratio"] = r[f"latency_b{b}_ms"] / ref[f"latency_b{b}_ms"]
    return rows


def to_markdown(rows: dict, batches: Sequence[int] = (1, 32)) -> str:
    from kerasdoc.reporting import markdown_table

    headers = ["model", "params (trainable)", "x ResNet-18", "MFLOPs / image", "x ResNet-18"]
    for b in batches:
        headers += [f"latency b{b} (ms)", "x ResNet-18"]
    body = []
    for n, r in rows.items():
        row = [n, f"{r['trainable_parameters']:,}", f"{r['params_ratio']:.3f}",
               f"{r['flops'] / 1e6:.1f}", f"{r['flops_ratio']:.3f}"]
        for b in batches:
            row += [f"{r[f'latency_b{b}_ms']:.2f}", f"{r[f'latency_b{b}_ratio']:.2f}"]
        body.append(row)
    return markdown_table(headers, body)


def main(argv: Sequence[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--out", default=None, help="folder for bench.json and bench.md")
    args = p.parse_args(argv)
    import tensorflow as tf

    rows = run(args.image_size, args.repeats, [m.strip() for m in args.models.split(",")])
    md = (f"Input {args.image_size}x{args.image_size}x1, 3 classes, CPU "
          f"({tf.config.threading.get_intra_op_parallelism_threads() or 'default'} intra-op "
          f"threads), median of {args.repeats} interleaved rounds; ratios to {REFERENCE} "
          f"(paper layout) in the same run.\n\n" + to_markdown(rows))
    print(md)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(rows, indent=2) + "\n")
        (out / "bench.md").write_text(md + "\n")
    return rows


if __name__ == "__main__":
    main()
