"""Persian OCR workflow (Kendal 2019): ResNet transfer learning, one-cycle, LR finder, resizing.

Kendal's MSc report trains fastai's ``create_cnn(data, models.resnet34)`` on 18 classes of
Persian characters and form words (ImageNet-style folders from ``SplitData7Tar.tgz``):
stage 1 with the body frozen, ``fit_one_cycle(4)`` (error rate 0.0253), then ``unfreeze()``,
``lr_find()`` and ``fit_one_cycle(5, max_lr=slice(1e-6, 1e-4))`` (0.0032), with progressive
resizing 224 -> 352, ``most_confused``, top losses, confusion matrix and heatmaps.

This script wires the same steps from ``kerasdoc``: ``generators.ImageDataGenerator`` reads the
folders (or the archive) with the report's transforms without flips, ``kerasdoc.models``
builds ResNet-34 / ResNet-50 with the fastai head, ``kerasdoc.training`` runs freeze /
``fit_one_cycle`` / ``lr_find`` / discriminative rates / ``with_input_size`` and
``kerasdoc.interpret`` explains the result. The report's own 18 classes are not available; the
real run here is on the Hoda Persian digits (``--data ../shared/data/hoda-digits.tgz``).

Example:
    kerasdoc reproduce persian-ocr --data ../shared/data/hoda-digits.tgz --size 32 --out results/p
    kerasdoc reproduce persian-ocr --quick      # generated demo data, seconds
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from experiments._common import Timer, base_parser, config_of, resolve_out, strategy_of

NAME = "persian-ocr"
PAPER = "persian-ocr"
#: The report's ResNet-34 error rates (its 18-class Persian character / word data, 224 px).
PAPER_ERRORS = {"stage1": 0.025282, "stage2": 0.003228}
NO_IMAGENET = ("No ImageNet weights can be downloaded here: without --weights the ResNet is "
               "trained from scratch (stage 1 then trains only the head on a random frozen body).")


def _parser() -> argparse.ArgumentParser:
    p = base_parser(NAME, __doc__.strip().splitlines()[0])
    p.add_argument("--model", default="resnet34", choices=("resnet34", "resnet50"))
    p.add_argument("--weights", default=None,
                   help="source weights: a .weights.h5 file of the same model, or a .keras "
                        "kerasdoc model whose weights are transferred by layer name")
    p.add_argument("--size", type=int, default=None,
                   help="input size of stages 1-2 (the report: 224; default 32, 2-CPU friendly)")
    p.add_argument("--resize-to", type=int, default=None,
                   help="progressive resizing: stage 3 at this size (the report: 352; 0: skip)")
    p.add_argument("--epochs1", type=int, default=4, help="stage 1 epochs (body frozen)")
    p.add_argument("--epochs2", type=int, default=5, help="stage 2 epochs (unfrozen)")
    p.add_argument("--epochs3", type=int, default=2, help="stage 3 epochs (resized)")
    p.add_argument("--lr1", type=float, default=3e-3, help="stage 1 max LR (fastai default)")
    p.add_argument("--lr2", type=float, nargs=2, default=None, metavar=("START", "END"),
                   help="stage 2 slice(START, END); default: END = the LR finder's valley "
                        "suggestion (clipped to [1e-5, lr1]), START = END / 100")
    p.add_argument("--lr2-from", default="valley", choices=("valley", "steepest", "minimum"),
                   help="which LR finder suggestion sets END when --lr2 is not given")
    p.add_argument("--lr3-div", type=float, default=10.0,
                   help="stage 3 (resized) uses stage 2's slice divided by this (the report: "
                        "slice(1e-6, 1e-3) then slice(1e-6, 1e-4) at 352 px)")
    p.add_argument("--train-fraction", type=float, default=1.0,
                   help="stratified share of the training folder used (for time)")
    p.add_argument("--valid-fraction", type=float, default=1.0,
                   help="stratified share of the validation folder used")
    p.add_argument("--epoch-valid", action="store_true",
                   help="also validate after every epoch (default: after every stage only)")
    p.add_argument("--no-augment", action="store_true", help="switch the transforms off")
    p.add_argument("--lr-find-iters", type=int, default=100)
    p.add_argument("--source-idx", nargs=2, default=None, metavar=("IMAGES", "LABELS"),
                   help="make the source weights here: train the same model on these MNIST idx "
                        "files (e.g. Kannada-MNIST digits) first, then transfer by layer name")
    p.add_argument("--source-fraction", type=float, default=1.0,
                   help="stratified share of the --source-idx images used")
    p.add_argument("--source-epochs", type=int, default=2, help="epochs of source training")
    return p


def _find_split_root(path: Path) -> Path:
    """The folder holding ``train/`` and ``valid/`` (the given one or one level below)."""
    for cand in [path, *sorted(p for p in path.iterdir() if p.is_dir())]:
        if (cand / "train").is_dir() and (cand / "valid").is_dir():
            return cand
    raise FileNotFoundError(f"{path}: expected ImageNet-style folders train/<class>/ and "
                            "valid/<class>/ (here or one level below)")


class _FolderData:
    """Train / valid flows over ``root/{train,valid}/<class>/`` at any size (generators)."""

    def __init__(self, data: str, batch_size: int, seed: int, train_fraction: float,
                 valid_fraction: float, augment: bool):
        from generators import extract_archive
        from generators.files import is_archive

        path = Path(data)
        if not path.exists():
            raise FileNotFoundError(f"--data not found: {path} (expected an archive such as "
                                    "hoda-digits.tgz or a folder with train/ and valid/)")
        root = extract_archive(path) if is_archive(path) and path.is_file() else path
        self.root = _find_split_root(root)
        self.batch_size, self.seed, self.augment = batch_size, seed, augment
        self.fractions = (train_fraction, valid_fraction)
        self.kind = f"real: {data}"

    def _flow(self, part: str, size: int, fraction: float, training: bool):
        from generators import ImageDataGenerator

        aug = dict(rotation_range=10, zoom_range=0.1, brightness_range=(0.8, 1.2),
                   contrast_range=(0.8, 1.2)) if (training and self.augment) else {}
        split = 1.0 - fraction if fraction < 1.0 else 0.0
        gen = ImageDataGenerator(rescale=1 / 255, validation_split=split,
                                 validation_seed=self.seed, **aug)
        return gen.flow_from_directory(
            self.root / part, (size, size), "rgb", class_mode="sparse",
            batch_size=self.batch_size, shuffle=training, seed=self.seed,
            subset="training" if split else None, augment=training and self.augment)

    def flows(self, size: int):
        train = self._flow("train", size, self.fractions[0], True)
        valid = self._flow("valid", size, self.fractions[1], False)
        names = sorted(train.class_indices, key=train.class_indices.get)
        return train, valid, names


class _DemoData:
    """The generated rendered-digits demo set (kerasdoc.demo.digits)."""

    def __init__(self, n_train: int, n_valid: int, batch_size: int, seed: int):
        from kerasdoc.demo.digits import make_rendered_digits

        (self.x, self.y), (self.xv, self.yv), self.names = make_rendered_digits(
            n_train, n_valid, size=64, seed=seed)
        self.batch_size, self.seed = batch_size, seed
        self.kind = "generated demo data (digits rendered with OpenCV fonts)"

    def flows(self, size: int):
        from kerasdoc.demo.digits import array_batches

        train = array_batches(self.x, self.y, size=size, batch_size=self.batch_size,
                              shuffle=True, seed=self.seed)
        valid = array_batches(self.xv, self.yv, size=size, batch_size=self.batch_size)
        return train, valid, self.names


def _channel_stats(ds, n_batches: int = 20) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the first batches (fastai ``normalize()``: data statistics)."""
    xs = [np.asarray(xb) for xb, _ in ds.take(n_batches)]
    x = np.concatenate(xs)
    return x.mean(axis=(0, 1, 2)).tolist(), np.maximum(x.std(axis=(0, 1, 2)), 1e-3).tolist()


def _build(args, size: int, n_classes: int, mean, std) -> keras.Model:
    from kerasdoc.models import get_model
    from kerasdoc.models.resnet import build_resnet

    if args.quick:  # a reduced ResNet so that the test of this script takes seconds
        return build_resnet((size, size, 3), n_classes, blocks=(1, 1, 1, 1),
                            widths=(8, 8, 16, 16), mean=mean, std=std, weights=args.weights,
                            name="resnet_quick")
    return get_model(args.model, input_shape=(size, size, 3), num_classes=n_classes,
                     weights=args.weights, mean=mean, std=std)


def _train_source(args, size: int, batch: int, out: Path, log) -> Path:
    """Train the model on another digit set (idx files) and save it as the source model."""
    import tensorflow as tf

    from generators import ImageDataGenerator, load_idx
    from kerasdoc.training import fit_one_cycle

    x, y = load_idx(args.source_idx[0]), load_idx(args.source_idx[1]).astype("int64")
    if len(x) != len(y):
        raise ValueError(f"--source-idx: {len(x)} images in {args.source_idx[0]} but {len(y)} "
                         f"labels in {args.source_idx[1]}")

    def to_rgb(img):
        img = tf.image.resize(img, (size, size))
        return tf.image.grayscale_to_rgb(img) if img.shape[-1] == 1 else img

    frac = args.source_fraction
    gen = ImageDataGenerator(rescale=1 / 255, preprocessing_function=to_rgb,
                             validation_split=1.0 - frac if frac < 1.0 else 0.0,
                             validation_seed=args.seed)
    flow = gen.flow(x, y, batch_size=batch, seed=args.seed,
                    subset="training" if frac < 1.0 else None)
    mean, std = _channel_stats(flow)
    weights, args.weights = args.weights, None
    src = _build(args, size, int(y.max()) + 1, mean, std)
    args.weights = weights
    log(f"[{NAME}] source model: {flow.samples} images of {args.source_idx[0]}, "
        f"{args.source_epochs} epoch(s) of fit_one_cycle, unfrozen")
    with Timer() as t:
        hist = fit_one_cycle(src, flow, args.source_epochs, args.lr1, verbose=2)
    log(f"[{NAME}] source model trained in {t.seconds:.0f} s (train accuracy "
        f"{hist.history['accuracy'][-1]:.4f})")
    path = out / "source_model.keras"
    src.save(path)
    return path


def _stage(name, model, train, valid, names, epochs, lr, args, log) -> tuple[dict, Any]:
    from kerasdoc.interpret import Interpretation
    from kerasdoc.training import fit_one_cycle

    log(f"[{NAME}] {name}: {epochs} epoch(s), lr_max={lr}, "
        f"{sum(1 for w in model.trainable_weights)} trainable weight tensors")
    with Timer() as t:
        hist = fit_one_cycle(model, train, epochs, lr,
                             validation_data=valid if args.epoch_valid else None, verbose=2)
        interp = Interpretation.from_model(model, valid, names)
    err = interp.error_rate()
    log(f"[{NAME}] {name}: valid error rate {err:.4f} ({t.seconds:.0f} s)")
    return {"stage": name, "epochs": epochs, "group_lrs": hist.group_lrs,
            "error_rate": err, "wall_s": round(t.seconds, 1),
            "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()}}, interp


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the Persian OCR workflow and write results; returns the results dict."""
    from kerasdoc.distribute import describe, global_batch_size
    from kerasdoc.interpret import (
        Interpretation,
        activation_map,
        apply_kernel,
        grad_cam,
        plot_heatmap,
    )
    from kerasdoc.reporting import markdown_table, plot_history, write_results
    from kerasdoc.training import freeze, lr_find, unfreeze, with_input_size

    args = _parser().parse_args(argv)
    strategy = strategy_of(args)  # models are built in its scope; fit follows the model's
    out = resolve_out(args, NAME)
    keras.utils.set_random_seed(args.seed)
    quick = args.quick
    size = args.size or (32 if not quick else 24)
    resize_to = args.resize_to if args.resize_to is not None else (48 if not quick else 32)
    if quick:
        args.epochs1, args.epochs2, args.epochs3 = 1, 1, 1
        args.lr_find_iters = min(args.lr_find_iters, 12)
    if args.epochs:
        args.epochs1 = args.epochs2 = args.epochs3 = args.epochs
    batch = global_batch_size(args.batch_size or (64 if not quick else 32), strategy)

    def log(msg: str) -> None:
        print(msg, flush=True)

    t0 = time.perf_counter()
    if args.data:
        data = _FolderData(args.data, batch, args.seed, args.train_fraction, args.valid_fraction,
                           augment=not args.no_augment)
    else:
        n_train, n_valid = (160, 60) if quick else (3000, 600)
        data = _DemoData(n_train, n_valid, batch, args.seed)
    log(f"[{NAME}] data: {data.kind}; input {size} px, then {resize_to or 'no'} px")
    train, valid, names = data.flows(size)
    if args.source_idx:
        with Timer() as t_src:
            with strategy.scope():
                args.weights = str(_train_source(args, size, batch, out, log))
        source_s = round(t_src.seconds, 1)
    else:
        source_s = None
    mean, std = _channel_stats(train)
    with strategy.scope():
        model = _build(args, size, len(names), mean, std)
    weights_desc = (f"{model.name} trained on {args.source_idx[0]} ({args.source_epochs} "
                    f"epochs), transferred by layer name" if args.source_idx else args.weights)
    weights_note = (f"source weights: {weights_desc}" if args.weights else NO_IMAGENET)
    log(f"[{NAME}] {model.name}: {model.count_params():,} parameters; {weights_note}")

    stages = []
    freeze(model)
    s1, interp1 = _stage("stage1 (body frozen)", model, train, valid, names, args.epochs1,
                         args.lr1, args, log)
    stages.append(s1)
    confused1 = interp1.most_confused(2)
    log(f"[{NAME}] most_confused(min_val=2) after stage 1 (top 12): {confused1[:12]}")

    unfreeze(model)
    log(f"[{NAME}] lr_find ({args.lr_find_iters} iterations, unfrozen) ...")
    with Timer() as t_lr:
        finder = lr_find(model, train, num_iter=args.lr_find_iters,
                         plot_path=out / "lr_find.png")
    log(f"[{NAME}] lr_find suggestions: "
        + ", ".join(f"{k}={v:.2e}" for k, v in finder.suggestions.items())
        + f" ({t_lr.seconds:.0f} s)")
    if args.lr2:
        lr2 = slice(*args.lr2)
    else:
        end = float(np.clip(finder.suggestions[args.lr2_from], 1e-5, args.lr1))
        lr2 = slice(end / 100, end)
    s2, interp = _stage("stage2 (unfrozen, discriminative)", model, train, valid, names,
                        args.epochs2, lr2, args, log)
    stages.append(s2)

    final_size = size
    if resize_to:
        with strategy.scope():
            model = with_input_size(model, resize_to)
        train, valid, _ = data.flows(resize_to)
        before = Interpretation.from_model(model, valid, names).error_rate()
        log(f"[{NAME}] error rate at {resize_to} px before stage 3: {before:.4f}")
        lr3 = slice(lr2.start / args.lr3_div, lr2.stop / args.lr3_div)
        s3, interp = _stage(f"stage3 (progressive resize {size}->{resize_to})", model, train,
                            valid, names, args.epochs3, lr3, args, log)
        s3["error_rate_before"] = before
        stages.append(s3)
        final_size = resize_to

    # Interpretation of the final model (``interp`` is the last stage's)
    confused = interp.most_confused(2)
    log(f"[{NAME}] most_confused(min_val=2), final (top 12): {confused[:12]}")
    report = interp.classification_report()
    plots = {
        "top_losses": interp.plot_top_losses(9, out / "top_losses.png"),
        "top_losses_gradcam": interp.plot_top_losses(9, out / "top_losses_gradcam.png",
                                                     heatmap=True),
        "confusion_matrix": interp.plot_confusion_matrix(out / "confusion_matrix.png"),
        "lr_find": finder.plot_path,
    }
    _, worst = interp.top_losses(1)
    img = interp.images[int(worst[0])]
    plots["cam"] = plot_heatmap(img, activation_map(model, img), out / "heatmap_cam.png",
                                title="mean activation of the last conv block")
    plots["gradcam"] = plot_heatmap(img, grad_cam(model, img), out / "heatmap_gradcam.png",
                                    title="Grad-CAM, predicted class")
    apply_kernel(interp.images[0], path=out / "kernel_edge.png")
    plots["kernel"] = out / "kernel_edge.png"
    for s in stages:
        slug = s["stage"].split()[0]
        plots[f"history_{slug}"] = plot_history(s["history"], out / f"history_{slug}.png",
                                                title=s["stage"])
    model_path = out / "model.keras"
    model.save(model_path)
    total = time.perf_counter() - t0

    results = {
        "experiment": NAME, "paper": PAPER, "data": data.kind, "classes": names,
        "model": model.name, "input_size": size, "final_input_size": final_size,
        "weights": weights_desc or "none (trained from scratch)", "source_wall_s": source_s,
        "note": (NO_IMAGENET + " " if not args.weights else "")
        + "The report's own 18 classes (Persian characters and form words) are not available; "
          "its error rates are printed beside ours for reference only.",
        "stages": stages, "lr_find": {"suggestions": finder.suggestions,
                                      "lr2": [lr2.start, lr2.stop],
                                      "lr3_div": args.lr3_div},
        "most_confused_stage1": confused1, "most_confused": confused,
        "classification_report": report, "paper_errors": PAPER_ERRORS,
        "wall_s": round(total, 1), "model_file": model_path,
        "plots": {k: str(v) for k, v in plots.items() if v is not None},
    }
    paper_col = [PAPER_ERRORS["stage1"], PAPER_ERRORS["stage2"], "n/a (not reported)"]
    rows = [[s["stage"], s["epochs"], f"{s['error_rate']:.4f}", p, f"{s['wall_s']:.0f}"]
            for s, p in zip(stages, paper_col)]
    md = "\n".join([
        f"# {NAME}: Persian OCR workflow (seeds/{PAPER})", "",
        f"Data: {data.kind}. Model: {model.name}, input {size} px"
        + (f" then {resize_to} px" if resize_to else "") + f". Weights: {results['weights']}.",
        "", markdown_table(["stage", "epochs", "error rate (ours)", "error rate (report, 224 px)",
                            "wall s"], rows), "",
        f"LR finder suggestions: {', '.join(f'{k} {v:.2e}' for k, v in finder.suggestions.items())}"
        f"; stage 2 used slice({lr2.start:.1e}, {lr2.stop:.1e})"
        + (f" (END = the {args.lr2_from} suggestion)" if not args.lr2 else "")
        + (f", stage 3 the same / {args.lr3_div:g}." if resize_to else "."), "",
        f"most_confused(min_val=2) after stage 1 (top 12 of {len(confused1)}): {confused1[:12]}",
        "", (f"Error rate at {resize_to} px before stage 3 trains: "
             f"{stages[-1]['error_rate_before']:.4f}." if resize_to else ""),
        "", f"most_confused(min_val=2), final (top 12 of {len(confused)}): {confused[:12]}", "",
        "```", report, "```", "", results["note"], "", f"Total wall time: {total:.0f} s.",
    ])
    write_results(out, results, config_of(args, input_size=size, resize_to=resize_to,
                                          batch_size=batch, lr2=[lr2.start, lr2.stop],
                                          strategy_resolved=describe(strategy)), md)
    log(md)
    return results


if __name__ == "__main__":
    main()
