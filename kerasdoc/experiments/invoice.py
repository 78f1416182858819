"""Invoice classification, Table 1 (Wang et al.): five models, accuracy and parameter counts.

Wang et al., "Lightweight Deep Learning Model for Invoice Image Classification". Trains
AlexNet, ZFNet, VGG-16, ResNet-18 and the lightweight ``invoice_resnet`` on a folder dataset
(``--data DIR`` with one sub-folder per class) and prints Table 1 (accuracy and parameter count)
with the paper's numbers beside ours, plus the parameter-count table with each difference
explained. Pipeline as in the paper: grayscale -> array -> normalise (1/255),
one-hot labels, a seeded stratified 70/30 training / validation split (the paper's 840/360 of
1,200), augmentation on the training part only (rotation, flips, scaling, brightness/contrast
jitter, Gaussian noise), all through ``kerasdoc.generators.ImageDataGenerator``.

The paper re-splits "within each epoch"; we keep one fixed seeded split (``--seed``), so that the
validation images are never trained on. Accuracy is measured on ``--test DIR`` when given, else
on the validation part (said so in every output), after the last epoch (no checkpoint picked on
it). ``--refit-all`` chooses each model's epochs on the validation split (its best epoch), then
trains the final model from scratch on all training images for that many epochs and reports it
on the test set (it needs one). Without ``--data`` the run uses a generated demo set of three
invoice-like layouts (with its own test folder).
``--trials N`` repeats the whole table with seeds ``seed .. seed+N-1`` (each its own split and
initialisation) and reports mean +/- std.

Each model trains through :class:`kerasdoc.runs.Run` into ``OUT/runs/trial<t>/<model>/``
(``model.keras`` and its model card, which holds the training flow's image spec); ``--export``
exports the most accurate model from its card, so the serving graph resizes exactly as training
did (``--resize-mode pad`` serves padded pages).

Usage:
    kerasdoc reproduce invoice --data ../shared/data/sroie-vendors/train --epochs 40
    kerasdoc reproduce invoice --quick            # seconds, generated demo data
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kerasdoc.experiments._common import (
    Timer,
    base_parser,
    config_of,
    fit_verbosity,
    parse,
    plan,
    recipe_markdown,
    resolve_out,
    result_header,
    start_run,
)

NAME = "invoice"
PAPER = "invoice"
MODELS = ("alexnet", "zfnet", "vgg16", "resnet18", "invoice_resnet")
PAPER_PARAMETER_NOTES = {
    "alexnet": "same network: the paper's figure has one digit wrong (24,715,971 -> 24,715,071)",
    "zfnet": "paper used 3-channel input: get_model('zfnet', input_shape=(64, 64, 3)) gives "
             "24,718,467 exactly; ours is grayscale (9,408 fewer first-layer weights)",
    "vgg16": "widths not given; quarter-width VGG-16 with FC 1398 fitted to the figure "
             "(-126)",
    "resnet18": "paper_layout=True (biased convs, no BN on the projection shortcut, trainable "
                "count) reproduces the figure exactly",
    "invoice_resnet": "configuration searched to the figure (benchmarks/invoice_param_search.py),"
                      " trainable count",
}


def build_parser() -> argparse.ArgumentParser:
    """The flags: run flags and one per setting of the recipe (``kerasdoc recipe invoice``)."""
    return base_parser(NAME, __doc__.splitlines()[0], optional=("export",))


def make_generators(args, val_fraction: float, seed: int):
    """The training generator (augmenting with the recipe's strengths, with the split) and the
    plain evaluation one.

    Scaling (1/255) is the image spec's, so it reaches the model card and the serving graph.
    """
    from kerasdoc.generators import ImageDataGenerator

    train_gen = ImageDataGenerator(
        rotation_range=args.rotation, zoom_range=args.zoom, width_shift_range=args.shift,
        height_shift_range=args.shift, horizontal_flip=args.flips, vertical_flip=args.flips,
        brightness_range=args.brightness, contrast_range=args.contrast,
        noise_stddev=args.noise, fill_mode="nearest", validation_split=val_fraction,
        validation_seed=seed)
    return train_gen, ImageDataGenerator()


def _optimizer(args):
    import keras

    return {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[args.optimizer](args.lr)


def build_model(run, name: str, input_shape: tuple[int, int, int], num_classes: int):
    """One Table 1 model, built by the run recipe; ResNet-18 in the paper's layout (its count
    is the paper's)."""
    kwargs: dict[str, Any] = {"input_shape": input_shape, "num_classes": num_classes}
    if name == "resnet18":
        kwargs["paper_layout"] = True
    return run.build(name, **kwargs)


def load_data(args, seed: int, batch_size: int) -> dict[str, Any]:
    """The flows of one trial: training (augmenting), validation, and test if any."""
    from kerasdoc.demo.invoices import DATA_LABEL, make_invoice_demo
    from kerasdoc.generators.spec import ImageSpec

    size = args.image_size
    if args.data:
        data_dir = Path(args.data)
        if not data_dir.is_dir():
            raise FileNotFoundError(f"--data {data_dir} is not a folder; expected one "
                                    "sub-folder of images per class")
        test_dir = Path(args.test) if args.test else None
        data_label = f"real data: {data_dir}"
    else:
        demo_root = vars(args).get("_demo_root")  # made once per run, shared by the trials
        if demo_root is None:
            demo_root = Path(tempfile.mkdtemp(prefix="invoice_demo_"))
            make_invoice_demo(demo_root, per_class=args.demo_per_class,
                              test_per_class=args.demo_test_per_class, seed=args.seed)
            vars(args)["_demo_root"] = demo_root
        data_dir = demo_root / "train"
        test_dir = Path(args.test) if args.test else demo_root / "test"
        data_label = DATA_LABEL
    if test_dir is not None and not test_dir.is_dir():
        raise FileNotFoundError(f"--test {test_dir} is not a folder; expected one sub-folder of "
                                "images per class")
    if args.refit_all and test_dir is None:
        raise ValueError("--refit-all trains the final models on the validation images too, so "
                         "they cannot report on them: pass --test DIR (a separate test folder).")
    spec = ImageSpec((size, size), args.color_mode, rescale=1 / 255,
                     resize_mode=args.resize_mode)
    train_gen, eval_gen = make_generators(args, args.val_fraction, seed)
    kw = dict(spec=spec, batch_size=batch_size)
    train = train_gen.flow_from_directory(data_dir, subset="training", seed=seed,
                                          cache=args.cache, **kw)
    val = train_gen.flow_from_directory(data_dir, subset="validation", shuffle=False, **kw)
    everything = None
    if args.refit_all:  # all training images, augmented the same way
        all_gen, _ = make_generators(args, 0.0, seed)
        everything = all_gen.flow_from_directory(data_dir, seed=seed, cache=args.cache, **kw)
    test = None
    if test_dir is not None:
        test = eval_gen.flow_from_directory(test_dir, classes=train.class_indices, shuffle=False,
                                            **kw)
        eval_label = f"test set {test_dir} ({test.samples} images)"
    else:
        eval_label = (f"validation split ({val.samples} images, seeded stratified "
                      f"{args.val_fraction:.0%} of {data_dir}, seed {seed})")
    return {"train": train, "val": val, "all": everything, "test": test,
            "eval": test if test is not None else val,
            "eval_label": eval_label, "data_label": data_label, "data_dir": data_dir,
            "class_names": sorted(train.class_indices, key=train.class_indices.get),
            "size": size, "spec": spec}


def run(args, data: dict[str, Any], run_ctx, models: Sequence[str], *, epochs: int,
        folder: Path, out: Path) -> dict[str, dict[str, Any]]:
    """Train and evaluate each model of Table 1 on one trial's data."""
    from kerasdoc.models.invoice import PAPER_ACCURACY, PAPER_PARAMS
    from kerasdoc.models.weights import trainable_param_count
    from kerasdoc.reporting import confusion_matrix, plot_history

    size, names = data["size"], data["class_names"]
    channels = data["spec"].input_shape[-1]
    per_model: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(models, start=1):
        model = build_model(run_ctx, name, (size, size, channels), len(names))
        run_ctx.compile(model, _optimizer(args), "categorical_crossentropy")
        print(f"[{NAME}] ({i}/{len(models)}) {name}: {trainable_param_count(model):,} "
              f"trainable parameters; training ...", flush=True)
        with Timer() as t:
            history = run_ctx.fit(model, data["train"], validation_data=data["val"],
                                  epochs=epochs, folder=folder / name,
                                  verbose=fit_verbosity(args))
        refit: dict[str, Any] = {}
        val_history = history
        if args.refit_all:
            val_curve = history["val_accuracy"]
            chosen = int(np.argmax(val_curve)) + 1  # the first epoch reaching the best accuracy
            run_ctx.discard(folder / name)
            print(f"[{NAME}] {name}: best validation accuracy {max(val_curve):.3f} at epoch "
                  f"{chosen}; training the final model on all {data['all'].samples} training "
                  "images ...", flush=True)
            model = build_model(run_ctx, name, (size, size, channels), len(names))
            run_ctx.compile(model, _optimizer(args), "categorical_crossentropy")
            with Timer() as t_refit:
                history = run_ctx.fit(model, data["all"], epochs=chosen,
                                      folder=folder / name / "refit",
                                      verbose=fit_verbosity(args))
            refit = {"chosen_epochs": chosen, "val_accuracy_at_chosen": float(max(val_curve)),
                     "refit_samples": data["all"].samples,
                     "refit_seconds": round(t_refit.seconds, 1)}
        model_file = run_ctx.finish(model, names, data["train"].spec, history,
                                    folder=folder / name, model=name, paper=PAPER,
                                    data=data["data_label"],
                                    epochs=refit.get("chosen_epochs", epochs), **refit)
        if args.refit_all:
            run_ctx.discard(folder / name / "refit")
        probs = model.predict(data["eval"], verbose=0)
        y_true = np.asarray(data["eval"].classes)
        y_pred = probs.argmax(axis=1)
        acc = float((y_pred == y_true).mean())
        per_model[name] = {
            "accuracy": acc,
            "final_val_accuracy": float(val_history["val_accuracy"][-1]),
            # the validation curve of 25 images swings between epochs: its recent mean too
            "val_accuracy_last5_mean": float(np.mean(val_history["val_accuracy"][-5:])),
            "trainable_parameters": trainable_param_count(model),
            "keras_parameters": int(model.count_params()),
            "paper_accuracy": PAPER_ACCURACY[name] / 100,
            "paper_parameters": PAPER_PARAMS[name],
            "train_seconds": round(t.seconds, 1), "train_cpu_seconds": round(t.cpu_seconds, 1),
            "confusion_matrix": confusion_matrix(y_true, y_pred, len(names)),
            "history": history, "model_file": str(model_file), **refit,
        }
        plot_history(val_history, out / f"history_{name}.png",
                     title=f"{name} on {'generated demo data' if not args.data else args.data}")
        print(f"[{NAME}] {name}: accuracy {acc:.3f} (paper {PAPER_ACCURACY[name]:.2f}%), "
              f"{t.seconds:.0f} s", flush=True)
    return per_model


def summarise(trials: list[dict[str, dict[str, Any]]], models: Sequence[str]
              ) -> dict[str, dict[str, Any]]:
    """Per model: the first trial's record plus mean / std of accuracy over the trials."""
    out = {}
    for name in models:
        accs = [t[name]["accuracy"] for t in trials]
        out[name] = {**trials[0][name], "accuracy_mean": float(np.mean(accs)),
                     "accuracy_std": float(np.std(accs)), "accuracy_per_trial": accs}
    return out


def render_markdown(per_model: dict[str, dict[str, Any]], models: Sequence[str], *, data, args,
                    epochs: int, batch_size: int, n_trials: int, best: str,
                    exported: str | None) -> str:
    from kerasdoc.models.invoice import PAPER_ACCURACY, PAPER_PARAMS
    from kerasdoc.papers import cite
    from kerasdoc.reporting import fmt_mean_std, markdown_table

    size = data["size"]
    acc_col = "accuracy (ours)" if n_trials == 1 else f"accuracy (ours, {n_trials} trials)"
    table1 = markdown_table(
        ["model", acc_col, "accuracy (paper)", "val. accuracy, mean of last 5 epochs",
         "parameters (ours, trainable)", "parameters (paper)"],
        [[n, f"{100 * per_model[n]['accuracy']:.2f}" if n_trials == 1 else
          fmt_mean_std(100 * per_model[n]["accuracy_mean"], 100 * per_model[n]["accuracy_std"],
                       2),
          f"{PAPER_ACCURACY[n]:.2f}", f"{100 * per_model[n]['val_accuracy_last5_mean']:.2f}",
          f"{per_model[n]['trainable_parameters']:,}", f"{PAPER_PARAMS[n]:,}"] for n in models])
    params = markdown_table(
        ["model", "paper", "ours trainable", "ours Keras count_params", "difference", "why"],
        [[n, f"{PAPER_PARAMS[n]:,}", f"{per_model[n]['trainable_parameters']:,}",
          f"{per_model[n]['keras_parameters']:,}",
          f"{per_model[n]['trainable_parameters'] - PAPER_PARAMS[n]:+,}",
          PAPER_PARAMETER_NOTES[n] if size == 64 or "resnet" in n else
          f"{size}x{size} input changes the flattened size; the paper's counts need 64x64"]
         for n in models])
    return "\n".join([
        f"# Invoice classification, Table 1: {cite(PAPER)}\n",
        f"Data: **{data['data_label']}**. Classes: {', '.join(data['class_names'])}. "
        f"{data['train'].samples} training / {data['val'].samples} validation images "
        f"(seeded stratified split, seed {args.seed}"
        + (f"; trials use seeds {args.seed}..{args.seed + n_trials - 1}" if n_trials > 1 else "")
        + f"); accuracy measured on the **{data['eval_label']}** after the last epoch. The "
        "paper's accuracy is on its own 42 test invoices (value-added tax / train / taxi), not "
        "on this data.\n",
        f"Settings (recipe `{args.recipe}`): {size}x{size} {args.color_mode} "
        f"({args.resize_mode} resize), rescale 1/255, {epochs} epochs, batch {batch_size}, "
        f"{args.optimizer} {args.lr}, augmentation (rotation {args.rotation:g}, zoom "
        f"{args.zoom:g}, shifts {args.shift:g}, {'h/v flips' if args.flips else 'no flips'}, "
        f"brightness {args.brightness}, contrast {args.contrast}, noise {args.noise:g}/255) on "
        "the training part only.\n",
        ("Final models (--refit-all): epochs chosen on the validation split (each model's best "
         "epoch: " + ", ".join(f"{n} {per_model[n]['chosen_epochs']}" for n in models)
         + f"), then trained from scratch on all {per_model[models[0]]['refit_samples']} "
         "training images and measured on the test set.\n") if args.refit_all else "",
        "## Table 1\n", table1, "",
        f"Most accurate: **{best}** (confusion matrix in confusion_matrix.png)"
        + (f"; exported to {exported}" if exported else "") + ".\n",
        "## Parameter counts against the paper's\n", params, "",
        "The paper's counts are trainable counts (BatchNormalization as 2 per channel): its "
        "ResNet-18 figure is reproduced exactly only that way (see kerasdoc/models/invoice.py).",
    ])


def dry_run(args, models: Sequence[str]) -> dict[str, Any]:
    """``--dry-run``: the plan (each model's fit, per trial) on the given data, no training."""
    data = load_data(args, args.seed, args.batch_size)
    size, ch = data["size"], data["spec"].input_shape[-1]
    stages = [{"stage": m, "what": f"{args.optimizer} {args.lr:g}" + (
        ", then refit on all training images" if args.refit_all else ""),
               "epochs": args.epochs, "input": f"{size}x{size}x{ch}",
               "samples": data["train"].samples, "batch": args.batch_size} for m in models]
    return plan(args, NAME, data=f"{data['data_label']}; {data['train'].samples} training / "
                f"{data['val'].samples} validation; accuracy on the {data['eval_label']}",
                stages=stages, notes=[f"{args.trials} trial(s) of the whole table"])


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the experiment; returns the results dict also written to ``--out/results.json``."""
    from kerasdoc.models.invoice import PAPER_ACCURACY
    from kerasdoc.reporting import grouped_bar_plot, plot_confusion_matrix, write_results
    from kerasdoc.runs import export_model_file

    args = parse(build_parser(), argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}. Expected some of: {', '.join(MODELS)}")
    if args.trials < 1:
        raise ValueError(f"--trials must be >= 1. Received: {args.trials}")
    if args.dry_run:
        return dry_run(args, models)
    out = resolve_out(args, NAME)
    epochs = args.epochs
    with Timer() as total, start_run(args, out, batch_size=args.batch_size) as run_ctx:
        trials, data = [], None
        for t in range(args.trials):
            seed = args.seed + t
            run_ctx.seed = seed
            trial_data = load_data(args, seed, run_ctx.batch_size)
            data = data or trial_data
            if t == 0:
                print(f"[{NAME}] data: {data['data_label']}")
                print(f"[{NAME}] {data['train'].samples} training / {data['val'].samples} "
                      f"validation images, classes {data['class_names']}; accuracy on the "
                      f"{data['eval_label']}")
                print(f"[{NAME}] {len(models)} models, {epochs} epochs, batch "
                      f"{run_ctx.batch_size}, {data['size']}x{data['size']} grayscale, "
                      f"{args.trials} trial(s)")
            trials.append(run(args, trial_data, run_ctx, models, epochs=epochs,
                              folder=out / "runs" / f"trial{t}", out=out))
        per_model = summarise(trials, models)
        strategy = run_ctx.describe()
    best = max(per_model, key=lambda n: (per_model[n]["accuracy_mean"],
                                         -per_model[n]["trainable_parameters"]))
    plot_confusion_matrix(per_model[best]["confusion_matrix"], data["class_names"],
                          out / "confusion_matrix.png",
                          title=f"{best}, {data['eval_label'].split(' (')[0]}")
    grouped_bar_plot(out / "accuracy.png", models,
                     {"ours": [per_model[n]["accuracy_mean"] for n in models],
                      "paper": [PAPER_ACCURACY[n] / 100 for n in models]},
                     title="Table 1: accuracy", xlabel="model", ylabel="accuracy")
    exported = None
    if args.export:
        exported = str(export_model_file(per_model[best]["model_file"], f"invoice_{best}",
                                         args.export_dir))
        print(f"[{NAME}] exported {best} to {exported}")
    md = render_markdown(per_model, models, data=data, args=args, epochs=epochs,
                         batch_size=strategy["global_batch"], n_trials=args.trials, best=best,
                         exported=exported)
    md += "\n\n" + recipe_markdown(args)
    results = {
        **result_header(NAME, PAPER, data=data["data_label"], evaluated_on=data["eval_label"],
                        wall_seconds=total.seconds, cpu_seconds=total.cpu_seconds, args=args,
                        allowed_unread=(() if args.export else ("export_dir",))
                        + (("demo_per_class", "demo_test_per_class") if args.data else ())),
        "classes": data["class_names"], "train_samples": data["train"].samples,
        "val_samples": data["val"].samples, "epochs": epochs, "image_size": data["size"],
        "image_spec": data["train"].spec.get_config(), "trials": args.trials,
        "best_model": best, "exported": exported, "models": per_model,
    }
    write_results(out, results, config_of(args, epochs=epochs, image_size=data["size"],
                                          data_label=data["data_label"],
                                          strategy_resolved=strategy), md)
    print()
    print(md)
    return results


if __name__ == "__main__":
    main()
