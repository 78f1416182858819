"""Quality breakouts, detect -> denoise -> re-classify, Tables 1-2 and Figures 2, 5, 6 (robustness).

Gutierrez & Sze, "How Deep Can We Go? A Case Study on Image Classification" (2023). Trains on
clean digits a classifier (``digits_vit``, a small Keras ViT standing in for the paper's
PyTorch ``vit-base-mnist``, and/or ``robust_cnn``), a distortion detector (clean vs distorted)
and the Conv2DTranspose denoising autoencoder (noisy -> clean, MSE, motion blur or shot noise
chosen at random per image); then, on the paper's five quality breakouts (1,500 test images
each, seeded), reports accuracy before (Table 1) and after (Table 2) denoising, two ways:

* **detector-gated** (the honest default): classify -> detect -> denoise what the detector
  flags -> re-classify; no label is used;
* **oracle** (the paper's own proxy, which produced its Table 2): denoise the images the
  classifier got wrong, re-classify. It uses the labels and can only go up.

Data (named in every output):

* ``--data kannada`` (default for full runs): Kannada-MNIST digits (MNIST idx files,
  ``../shared/data/kannada-mnist``), seeded stratified 70/30 split: training part for the three
  models, test part as the clean pool of the breakouts. MNIST and MNIST-C cannot be downloaded
  here; the MNIST-C corruptions are kerasdoc's own code (``kerasdoc.generators.corruptions``);
* ``--data hoda``: the Hoda Persian digits (``../shared/data/hoda-digits.tgz``), set MNIST-style
  (20x20 ink box centred in 28x28); training from ``train/``, breakouts from ``valid/``;
* ``--data mnist``: MNIST and MNIST-C from TensorFlow Datasets, for machines with a network:
  the breakouts then take the real MNIST-C test images;
* ``--quick`` without ``--data``: scikit-learn's embedded handwritten digits (real, 8x8 resized
  to 28x28), tiny models and epochs: a smoke test of seconds to a minute.

Run::

    kerasdoc reproduce robustness --quick
    kerasdoc reproduce robustness --data kannada --out results/robustness/kannada
    kerasdoc reproduce robustness --data hoda --out results/robustness/hoda
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from kerasdoc.experiments._common import (
    Timer,
    base_parser,
    config_of,
    parse,
    plan,
    recipe_markdown,
    resolve_out,
    start_run,
)
from kerasdoc.papers import cite
from kerasdoc.reporting import markdown_table, write_results

NAME = "robustness"
PAPER = "robustness"
CLASSIFIERS = {"vit": "digits_vit", "cnn": "robust_cnn"}
DEFAULT_DATA = {"kannada": "../shared/data/kannada-mnist", "hoda": "../shared/data/hoda-digits.tgz"}


def build_parser():
    """The flags: run flags and one per setting of the recipe (``kerasdoc recipe
    robustness``)."""
    p = base_parser(NAME, __doc__.strip().splitlines()[0], optional=("train",))
    p.add_argument("--svhn-only", action="store_true",
                   help="run only the SVHN comparison (no breakouts)")
    return p


def load_data(args) -> dict[str, Any]:
    """Train / test digits as the flags ask; names the data and the split."""
    from kerasdoc import datasets
    from kerasdoc import robustness as R
    from kerasdoc.generators.splits import stratified_split

    source = args.data.lower()
    corrupted_pools = None
    if source in ("digits", "sklearn"):
        x, y = datasets.load_sklearn_digits()
        x = (x * 255).round().astype(np.uint8)
        desc = ("scikit-learn handwritten digits (1,797 real 8x8 digits resized to 28x28; "
                "embedded, for --quick)")
        tr, te = stratified_split(y, test_fraction=args.test_fraction, seed=args.seed)
        xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
        split = f"seeded stratified {_pct(args.test_fraction)} split (seed {args.seed})"
    elif source == "kannada":
        root = Path(args.train or DEFAULT_DATA["kannada"])
        x, y = datasets.load_idx_pair(root / "kannada-images-idx3-ubyte.gz",
                                      root / "kannada-labels-idx1-ubyte.gz")
        x = (x * 255).round().astype(np.uint8)
        desc = f"Kannada-MNIST ({len(y):,} real handwritten Kannada digits, 28x28; {root})"
        tr, te = stratified_split(y, test_fraction=args.test_fraction, seed=args.seed)
        xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
        split = (f"seeded stratified {_pct(args.test_fraction)} split (seed {args.seed}); "
                 f"breakouts from the {100 * args.test_fraction:g}%")
    elif source == "hoda":
        from kerasdoc.generators.archives import extract_archive

        path = Path(args.train or DEFAULT_DATA["hoda"])
        root = extract_archive(path) if path.is_file() else path
        root = root / "hoda-digits" if (root / "hoda-digits").is_dir() else root
        xtr, ytr, _ = R.load_digit_folder(
            root / "train", limit=args.train_size * 2 if args.train_size else None,
            seed=args.seed)
        xte, yte, _ = R.load_digit_folder(root / "valid", seed=args.seed)
        # read class by class: shuffle once (seeded), so that every slice of the pool (the
        # detector's and denoiser's test draws, the figures) holds all ten digits
        order = np.random.default_rng(args.seed).permutation(len(yte))
        xte, yte = xte[order], yte[order]
        desc = (f"Hoda Persian handwritten digits ({path}), MNIST-style 28x28 (20x20 ink box "
                "centred)")
        split = "train/ (seeded subsample) for training; valid/ (4,000) as the breakout pool"
    elif source == "mnist":
        from kerasdoc.generators.sources import load_tfds_arrays

        xtr, ytr, _ = load_tfds_arrays("mnist", "train")
        xte, yte, _ = load_tfds_arrays("mnist", "test")
        corrupted_pools = {c: load_tfds_arrays(f"mnist_corrupted/{c}", "test")[0]
                           for c in ("shot_noise", "motion_blur", "fog")}
        desc = "MNIST and MNIST-C (TensorFlow Datasets); breakouts from the MNIST-C test images"
        split = "MNIST train / test"
    else:
        raise ValueError(f"--data must be kannada, hoda, mnist or digits. Received: {args.data!r}")
    if source in ("mnist", "hoda"):
        args.mark_read("test_fraction")  # their own test sets
    n_train = args.train_size or len(ytr)
    if n_train < len(ytr):
        pick = np.random.default_rng(args.seed).permutation(len(ytr))[:n_train]
        xtr, ytr = xtr[pick], ytr[pick]
        split += f"; {n_train:,} training images (seeded subsample)"
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte, "source": source,
            "description": desc, "split": split, "corrupted_pools": corrupted_pools}


def _pct(test_fraction: float) -> str:
    return f"{100 * (1 - test_fraction):g}/{100 * test_fraction:g}"


def _model_kwargs(args) -> dict[str, dict[str, Any]]:
    """Builder arguments of the classifiers and the detector (the recipe's sizes)."""
    import json

    return {"vit": json.loads(args.vit_kwargs) if args.vit_kwargs else {},
            "cnn": {} if args.cnn_width is None else {"width": args.cnn_width},
            "detector": {} if args.detector_width is None else {"width": args.detector_width}}


def _kinds(args) -> list[str]:
    kinds = [k.strip() for k in args.classifier.split(",") if k.strip()]
    bad = sorted(set(kinds) - set(CLASSIFIERS))
    if bad or not kinds:
        raise ValueError(f"--classifier takes vit, cnn. Received: {args.classifier!r}")
    return kinds


def train_models(args, data: dict[str, Any], out: Path, den_corr: tuple[str, ...]
                 ) -> dict[str, Any]:
    """The distortion detector, the denoising autoencoder and the classifiers, trained on the
    training part less a validation slice (never the breakout pool), in ``out/models/``."""
    from kerasdoc import robustness as R

    kinds = _kinds(args)
    xtr, ytr = data["x_train"], data["y_train"]
    n_val = max(int(len(ytr) * args.val_fraction), 1)
    xv, yv, xt, yt = xtr[:n_val], ytr[:n_val], xtr[n_val:], ytr[n_val:]
    small = _model_kwargs(args)
    timings: dict[str, float] = {}
    clfs, info = {}, {}
    with start_run(args, out, batch_size=args.batch_size, folder="models",
                   tensorboard=False) as rn:
        with Timer() as t:
            det, det_hist = R.train_detector(
                rn, xt, epochs=args.detector_epochs, validation=xv,
                folder=out / "models" / "detector", seed=args.seed, **small["detector"])
        timings["detector"] = t.seconds
        with Timer() as t:
            den, den_hist = R.train_denoiser(
                rn, xt, corruptions=den_corr, epochs=args.denoiser_epochs,
                validation=xv, folder=out / "models" / "denoiser", seed=args.seed,
                output_activation=args.denoiser_output)
        timings["denoiser"] = t.seconds
        for k in kinds:
            with Timer() as t:
                clfs[k], hist = R.train_classifier(
                    rn, xt, yt, model=CLASSIFIERS[k], validation=(xv, yv),
                    epochs=args.classifier_epochs[k],
                    folder=out / "models" / k, lr=args.lr, **small[k])
            timings[f"classifier_{k}"] = t.seconds
            info[k] = {"model": CLASSIFIERS[k], "val_accuracy": 100 * hist["val_accuracy"][-1],
                       "epochs": len(hist["loss"])}
    return {"detector": det, "detector_history": det_hist, "denoiser": den,
            "denoiser_history": den_hist, "classifiers": clfs, "classifier_info": info,
            "timings": timings}


def draw_figures(args, out: Path, xte: np.ndarray, yte: np.ndarray, models: dict[str, Any],
                 den_corr: tuple[str, ...], tables: dict[str, Any]) -> None:
    """Figure 2 (corruption gallery), Figure 5 (reconstructions, one digit per class),
    Figure 6 (denoiser loss) and each classifier's breakout tables as plots."""
    from kerasdoc import robustness as R
    from kerasdoc.generators.corruptions import corrupt_mixed, plot_gallery

    plot_gallery(xte[:16], out / "fig2_gallery.png", seed=args.seed,
                 title="Figure 2: MNIST-C corruptions (kerasdoc's code) beside the clean digits")
    firsts = [int(np.flatnonzero(yte == c)[0]) for c in np.unique(yte)][:10]
    clean = R.as_unit_images(xte[firsts])
    noisy, _ = corrupt_mixed(clean, den_corr, seed=args.seed, value_range=1.0)
    rec = R.predict_batches(models["denoiser"], noisy)
    R.plot_reconstructions(noisy, rec, clean, out / "fig5_reconstructions.png",
                           title="Figure 5: noisy (top) / reconstructed / clean (bottom)")
    R.plot_loss_curve(models["denoiser_history"], out / "fig6_denoiser_loss.png",
                      title="Figure 6: denoising autoencoder loss (MSE) per epoch")
    for k, rows in tables.items():
        R.plot_breakouts(rows, out / f"tables_{k}.png",
                         title=f"Breakouts, classifier {CLASSIFIERS[k]}")


def run(args, data: dict[str, Any], out: Path) -> dict[str, Any]:
    """Train the models, build the breakouts, evaluate both pipelines, draw the figures."""
    from kerasdoc import robustness as R
    from kerasdoc.generators.corruptions import benchmark_corruptions

    den_corr = tuple(c.strip() for c in args.denoiser_corruptions.split(",") if c.strip())
    n_bo = args.breakout_size
    xte, yte = data["x_test"], data["y_test"]
    models = train_models(args, data, out, den_corr)
    det, den, den_hist = models["detector"], models["denoiser"], models["denoiser_history"]
    timings = models["timings"]
    results: dict[str, Any] = {"classifiers": models["classifier_info"]}
    with Timer() as t:
        breakouts = R.make_breakouts(xte, yte, n=n_bo, seed=args.seed)
        if data.get("corrupted_pools"):
            _use_real_mnist_c(breakouts, xte, yte, data["corrupted_pools"], n_bo, args.seed)
    timings["breakouts"] = t.seconds
    with Timer() as t:
        tables = {k: R.evaluate_breakouts(clf, det, den, breakouts, threshold=args.threshold)
                  for k, clf in models["classifiers"].items()}
    timings["evaluation"] = t.seconds
    # detector and denoiser figures of merit on the clean test pool
    xv_det, yv_det = R.fixed_distortion_set(xte[:2000], seed=args.seed + 7)
    det_acc = 100 * float((R.predict_batches(det, xv_det).argmax(-1) == yv_det).mean())
    mse = R.denoiser_mse(den, xte[:1000], den_corr, seed=args.seed)
    draw_figures(args, out, xte, yte, models, den_corr, tables)
    # corruption throughput: one vectorised call against a per-image loop, same run
    with Timer() as t:
        bench = benchmark_corruptions(xte[:args.bench_images], loop_images=args.bench_loop,
                                      seed=args.seed)
    timings["throughput_benchmark"] = t.seconds
    if args.svhn:
        with Timer() as t:
            results["svhn"] = _svhn(args, data, out)
        timings["svhn"] = t.seconds
    results.update({
        "tables": tables, "timings_seconds": timings, "throughput": bench,
        "detector": {"test_accuracy": det_acc, "history": models["detector_history"],
                     "corruptions": list(R.DETECTOR_CORRUPTIONS)},
        "denoiser": {"final_loss": den_hist["loss"][-1],
                     "final_val_loss": den_hist.get("val_loss", [None])[-1],
                     "epochs": len(den_hist["loss"]), "history": den_hist,
                     "corruptions": list(den_corr), "test_mse": mse,
                     "output_activation": args.denoiser_output,
                     "paper_loss": R.PAPER_DENOISER_LOSS,
                     "paper_epochs": R.PAPER_DENOISER_EPOCHS},
        "breakout_size": n_bo,
    })
    return results


def _svhn(args, data: dict[str, Any], out: Path) -> dict[str, Any]:
    """The SVHN comparison: real SVHN with --data mnist (tfds), else the digits as stand-ins."""
    from kerasdoc import robustness as R
    if data["source"] == "mnist":
        from kerasdoc.generators.sources import load_tfds_arrays

        xtr, ytr, _ = load_tfds_arrays("svhn_cropped", "train")
        xte, yte, _ = load_tfds_arrays("svhn_cropped", "test")
        xtr, xte = xtr.astype(np.float32) / 255, xte.astype(np.float32) / 255
        what = "SVHN (svhn_cropped, TensorFlow Datasets)"
    else:
        xtr, xte = R.to_svhn_shape(data["x_train"]), R.to_svhn_shape(data["x_test"])
        ytr, yte = data["y_train"], data["y_test"]
        what = (f"stand-in for SVHN: {data['description']}, resized to 32x32 and copied to 3 "
                "channels (SVHN cannot be downloaded here)")
    s = R.SVHN_SETTINGS
    settings = {"epochs": args.svhn_epochs, "n_train": min(args.svhn_train, len(ytr)),
                "n_test": min(args.svhn_test, len(yte)), "batch_size": args.svhn_batch_size,
                "validation_split": s["validation_split"]}
    seeds = tuple(args.seed + i for i in range(args.trials))
    res = R.svhn_comparison(xtr, ytr, xte, yte, seeds=seeds, epochs=settings["epochs"],
                            batch_size=settings["batch_size"],
                            n_train=settings["n_train"], n_test=settings["n_test"],
                            out=out / "models" / "svhn")
    R.plot_svhn(res, out)
    res["data"], res["settings"] = what, settings
    for r in res["runs"]:
        r.pop("correct_probability")
    return res


def _use_real_mnist_c(breakouts, xte, yte, pools, n, seed):
    """With tfds MNIST-C at hand, swap kerasdoc's corruptions for the real MNIST-C images."""
    from kerasdoc import robustness as R
    for i, b in enumerate(breakouts):
        rng = np.random.default_rng(seed + i)
        idx = rng.choice(len(xte), size=n, replace=n > len(xte))
        b.clean = R.as_unit_images(xte[idx])
        b.labels = yte[idx]
        b.images = b.clean.copy()
        for k, c in enumerate(b.corruptions):
            sel = np.flatnonzero(b.corruption == k)
            if c != "identity" and sel.size:
                b.images[sel] = R.as_unit_images(pools[c][idx[sel]])


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Per classifier: the gains on the mixed breakout and the mean gain over breakouts."""
    out = {}
    for k, rows in results["tables"].items():
        mixed = rows[-1]
        out[k] = {"mixed_gain_gated": mixed["after_gated"] - mixed["before"],
                  "mixed_gain_oracle": mixed["after_oracle"] - mixed["before"],
                  "mean_gain_gated": float(np.mean([r["after_gated"] - r["before"]
                                                    for r in rows])),
                  "goal_3_points_gated": mixed["after_gated"] - mixed["before"] >= 3.0}
    return out


def render_markdown(results: dict[str, Any], data: dict[str, Any], summary: dict[str, Any]
                    ) -> str:
    """results.md: the data, Tables 1-2 beside the paper's per classifier, detector, denoiser."""
    from kerasdoc import robustness as R
    den = results["denoiser"]
    parts = [f"# robustness: {cite(PAPER)}", "",
             f"Data: {data['description']}. Split: {data['split']}. "
             f"Breakouts: {results['breakout_size']:,} images each, seeded "
             "(corruptions: MNIST-C definitions, kerasdoc's own code, at MNIST-C's severities).",
             "", "The paper's classifier was `vit-base-mnist` (a PyTorch ViT-Base/16, 86M "
             "parameters, fine-tuned on MNIST, fed 28->224 3-channel warped digits) on "
             "MNIST-C; ours are trained from scratch on the data above, so compare the "
             "*direction* before -> after, not the levels.", ""]
    for k, rows in results["tables"].items():
        c = results["classifiers"][k]
        parts += [f"## Tables 1-2 with classifier `{c['model']}` "
                  f"(validation accuracy {c['val_accuracy']:.2f}%, {c['epochs']} epochs)", "",
                  markdown_table(
                      ["breakout", "Table 1 before", "paper before",
                       "Table 2 after, detector-gated", "after, ORACLE (uses labels)",
                       "paper after (its oracle proxy)", "flagged %", "detector acc. %"],
                      [[r["breakout"], f"{r['before']:.2f}", r["paper_before"],
                        f"{r['after_gated']:.2f}", f"{r['after_oracle']:.2f}",
                        r["paper_after"], f"{r['flagged_pct']:.1f}",
                        f"{r['detector_accuracy']:.1f}"] for r in rows]), ""]
        s = summary[k]
        parts += [f"Mixed breakout gain: detector-gated {s['mixed_gain_gated']:+.2f} points, "
                  f"oracle {s['mixed_gain_oracle']:+.2f} (paper, oracle proxy: +0.80); goal "
                  f"of +3 points (gated): {'met' if s['goal_3_points_gated'] else 'not met'}.",
                  ""]
    parts += ["## Detector and denoiser", "",
              f"- Distortion detector (clean vs {len(results['detector']['corruptions'])} "
              f"MNIST-C corruptions, affine ones excluded): "
              f"{results['detector']['test_accuracy']:.2f}% on a seeded 50/50 clean/distorted "
              "draw of 2,000 test images.",
              f"- Denoiser (`conv_denoiser`, {den.get('output_activation', 'sigmoid')} output, "
              f"{' or '.join(den['corruptions'])} per image, MSE): "
              f"final training loss {den['final_loss']:.4f} after {den['epochs']} epochs "
              f"(validation {den['final_val_loss']:.4f}); paper: {den['paper_loss']} after "
              f"{den['paper_epochs']} epochs (its loss scale is not stated; ours is the MSE of "
              "pixel values in [0, 1]).", ""]
    parts += [markdown_table(["corruption", "MSE noisy vs clean", "MSE denoised vs clean"],
                             [[c, f"{v['noisy_mse']:.4f}", f"{v['denoised_mse']:.4f}"]
                              for c, v in den["test_mse"].items()]), ""]
    parts += ["## Corruption throughput (images/s, 28x28)", "",
              "One vectorised call on the batch against the same function called image by "
              "image in a Python loop, same run:", "",
              markdown_table(["corruption", "batch", "per-image loop", "speed-up"],
                             [[r["name"], f"{r['batch_ips']:,.0f}", f"{r['loop_ips']:,.0f}",
                               f"{r['speedup']:.1f}x"] for r in results["throughput"]]), ""]
    if "svhn" in results:
        sv = results["svhn"]
        st = sv["settings"]
        parts += ["## SVHN: baseline CNN vs denoising-autoencoder CNN", "",
                  f"Data: {sv['data']}. {st['n_train']:,} training / {st['n_test']:,} test "
                  f"images sampled per seed, batch {st['batch_size']}, validation_split "
                  f"{st['validation_split']}, {st['epochs']} epochs.", "",
                  markdown_table(["model", "ours (mean ± std over seeds)", "paper (SVHN)"],
                                 [[m, f"{mu:.2f} ± {sd:.2f}", R.PAPER_SVHN[m]]
                                  for m, (mu, sd) in sv["summary"].items()]),
                  "", "Figures: `fig7_svhn_curves.png`, `fig8_svhn_probabilities.png`, "
                  "`fig9_svhn_scores.png`.", ""]
    t = results["timings_seconds"]
    parts += ["Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in t.items()), "",
              "Figures: `fig2_gallery.png`, `fig5_reconstructions.png`, "
              "`fig6_denoiser_loss.png`, `tables_<classifier>.png`."]
    return "\n".join(parts)


def dry_run(args) -> dict[str, Any]:
    """``--dry-run``: the models to train and the breakouts on the given data, nothing
    trained."""
    data = load_data(args)
    n = len(data["y_train"])
    n_fit = n - max(int(n * args.val_fraction), 1)
    bs = args.batch_size
    stages = [{"stage": "detector", "what": "clean vs distorted", "epochs":
               args.detector_epochs, "input": "28x28x1", "samples": n_fit, "batch": bs},
              {"stage": "denoiser", "what": f"{args.denoiser_output} output, "
               f"{args.denoiser_corruptions}, MSE", "epochs": args.denoiser_epochs,
               "input": "28x28x1", "samples": n_fit, "batch": bs}]
    stages += [{"stage": f"classifier {k}", "what": f"{CLASSIFIERS[k]}, Adam {args.lr:g}",
                "epochs": args.classifier_epochs[k], "input": "28x28x1", "samples": n_fit,
                "batch": bs} for k in ([] if args.svhn_only else _kinds(args))]
    if args.svhn or args.svhn_only:
        n_svhn = int(min(args.svhn_train, n) * 0.8)  # validation_split 0.2
        stages += [{"stage": f"svhn {m}", "what": f"{args.trials} seed(s)",
                    "epochs": args.svhn_epochs, "input": "32x32x3", "samples": n_svhn,
                    "batch": args.svhn_batch_size}
                   for m in ("svhn_cnn", "svhn_denoising_cnn")]
    notes = [f"5 breakouts of {args.breakout_size:,} images from the {len(data['y_test']):,}-"
             f"image pool ({data['split']}); detector threshold {args.threshold:g}"]
    return plan(args, NAME, data=data["description"], stages=stages, notes=notes)


def off_path_flags(args, kinds: list[str]) -> set[str]:
    """Settings that apply only on a path this run did not take (not counted as unread)."""
    off = set() if args.data in ("kannada", "hoda") else {"train"}
    if not (args.svhn or args.svhn_only):
        off |= {"svhn_train", "svhn_test", "svhn_epochs", "svhn_batch_size", "trials"}
    if "vit" not in kinds:
        off.add("vit_kwargs")
    if "cnn" not in kinds:
        off.add("cnn_width")
    return off


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the experiment; returns the results dict also written to ``results.json``."""
    from kerasdoc import robustness as R
    parser = build_parser()
    args = parse(parser, argv)
    if args.test:
        parser.error("--test is not used here: the breakouts come from the data's own test "
                     "part (--data, --train)")
    if args.dry_run:
        return dry_run(args)
    start = time.perf_counter()
    out = resolve_out(args, NAME)
    data = load_data(args)
    print(f"[{NAME}] data: {data['description']}; {len(data['y_train']):,} train, "
          f"{len(data['y_test']):,} test pool", flush=True)
    if args.svhn_only:
        return _main_svhn_only(args, data, out, start)
    results = run(args, data, out)
    summary = summarise(results)
    results.update({"experiment": NAME, "paper": cite(PAPER), "summary": summary,
                    "recipe": args.recipe, "overrides": sorted(args.resolved().overrides),
                    "unread_flags": [f for f in args.unread()
                                     if f not in off_path_flags(args, _kinds(args))],
                    "data": {"source": data["source"], "description": data["description"],
                             "split": data["split"], "n_train": int(len(data["y_train"])),
                             "n_test_pool": int(len(data["y_test"]))},
                    "paper_tables": {"table1": R.PAPER_TABLE1, "table2": R.PAPER_TABLE2},
                    "wall_seconds": time.perf_counter() - start})
    markdown = render_markdown(results, data, summary) + "\n\n" + recipe_markdown(args)
    write_results(out, results, config_of(args, out=str(out)), markdown)
    print(markdown)
    print(f"[{NAME}] wrote {out} in {results['wall_seconds']:.0f}s", flush=True)
    return results


def _main_svhn_only(args, data: dict[str, Any], out: Path, start: float) -> dict[str, Any]:
    from kerasdoc import robustness as R
    sv = _svhn(args, data, out)
    st = sv["settings"]
    md = "\n".join([
        f"# robustness (SVHN part): {cite(PAPER)}", "",
        f"Data: {sv['data']}. {st['n_train']:,} training / {st['n_test']:,} test images "
        f"sampled per seed, batch {st['batch_size']}, validation_split {st['validation_split']}, "
        f"{st['epochs']} epochs (paper: 10,000 / 2,000, 15 epochs).", "",
        markdown_table(["model", "ours (mean ± std over seeds)", "per seed", "paper (SVHN)"],
                       [[m, f"{mu:.2f} ± {sd:.2f}",
                         ", ".join(f"{r['test_accuracy']:.2f}" for r in sv["runs"]
                                   if r["model"] == m), R.PAPER_SVHN[m]]
                        for m, (mu, sd) in sv["summary"].items()]), "",
        "Figures: `fig7_svhn_curves.png`, `fig8_svhn_probabilities.png`, "
        "`fig9_svhn_scores.png`.", "", recipe_markdown(args)])
    results = {"experiment": NAME, "paper": cite(PAPER), "svhn": sv, "recipe": args.recipe,
               "overrides": sorted(args.resolved().overrides),
               "wall_seconds": time.perf_counter() - start}
    write_results(out, results, config_of(args, out=str(out)), md)
    print(md)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
