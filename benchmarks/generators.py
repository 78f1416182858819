"""Throughput of the ``generators`` pipeline against three references, measured in one run.

Issue 3's benchmark on ``rvl-cdip-mini`` (decode, to 3 channels, resize to 256 x 256 via the
``top`` crop, rescale 1/255, batch 32, on the cores this process may use):

(a) ``ImageDataGenerator(rescale=1/255).flow_from_labelfile(..., crop="top")`` (a band crop of
    a JPEG decodes only the rows the band reads: the full decode's pixels, bit for bit);
(b) ``keras.utils.image_dataset_from_directory`` on the same images (resized to 512 x 256, the
    same top-256-rows crop and rescale in a ``map``);
(c) a single-threaded Python loop with ``cv2.imread`` + ``cv2.resize`` per image, as the blog's
    generator does;
(d) the full-decode bound: ``tf.io.decode_jpeg(channels=3)`` of the same files at full scale
    with ``num_parallel_calls`` on all cores, nothing else (no resize, no batching): what any
    pipeline that decodes every page in full to the 3 channels it outputs must pay at least.
(d1) the same at the files' own channel count (``channels=0``: 1 for these gray pages),
    for reference (libjpeg's gray-to-RGB copy is part of (d)'s cost).

(a0) (a) with ``check="header"``: the same without the decode guard (``check=True``, the
    default, names or skips a file that fails to decode); a/a0 is what the guard costs.

(e) Keras 2's own ``ImageDataGenerator`` (``tf_keras.preprocessing.image``, else
    ``keras_preprocessing``; skipped when neither is installed), one pass of ``next()``.

(g) (a) with ``reduced_decode=True``: the headers, read once, fix the libjpeg scale every page
    shares (1 here: no DCT scaling for a 1000-row page and a 512-row band) and, the pages being
    gray, decode them gray and copy them to RGB once per batch (the same pixels as (a)).
(f) ours on the whole page at 256 x 256 with ``reduced_decode=True`` (JPEG decoded at 1/2
    scale by libjpeg's DCT scaling), the flow's default ``bilinear`` (antialiased, as PIL);
(f2) the same with ``interpolation="nearest"`` (Keras 2's default).

Targets: (a)/(b) >= 1.2, (a)/(c) >= 2.0, (a)/(e) >= 3.0, and for the reduced decode against
the full-decode bound (g)/(d) and (f)/(d) >= 1.0. Then how far the reduced decode is from the
full decode (mean / max absolute difference), the mean pixel difference against Keras 2 per
interpolation, and the training overhead: one epoch of a small CNN fed by the generator vs fed
from tensors already in memory (epochs after the first, streaming from disk and with
``cache=True``; target within 10%).

``--fit``: ``model.fit(flow)`` against ``model.fit(flow.dataset)`` for each flow kind
(``flow_from_directory`` seeded and unseeded, ``flow_from_labelfile``, ``flow_from_dataframe``,
``flow(x, y)``), ``evaluate`` / ``predict`` and a ``MirroredStrategy`` for the directory flow,
and the same tiny model fed by ``image_dataset_from_directory`` and by Keras 3's legacy
``ImageDataGenerator``: 224 x 224 RGB, rescale 1/255, shuffled; a warm-up epoch each, then the
feeds compared take turns, one epoch each per round (the directory flow's two with both
references), the best of ``FIT_REPEATS`` per feed, per wall and per CPU second.
``--pace``: the CPU recipes' models (rvl-cdip's ``rvl_small_resnet``, the invoice paper's
``invoice_resnet`` with its augmenting generator) fed by their file flow against the same images
from tensors in memory (``--pace-rounds`` rounds of a ``fit`` per feed, the feeds taking turns;
median epoch after each ``fit``'s first, and the median of the rounds' own ratios; target within
10%); for the invoice recipe also against the same tensors augmented every epoch as its flow
does (the file pipeline's own cost, apart from the augmentation's).

Run from the repository root::

    python -m benchmarks.generators --data ../shared/data/rvl-cdip-mini \\
        --out results/bench_generators
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasdoc.generators import ImageDataGenerator, parse_label_file  # noqa: E402

AUTOTUNE = tf.data.AUTOTUNE


def _label_file(root: Path, limit: int | None, tmp: Path) -> tuple[Path, list[str], list[int]]:
    """One label file with every image of the set (train + val), cut to ``limit`` lines."""
    paths, labels = [], []
    for name in ("train.txt", "val.txt"):
        p, lab = parse_label_file(root / "labels" / name, num_classes=16, root=root)
        paths += p
        labels += lab
    if limit:
        paths, labels = paths[:limit], labels[:limit]
    lf = tmp / "all.txt"
    lf.write_text("".join(f"{p} {v}\n" for p, v in zip(paths, labels)))
    return lf, paths, labels


def _time_pass(ds, n_images: int, batched: bool = True) -> tuple[float, float]:
    """``(images per wall second, images per CPU second)`` of one full pass, after a short
    warm-up. CPU time counts every thread of this process, so it is robust to other processes
    sharing the cores; wall time is what a user waits for."""
    for _ in ds.take(2):
        pass
    t, c = time.perf_counter(), time.process_time()
    count = 0
    for batch in ds:
        x = batch[0] if isinstance(batch, tuple) else batch
        count += int(x.shape[0]) if batched else 1
    dt, dc = time.perf_counter() - t, time.process_time() - c
    assert count == n_images, (count, n_images)
    return n_images / dt, n_images / max(dc, 1e-9)


def bench_a(lf: Path, root: Path, batch: int, **kw) -> tuple[float, float]:
    """(a), or with ``check="header"`` (a0): the header checks without the decode guard (a file
    that fails to decode is then TensorFlow's unnamed error), to measure what the guard costs."""
    flow = _flow(lf, root, batch, target_size=None, crop="top", **kw)
    return _time_pass(flow.dataset, flow.samples)


def _flow(lf: Path, root: Path, batch: int, **kw):
    return ImageDataGenerator(rescale=1 / 255).flow_from_labelfile(
        lf, root, color_mode="rgb", num_classes=16, batch_size=batch, shuffle=False, **kw)


def bench_g(lf: Path, root: Path, batch: int) -> tuple[float, float]:
    """(g) (a) with ``reduced_decode=True`` (headers read: fixed scale, gray pages)."""
    flow = _flow(lf, root, batch, target_size=None, crop="top", reduced_decode=True)
    return _time_pass(flow.dataset, flow.samples)


def bench_f(lf: Path, root: Path, batch: int, interpolation: str = "bilinear"
            ) -> tuple[float, float]:
    """(f) ours on the whole page at 256 x 256 with ``reduced_decode=True`` (the JPEG is decoded
    at 1/2 scale: a 1000 x 760 page still covers 256 x 256 at 500 x 380)."""
    flow = _flow(lf, root, batch, target_size=(256, 256), reduced_decode=True,
                 interpolation=interpolation)
    return _time_pass(flow.dataset, flow.samples)


def reduced_decode_difference(lf: Path, root: Path, batch: int) -> dict:
    """Mean and max absolute difference (0-255) of the first batch with ``reduced_decode=True``
    against the same flow decoding every page in full."""
    out = {}
    for name, kw in (("top band (g vs a)", dict(target_size=None, crop="top")),
                     ("full page, bilinear (f)", dict(target_size=(256, 256))),
                     ("full page, nearest (f2)", dict(target_size=(256, 256),
                                                      interpolation="nearest"))):
        full = next(iter(_flow(lf, root, batch, **kw).dataset))[0].numpy() * 255
        fast = next(iter(_flow(lf, root, batch, reduced_decode=True, **kw).dataset))[0]
        d = np.abs(fast.numpy() * 255 - full)
        out[name] = {"mean": round(float(d.mean()), 4), "max": round(float(d.max()), 4)}
    return out


def bench_b(root: Path, rel: list[str], batch: int) -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench_b_"))
    for r in rel:  # the same images, through symbolic links (no copies)
        dst = folder / Path(r).parent.name / Path(r).name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            os.symlink((root / r).resolve(), dst)
    ds = keras.utils.image_dataset_from_directory(
        folder, labels="inferred", label_mode="categorical", color_mode="rgb",
        image_size=(512, 256), batch_size=batch, shuffle=False, follow_links=True, verbose=False)
    ds = ds.map(lambda x, y: (x[:, :256] / 255.0, y), num_parallel_calls=AUTOTUNE)
    return _time_pass(ds.prefetch(AUTOTUNE), len(rel))


def bench_c(paths: list[str], batch: int) -> tuple[float, float]:
    """The blog's generator: one image at a time in Python (cv2), then np.stack a batch."""
    cv2.setNumThreads(1)
    t, c = time.perf_counter(), time.process_time()
    buf = []
    for p in paths:
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        img = cv2.resize(img, (256, 512))[:256]  # intended top crop: 512 high, 256 wide
        buf.append(img.astype(np.float32) / 255.0)
        if len(buf) == batch:
            np.stack(buf)
            buf = []
    if buf:
        np.stack(buf)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return len(paths) / dt, len(paths) / max(dc, 1e-9)


def bench_d(paths: list[str], channels: int = 3) -> tuple[float, float]:
    ds = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda p: tf.shape(tf.io.decode_jpeg(tf.io.read_file(p), channels=channels)),
        num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
    return _time_pass(ds, len(paths), batched=False)


def _keras2_module():
    """The real Keras 2 generator: ``tf_keras.preprocessing.image`` or ``keras_preprocessing``
    (``pip install tf_keras keras_preprocessing``), or None when neither is installed."""
    for name in ("tf_keras.preprocessing.image", "keras_preprocessing.image"):
        try:
            import importlib

            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def bench_e(root: Path, rel: list[str], batch: int) -> tuple[float, float] | None:
    """(e) Keras 2's ``ImageDataGenerator(rescale=1/255).flow_from_dataframe`` (PIL decode and
    resize to 512 x 256, then the top 256 rows), one pass of ``next()`` calls."""
    mod = _keras2_module()
    if mod is None:
        return None
    import pandas as pd

    df = pd.DataFrame({"filename": [str(root / r) for r in rel], "class": "x"})
    it = mod.ImageDataGenerator(rescale=1 / 255).flow_from_dataframe(
        df, None, target_size=(512, 256), class_mode=None, batch_size=batch, shuffle=False,
        interpolation="bilinear")
    t, c = time.perf_counter(), time.process_time()
    for _ in range(len(it)):
        x = next(it)
        x[:, :256]
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return len(rel) / dt, len(rel) / max(dc, 1e-9)


def pixel_differences(root: Path, rel: list[str], size=(128, 96)) -> dict:
    """Mean absolute pixel difference (0-255) of our flow against Keras 2's ``load_img`` resize,
    per interpolation, on real pages."""
    mod = _keras2_module()
    if mod is None:
        return {}
    import pandas as pd

    from kerasdoc.generators import img_to_array, load_img

    load = getattr(mod, "load_img", load_img)
    df = pd.DataFrame({"filename": [str(root / r) for r in rel]})
    out = {}
    for interp in ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"):
        flow = ImageDataGenerator().flow_from_dataframe(
            df, None, target_size=size, class_mode=None, color_mode="grayscale",
            batch_size=len(rel), shuffle=False, interpolation=interp)
        ours = next(iter(flow.dataset)).numpy()
        ref = np.stack([img_to_array(load(str(root / r), color_mode="grayscale",
                                          target_size=size, interpolation=interp))
                        for r in rel])
        out[interp] = round(float(np.mean(np.abs(ours - ref))), 3)
    return out


def small_cnn(num_classes: int = 16) -> keras.Model:
    """A small CNN on 256 x 256 x 3 pages (a strided stem, two conv blocks, a dense head)."""
    inp = keras.Input((256, 256, 3), name="page")
    x = keras.layers.Conv2D(16, 5, strides=4, activation="relu", name="stem")(inp)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu", name="conv1")(x)
    x = keras.layers.Conv2D(64, 3, strides=2, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    model = keras.Model(inp, out, name="bench_cnn")
    model.compile("adam", "categorical_crossentropy")
    return model


def training_overhead(lf: Path, root: Path, batch: int, epochs: int) -> dict:
    """Epoch times of the same model fed by a flow (streaming, and cached) vs by tensors.

    The three runs are interleaved epoch by epoch (one ``fit(epochs=1)`` call each, round
    robin), so load from other processes hits all three alike; the first epoch (tracing, cache
    filling) is reported apart. Wall and CPU seconds (all threads of this process) are kept.
    """
    gen = ImageDataGenerator(rescale=1 / 255)
    kw = dict(target_size=None, crop="top", num_classes=16, batch_size=batch, seed=0)
    stream = gen.flow_from_labelfile(lf, root, **kw)
    cached = gen.flow_from_labelfile(lf, root, cache=True, **kw)
    xs, ys = [], []
    for x, y in gen.flow_from_labelfile(lf, root, shuffle=False, **kw).dataset:
        xs.append(x.numpy())
        ys.append(y.numpy())
    x, y = np.concatenate(xs), np.concatenate(ys)
    tensors = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(batch)
    tensors = tensors.prefetch(AUTOTUNE)
    feeds = {"tensors": tensors, "flow_streaming": stream, "flow_cached": cached}
    models = {}
    for name in feeds:
        keras.utils.set_random_seed(0)
        models[name] = small_cnn()
    wall = {k: [] for k in feeds}
    cpu = {k: [] for k in feeds}
    for e in range(epochs):
        for name, ds in feeds.items():
            t, c = time.perf_counter(), time.process_time()
            models[name].fit(ds, epochs=1, verbose=0, shuffle=False)  # the data shuffles
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
        print(f"  epoch {e + 1}: " + ", ".join(f"{k} {wall[k][-1]:.2f}s" for k in feeds),
              flush=True)
    res = {}
    for name in feeds:
        res[name] = {"epoch_seconds": [round(v, 3) for v in wall[name]],
                     "epoch_cpu_seconds": [round(v, 3) for v in cpu[name]],
                     "after_first": round(float(np.median(wall[name][1:])), 3),
                     "best_after_first": round(float(np.min(wall[name][1:])), 3),
                     "cpu_after_first": round(float(np.median(cpu[name][1:])), 3)}
    base = res["tensors"]
    for name in ("flow_streaming", "flow_cached"):
        r = res[name]
        r["overhead_vs_tensors"] = round(r["after_first"] / base["after_first"] - 1.0, 3)
        r["overhead_best_vs_best"] = round(r["best_after_first"] / base["best_after_first"]
                                           - 1.0, 3)
        r["cpu_overhead_vs_tensors"] = round(r["cpu_after_first"] / base["cpu_after_first"]
                                             - 1.0, 3)
    return res


# ---------------------------------------------------------------------- model.fit(flow) rates
def _tiny_model(shape: tuple, num_classes: int = 16) -> keras.Model:
    """The issue's tiny model: a strided convolution, global pooling, a softmax layer."""
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape)
    x = keras.layers.Conv2D(8, 5, strides=4, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, keras.layers.Dense(num_classes, activation="softmax")(x))
    model.compile("adam", "categorical_crossentropy")
    return model


#: Timed epochs per ``fit`` rate (the best is kept): one epoch of 1,200 pages lasts a few
#: seconds, and single epochs of the same pipeline were measured 40% apart on two cores, so the
#: feeds compared with each other take turns (one timed call each per round, the order reversed
#: every other round): load from other processes, and whatever favours the first or the last
#: call of a round, then fall on all of them alike.
FIT_REPEATS = 6


def in_turns(fns: dict[str, Callable], repeats: int, *, alternate: bool = False,
             before: Callable | None = None, warm_up: bool = True
             ) -> dict[str, tuple[list[float], list[float]]]:
    """Each of ``fns`` once to warm up (tracing, first pass; not with ``warm_up=False``), then
    ``repeats`` rounds in which each is timed once, in turn (the order reversed every other
    round with ``alternate``; ``before()`` ahead of each timed call): per name its wall and CPU
    seconds."""
    for fn in fns.values() if warm_up else ():
        fn()
    out: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in fns}
    for r in range(repeats):
        items = list(fns.items())
        for k, fn in items[::-1] if alternate and r % 2 else items:
            if before is not None:
                before()
            t, c = time.perf_counter(), time.process_time()
            fn()
            out[k][0].append(time.perf_counter() - t)
            out[k][1].append(time.process_time() - c)
    return out


def _timed(fns: dict[str, Callable], n: int, repeats: int = FIT_REPEATS) -> dict:
    """:func:`in_turns` (alternating): per name the best images per wall second and per CPU
    second."""
    return {k: {"images_per_s": round(n / min(walls), 1),
                "images_per_cpu_s": round(n / max(min(cpus), 1e-9), 1), "repeats": repeats,
                "wall_s": walls, "cpu_s": cpus}
            for k, (walls, cpus) in in_turns(fns, repeats, alternate=True).items()}


def _ratios(a: dict, b: dict) -> dict:
    """``a`` over ``b``: images per wall second and per CPU second, best against best
    (``ratio``, ``cpu_ratio``), and the median over the rounds of each round's own ratio
    (``paired_ratio``, ``paired_cpu_ratio``: the two calls of a round ran side by side, so a
    slow spell of the machine that spans a round falls on both)."""
    import statistics

    return {"ratio": round(a["images_per_s"] / b["images_per_s"], 3),
            "cpu_ratio": round(a["images_per_cpu_s"] / b["images_per_cpu_s"], 3),
            "paired_ratio": round(statistics.median(
                tb / ta for ta, tb in zip(a["wall_s"], b["wall_s"], strict=True)), 3),
            "paired_cpu_ratio": round(statistics.median(
                tb / max(ta, 1e-9) for ta, tb in zip(a["cpu_s"], b["cpu_s"], strict=True)), 3)}


def _fit_feeds(root: Path, lf: Path, batch: int, size: int) -> dict:
    """The flows of each kind (same files, 224 x 224 RGB, rescale 1/255, shuffled, seed 0) and
    the references: ``image_dataset_from_directory`` and Keras 3's legacy generator."""
    images = root / "images"
    gen = ImageDataGenerator(rescale=1 / 255)
    kw = dict(target_size=(size, size), batch_size=batch, seed=0)
    d = gen.flow_from_directory(images, **kw)
    import pandas as pd

    df = pd.DataFrame({"filename": d.filepaths,
                       "class": [str(c) for c in d.classes]})
    x = np.concatenate([b[0] for b in ImageDataGenerator().flow_from_directory(
        images, target_size=(size, size), batch_size=batch, shuffle=False).as_numpy_iterator()])
    y = keras.utils.to_categorical(d.classes, 16)  # the unshuffled flow's order is d's order
    feeds = {"flow_from_directory": d,
             "flow_from_directory (unseeded)": gen.flow_from_directory(
                 images, target_size=(size, size), batch_size=batch),
             "flow_from_labelfile": gen.flow_from_labelfile(lf, root, num_classes=16, **kw),
             "flow_from_dataframe": gen.flow_from_dataframe(df, None, **kw),
             "flow(x, y)": gen.flow(x.astype(np.uint8), y, batch_size=batch, seed=0)}
    refs = {"image_dataset_from_directory": keras.utils.image_dataset_from_directory(
        images, label_mode="categorical", image_size=(size, size), batch_size=batch,
        shuffle=True, seed=0, verbose=False).map(
        lambda a, b: (a / 255.0, b), num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)}
    legacy = getattr(getattr(tf.keras, "preprocessing", None), "image", None)
    if legacy is not None and hasattr(legacy, "ImageDataGenerator"):
        refs["Keras 3 legacy ImageDataGenerator"] = legacy.ImageDataGenerator(
            rescale=1 / 255).flow_from_directory(str(images), target_size=(size, size),
                                                 batch_size=batch, seed=0)
    return {"flows": feeds, "references": refs, "samples": d.samples}


def fit_rates(root: Path, lf: Path, batch: int, size: int = 224) -> dict:
    """``model.fit(flow)`` against ``model.fit(flow.dataset)`` per flow kind, ``evaluate`` /
    ``predict`` / a ``tf.distribute`` strategy for the directory flow, and the references, one
    epoch of the tiny model after a warm-up epoch (images per wall second and per CPU second)."""
    feeds = _fit_feeds(root, lf, batch, size)
    n, shape = feeds["samples"], (size, size, 3)

    def fit(data):
        model = _tiny_model(shape)
        # every feed here shuffles itself (Keras would warn that it ignores shuffle=True)
        return lambda: model.fit(data, epochs=1, verbose=0, shuffle=False)

    out: dict = {"fit": {}, "references": {}}
    for i, (kind, flow) in enumerate(feeds["flows"].items()):
        fns = {"fit(flow)": fit(flow), "fit(flow.dataset)": fit(flow.dataset)}
        if i == 0:  # the references take turns with the directory flow (the same files)
            fns.update({name: fit(data) for name, data in feeds["references"].items()})
        timed = _timed(fns, n)
        row = {k: timed[k] for k in ("fit(flow)", "fit(flow.dataset)")}
        row.update(_ratios(row["fit(flow)"], row["fit(flow.dataset)"]))
        out["fit"][kind] = row
        print(f"  {kind}: fit(flow) {row['fit(flow)']['images_per_s']}, fit(flow.dataset) "
              f"{row['fit(flow.dataset)']['images_per_s']} images/s (ratio {row['ratio']}; "
              f"per CPU second {row['cpu_ratio']}; median of the rounds' own ratios "
              f"{row['paired_ratio']}, per CPU second {row['paired_cpu_ratio']})", flush=True)
        for name in feeds["references"]:
            if name in timed:
                out["references"][name] = timed[name]
                print(f"  {name}: {timed[name]['images_per_s']} images/s "
                      f"({timed[name]['images_per_cpu_s']} per CPU second)", flush=True)
    flow = feeds["flows"]["flow_from_directory"]
    model = _tiny_model(shape)
    for name, call in (("evaluate", model.evaluate), ("predict", model.predict)):
        out[name] = _timed({k: lambda c=call, d=d: c(d, verbose=0)
                            for k, d in (("flow", flow), ("flow.dataset", flow.dataset))}, n)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        out["MirroredStrategy fit"] = _timed({"flow": fit(flow), "flow.dataset": fit(flow.dataset)},
                                             n)
    for name in ("evaluate", "predict", "MirroredStrategy fit"):
        r = out[name]
        r.update(_ratios(r["flow"], r["flow.dataset"]))
        print(f"  {name}: flow {r['flow']['images_per_s']}, flow.dataset "
              f"{r['flow.dataset']['images_per_s']} images/s (ratio {r['ratio']}; per CPU second "
              f"{r['cpu_ratio']}; median of the rounds' own ratios {r['paired_ratio']}, per "
              f"CPU second {r['paired_cpu_ratio']})", flush=True)
    return out


class _EpochTimes(keras.callbacks.Callback):
    """Wall and CPU seconds of each epoch of one ``fit`` (as training runs: one call)."""

    def __init__(self):
        super().__init__()
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t, self._c = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.wall.append(time.perf_counter() - self._t)
        self.cpu.append(time.process_time() - self._c)


def _epochs(model: keras.Model, data, epochs: int) -> tuple[list[float], list[float]]:
    timer = _EpochTimes()
    # every feed here shuffles itself (Keras would warn that it ignores shuffle=True)
    model.fit(data, epochs=epochs, verbose=0, callbacks=[timer], shuffle=False)
    return timer.wall, timer.cpu


def _epochs_after_first(model: keras.Model, data, epochs: int, walls: list, cpus: list) -> None:
    """One ``fit``: its epochs after the first, wall and CPU seconds, appended to ``walls`` and
    ``cpus``."""
    wall, cpu = _epochs(model, data, epochs)
    walls.append(wall[1:])
    cpus.append(cpu[1:])


def pace_summary(walls: dict[str, list[list[float]]], cpus: dict[str, list[list[float]]],
                 ref: str, feed: str = "flow") -> dict:
    """``feed`` against ``ref`` from rounds of epoch times (per feed, per round, the epochs
    after each ``fit``'s first): the medians over every epoch of the rounds (``overhead``,
    ``cpu_overhead``: ``feed / ref - 1``) and the median over the rounds of each round's own
    ratio of medians (``paired_overhead``, ``paired_cpu_overhead``: the feeds of a round ran
    side by side, so a slow spell of the machine that spans a round falls on both).

    Example:
        >>> walls = {"flow": [[1.1, 1.1], [2.2, 2.2]], "memory": [[1.0, 1.0], [2.0, 2.0]]}
        >>> cpus = {"flow": [[1.0], [1.0]], "memory": [[1.0], [1.0]]}
        >>> pace_summary(walls, cpus, "memory")["paired_overhead"]
        0.1
    """
    import statistics

    def pooled(d, k):
        return statistics.median(v for r in d[k] for v in r)

    def paired(d):
        return statistics.median(statistics.median(a) / max(statistics.median(b), 1e-9)
                                 for a, b in zip(d[feed], d[ref], strict=True)) - 1

    return {"overhead": round(pooled(walls, feed) / pooled(walls, ref) - 1, 3),
            "cpu_overhead": round(pooled(cpus, feed) / max(pooled(cpus, ref), 1e-9) - 1, 3),
            "paired_overhead": round(paired(walls), 3),
            "paired_cpu_overhead": round(paired(cpus), 3)}


def recipe_pace(root: Path, lf: Path, invoice_root: Path | None, epochs: int,
                rounds: int = 3) -> dict:
    """Training at the input pipeline's pace: each CPU recipe's model fed by its file flow
    (the recipe's generator) vs the same model fed the same images from tensors in memory:
    ``rounds`` rounds, each a ``fit`` of ``epochs`` epochs per feed, the feeds taking turns
    (the order reversed every other round); epochs after each ``fit``'s first, wall and CPU
    seconds (:func:`pace_summary`)."""
    from kerasdoc.models import get_model

    # Each recipe's flow as its experiment builds it: rvl-cdip keeps the decoded pages in memory
    # after the first epoch (``rvl_cdip._flow``: ``cache=True`` unless ``--no-cache``); the
    # invoice experiment's augmenting generator (``invoice.make_generators``) with the cpu
    # recipe's strengths and its ``cache`` setting (``invoice.load_data``), and for comparison
    # the other setting.
    recipes = {"rvl-cdip (rvl_small_resnet, 128 x 128 RGB, batch 32, cached as the recipe)": (
        lambda: ImageDataGenerator(rescale=1 / 255).flow_from_labelfile(
            lf, root, target_size=(128, 128), num_classes=16, batch_size=32, seed=0,
            cache=True),
        lambda: get_model("rvl_small_resnet", input_shape=(128, 128, 3), num_classes=16), None)}
    if invoice_root is not None and invoice_root.is_dir():
        from types import SimpleNamespace

        from kerasdoc.experiments.invoice import make_generators
        from kerasdoc.generators.spec import ImageSpec
        from kerasdoc.recipes import resolve

        inv = SimpleNamespace(**resolve("invoice", "cpu").values)
        spec = ImageSpec((inv.image_size, inv.image_size), inv.color_mode, rescale=1 / 255,
                         resize_mode=inv.resize_mode)

        def invoice_flow(cache):
            return lambda: make_generators(inv, 0.0, 0)[0].flow_from_directory(
                invoice_root, spec=spec, batch_size=inv.batch_size, seed=0, cache=cache)

        def invoice_model():
            return get_model("invoice_resnet", input_shape=(64, 64, 1),
                             num_classes=len([p for p in invoice_root.iterdir() if p.is_dir()]))

        def invoice_augmented_memory(flow):
            """The same decoded 64 x 64 images as tensors in memory, augmented every epoch as
            the flow does (``flow(x, y)`` of the recipe's generator): the file pipeline's
            own cost, without the augmentation's."""
            plain = ImageDataGenerator().flow_from_directory(
                invoice_root, spec=ImageSpec((inv.image_size, inv.image_size), inv.color_mode,
                                             resize_mode=inv.resize_mode),
                batch_size=inv.batch_size, shuffle=False)
            xs, ys = zip(*plain.as_numpy_iterator())
            gen = make_generators(inv, 0.0, 0)[0]
            gen.rescale = 1 / 255  # the spec's scaling (a flow over arrays takes no spec)
            return gen.flow(np.concatenate(xs), np.concatenate(ys), batch_size=flow.batch_size,
                            seed=0)

        recipes[f"invoice (invoice_resnet, 64 x 64 gray, batch 16, augmented, cache={inv.cache}"
                " as the recipe)"] = (invoice_flow(inv.cache), invoice_model,
                                      invoice_augmented_memory)
        recipes[f"invoice, the same flow with cache={not inv.cache}"] = (
            invoice_flow(not inv.cache), invoice_model, None)
    out = {}
    for name, (make_flow, make_model, make_augmented) in recipes.items():
        flow = make_flow()
        xs, ys = [], []
        for b in flow.as_numpy_iterator():
            xs.append(b[0])
            ys.append(b[1])
        x, y = np.concatenate(xs), np.concatenate(ys)
        memory = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(
            flow.batch_size).prefetch(AUTOTUNE)
        feeds = {"flow": flow, "memory": memory}
        if make_augmented is not None:
            feeds["memory, augmented"] = make_augmented(flow)
        loss = "categorical_crossentropy" if y.ndim == 2 else "sparse_categorical_crossentropy"
        models = {}
        for feed in feeds:
            keras.utils.set_random_seed(0)
            models[feed] = make_model()
            models[feed].compile("adam", loss)
        walls: dict[str, list] = {feed: [] for feed in feeds}
        cpus: dict[str, list] = {feed: [] for feed in feeds}

        # each fit's own first epoch is its warm-up: the epochs, not the calls, are timed
        in_turns({feed: functools.partial(_epochs_after_first, models[feed], feeds[feed], epochs,
                                          walls[feed], cpus[feed]) for feed in feeds},
                 rounds, alternate=True, warm_up=False)
        res = {feed: {"epoch_s": [[round(v, 3) for v in rw] for rw in walls[feed]],
                      "after_first": round(float(np.median(np.concatenate(walls[feed]))), 3),
                      "cpu_after_first": round(float(np.median(np.concatenate(cpus[feed]))), 3)}
               for feed in feeds}
        res["rounds"] = rounds
        for ref, key in (("memory", ""), ("memory, augmented", "_augmented")):
            if ref in feeds:
                res.update({k + key: v for k, v in pace_summary(walls, cpus, ref).items()})
        out[name] = res
        line = (f"  {name}: flow {res['flow']['after_first']}s, memory "
                f"{res['memory']['after_first']}s per epoch after the first: "
                f"{res['overhead']:+.1%} wall, {res['cpu_overhead']:+.1%} CPU (rounds' own: "
                f"{res['paired_overhead']:+.1%}, {res['paired_cpu_overhead']:+.1%})")
        if "memory, augmented" in res:
            line += (f"; memory augmented as the flow {res['memory, augmented']['after_first']}s"
                     f": {res['overhead_augmented']:+.1%} wall, "
                     f"{res['cpu_overhead_augmented']:+.1%} CPU (rounds' own: "
                     f"{res['paired_overhead_augmented']:+.1%}, "
                     f"{res['paired_cpu_overhead_augmented']:+.1%})")
        print(line, flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.generators", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/rvl-cdip-mini", help="rvl-cdip-mini root")
    p.add_argument("--limit", type=int, default=None, help="use the first N images only")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5, help="timed passes per pipeline (best)")
    p.add_argument("--epochs", type=int, default=5, help="epochs per training-overhead run")
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--fit", action="store_true",
                   help="also model.fit(flow) rates per flow kind against fit(flow.dataset), "
                        "image_dataset_from_directory and Keras 3's legacy generator")
    p.add_argument("--pace", action="store_true",
                   help="also the CPU recipes' models fed by flows vs tensors in memory")
    p.add_argument("--pace-rounds", type=int, default=3,
                   help="rounds of --pace (each a fit of --epochs epochs per feed, in turns)")
    p.add_argument("--invoice-data", default="../shared/data/sroie-vendors/train",
                   help="invoice folder (one sub-folder per class) for --pace")
    p.add_argument("--skip-passes", action="store_true", help="skip the pass benchmarks")
    p.add_argument("--out", default=None, help="folder for results.json / results.md")
    args = p.parse_args(argv)
    root = Path(args.data)
    if not (root / "labels" / "train.txt").is_file():
        raise FileNotFoundError(f"{root}: expected rvl-cdip-mini with labels/train.txt")
    tmp = Path(tempfile.mkdtemp(prefix="bench_gen_"))
    lf, rel, _ = _label_file(root, args.limit, tmp)
    paths = [str(root / r) for r in rel]
    n = len(paths)
    print(f"rvl-cdip-mini: {n} real pages, batch {args.batch_size}, "
          f"{os.cpu_count()} cores visible, best of {args.repeats} passes", flush=True)
    results: dict = {"images": n, "batch_size": args.batch_size, "cores": os.cpu_count(),
                     "load_average_at_start": [round(v, 2) for v in os.getloadavg()]}
    if args.fit:
        print("\nmodel.fit(flow) vs fit(flow.dataset), per flow kind (224 x 224 RGB, 1/255, "
              f"batch {args.batch_size}, shuffled; images/s):", flush=True)
        results["fit_rates"] = fit_rates(root, lf, args.batch_size)
    if args.pace:
        print(f"\ntraining at the input pipeline's pace ({args.epochs} epochs):", flush=True)
        results["recipe_pace"] = recipe_pace(root, lf, Path(args.invoice_data), args.epochs,
                                             args.pace_rounds)
    if args.skip_passes:
        if args.out:
            from kerasdoc.reporting import write_json

            write_json(Path(args.out) / "results.json", results)
        return results
    fns = {"a": lambda: bench_a(lf, root, args.batch_size),
           "a0": lambda: bench_a(lf, root, args.batch_size, check="header"),
           "b": lambda: bench_b(root, rel, args.batch_size),
           "c": lambda: bench_c(paths, args.batch_size), "d": lambda: bench_d(paths),
           "d1": lambda: bench_d(paths, channels=0)}
    fns["g"] = lambda: bench_g(lf, root, args.batch_size)
    fns["f"] = lambda: bench_f(lf, root, args.batch_size)
    fns["f2"] = lambda: bench_f(lf, root, args.batch_size, "nearest")
    if _keras2_module() is not None:
        fns["e"] = lambda: bench_e(root, rel, args.batch_size)
    tput = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for r in range(args.repeats):  # interleaved, so load from other processes hits all alike
        for k, fn in fns.items():
            w, c = fn()
            tput[k].append(w)
            cpu[k].append(c)
        print(f"  pass {r + 1}: " + ", ".join(f"({k}) {v[-1]:.1f}" for k, v in tput.items())
              + " images/s", flush=True)
    best = {k: max(v) for k, v in tput.items()}
    best_cpu = {k: max(v) for k, v in cpu.items()}
    labels = {"a": "flow_from_labelfile (ours)", "a0": "ours, check='header' (no guard)",
              "b": "image_dataset_from_directory",
              "c": "Python loop, cv2 (blog)", "d": "full-decode bound (decode_jpeg, 3 ch)",
              "d1": "decode_jpeg, 1 ch (reference)", "e": "Keras 2 ImageDataGenerator",
              "g": "ours, reduced_decode=True", "f": "ours, full page, 1/2-scale decode",
              "f2": "ours, full page, 1/2-scale, nearest"}
    results["throughput_images_per_s"] = {labels[k]: round(v, 1) for k, v in best.items()}
    results["throughput_images_per_cpu_s"] = {labels[k]: round(v, 1)
                                              for k, v in best_cpu.items()}
    results["all_passes_images_per_s"] = {labels[k]: [round(x, 1) for x in v]
                                          for k, v in tput.items()}
    targets = {"a/b": 1.2, "a/c": 2.0, "a/e": 3.0, "g/d": 1.0, "f/d": 1.0, "f2/d": 1.0,
               "a/d": None, "g/d1": None, "g/a": None, "a/a0": None}
    targets = {k: v for k, v in targets.items() if all(p in best for p in k.split("/"))}
    ratios = {k: best[k.split("/")[0]] / best[k.split("/")[1]] for k in targets}
    cpu_ratios = {k: best_cpu[k.split("/")[0]] / best_cpu[k.split("/")[1]] for k in targets}
    results["ratios"] = {k: {"value": round(v, 2), "cpu_time_ratio": round(cpu_ratios[k], 2),
                             "target": None if targets[k] is None else f">= {targets[k]}",
                             "met": None if targets[k] is None else bool(v >= targets[k])}
                         for k, v in ratios.items()}
    results["cpu_time_ratios"] = {k: round(v, 2) for k, v in cpu_ratios.items()}
    print(f"\nthroughput, best of {args.repeats} (images per wall second | per CPU second):")
    for k, v in best.items():
        print(f"  ({k}) {labels[k]:38s} {v:8.1f} | {best_cpu[k]:8.1f}")
    print("ratios (wall; CPU-time ratio in brackets):")
    for k, v in ratios.items():
        a, b = k.split("/")
        goal = ("(no target)" if targets[k] is None else
                f"(target >= {targets[k]}: {'met' if v >= targets[k] else 'MISSED'})")
        print(f"  {k} = {v:.2f} [{cpu_ratios[k]:.2f}]  {labels[a]} / {labels[b]} {goal}")
    diff = reduced_decode_difference(lf, root, args.batch_size)
    results["reduced_decode_vs_full_decode_0_255"] = diff
    print("reduced decode vs full decode, |difference| on 0-255 (first batch): " + "; ".join(
        f"{k} mean {v['mean']}, max {v['max']}" for k, v in diff.items()))
    pix = pixel_differences(root, rel[: min(len(rel), 32)])
    if pix:
        results["mean_abs_pixel_difference_vs_keras2"] = pix
        print("mean |ours - Keras 2| per pixel (0-255), 128x96 grayscale: "
              + ", ".join(f"{k} {v}" for k, v in pix.items()))
    if not args.skip_training:
        print(f"\ntraining overhead ({args.epochs} epochs of a small CNN, {n} pages):", flush=True)
        results["training"] = training_overhead(lf, root, args.batch_size, args.epochs)
        for name in ("flow_streaming", "flow_cached"):
            r = results["training"][name]
            o, ob, oc = (r["overhead_vs_tensors"], r["overhead_best_vs_best"],
                         r["cpu_overhead_vs_tensors"])
            print(f"  {name}: {o:+.1%} wall (median epoch after the first; fastest vs fastest "
                  f"{ob:+.1%}; CPU seconds {oc:+.1%}) vs tensors in memory (target within 10%: "
                  f"{'met' if o <= 0.10 else 'MISSED'})")
    results["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load average (1, 5, 15 min) at start {results['load_average_at_start']}, "
          f"at end {results['load_average_at_end']} on {os.cpu_count()} cores")
    if args.out:
        from kerasdoc.reporting import markdown_table, write_results

        rows = [[f"({k}) {labels[k]}", f"{best[k]:.1f}", f"{best_cpu[k]:.1f}"] for k in best]
        md = "# generators benchmark (rvl-cdip-mini)\n\n" + markdown_table(
            ["pipeline", "images/s (wall)", "images per CPU s"], rows) + "\n\n" + markdown_table(
            ["ratio", "wall", "CPU time", "target"],
            [[k, f"{v:.2f}", f"{cpu_ratios[k]:.2f}",
              "" if targets[k] is None else f">= {targets[k]}"] for k, v in ratios.items()])
        if "training" in results:
            md += "\n\n" + markdown_table(
                ["fed by", "epoch s (after first)", "overhead"],
                [[k, v["after_first"], f"{v.get('overhead_vs_tensors', 0):+.1%}"]
                 for k, v in results["training"].items()])
        write_results(args.out, results, vars(args), md)
        print(f"wrote {args.out}/results.json and results.md")
    return results


if __name__ == "__main__":
    main()
