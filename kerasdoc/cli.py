"""The ``kerasdoc`` command.

Usage::

    kerasdoc list                      # registered models (parameter counts) and experiments
    kerasdoc reproduce NAME [--recipe paper|cpu|quick] [--dry-run] [flags...]
                                       # run one paper experiment; `kerasdoc reproduce NAME -h`
    kerasdoc recipe NAME [--recipe R]  # its settings: setting | value | source (no TensorFlow)
    kerasdoc train MODEL --data DIR [--val DIR] [--epochs N] [--batch-size N] [--image-size H W]
                   [--strategy auto|one|mirrored|multiworker] [--mixed-precision] [--out DIR]
    kerasdoc evaluate MODEL_FILE --data DIR
    kerasdoc export MODEL_FILE [MODEL_FILE...] --name NAME [--version N] [--base-dir DIR]
    kerasdoc export RESULTS_DIR|pipeline.json --name NAME   # a stacked pipeline (rvl-cdip)
    kerasdoc predict (SAVED_MODEL_DIR | MODEL_FILE | NAME) IMAGE... [--server URL]
    kerasdoc robust classify FOLDER --run DIR    # classify -> detect -> denoise -> re-classify
    kerasdoc robust export --run DIR --name NAME # that pipeline as one SavedModel
    kerasdoc report DIR [--out FILE] [--overwrite]  # a results folder as one HTML page

Each sub-command is a ``_cmd_<name>(args) -> int`` function with its parser added in
:func:`build_parser`; ``main`` returns the process exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kerasdoc.constants import COLOR_MODES, RESIZE_MODES, STRATEGIES


def _cmd_list(args: argparse.Namespace) -> int:
    # Answers from the catalog snapshot and the experiments' source: no TensorFlow import.
    from kerasdoc.catalog import read_catalog
    from kerasdoc.experiments import list_experiments
    from kerasdoc.papers import cite
    from kerasdoc.reporting import markdown_table

    rows = []
    for name, e in sorted(read_catalog().items()):
        shape = "x".join("?" if d is None else str(d) for d in e["input_shape"])
        row = [name, cite(e["paper"], short=True), f"{shape} {e['color_mode']}"]
        if not args.no_params:
            row += [f"{e['parameters']:,}", f"{e['trainable']:,}"]
        rows.append(row)
    head = ["model", "paper", "default input"]
    if not args.no_params:
        head += ["parameters", "trainable"]
        print("Models (parameters of the default configuration: Keras count_params(), which "
              "counts BatchNormalization moving statistics, and the trainable ones):")
    else:
        print("Models:")
    print(markdown_table(head, rows))
    print()
    print("Experiments (kerasdoc reproduce NAME):")
    print(markdown_table(["experiment", "paper", "description"],
                         [[n, cite(e["paper"], short=True), e["description"]]
                          for n, e in list_experiments(details=True).items()]))
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from kerasdoc.experiments import get_experiment

    try:
        module = get_experiment(args.name)
    except ValueError as e:
        print(f"kerasdoc reproduce: {e}", file=sys.stderr)
        return 2
    if {"-h", "--help"} & set(args.rest) and hasattr(module, "build_parser"):
        module.build_parser().print_help()  # without running main's imports
        return 0
    try:
        module.main(args.rest)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        return _fail(f"reproduce {args.name}", e)
    return 0


def _cmd_recipe(args: argparse.Namespace) -> int:
    # The recipes are plain data: no TensorFlow import.
    from kerasdoc import recipes

    try:
        names = recipes.recipe_names(args.name)
        if args.recipe not in names:
            raise ValueError(f"{args.name} has no recipe {args.recipe!r}. Expected one of: "
                             f"{', '.join(names)}.")
    except ValueError as e:
        print(f"kerasdoc recipe: {e}", file=sys.stderr)
        return 2
    print(recipes.table(args.name, args.recipe))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    # No TensorFlow: reads the files only.
    from kerasdoc.reporting import write_report

    try:
        path, replaced = write_report(args.dir, args.out, overwrite=args.overwrite)
    except (FileNotFoundError, FileExistsError) as e:
        return _fail("report", e)
    print(f"kerasdoc report: {'rewrote' if replaced else 'wrote'} {path}")
    return 0


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--batch-size 0`` / ``-1`` are usage errors, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (``--timeout 0`` / ``nan`` are usage errors)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _check_writable(folder, flag: str) -> None:
    """Create ``folder`` and write a probe file in it, so that a read-only ``--out`` or
    ``--base-dir`` fails before any work, with one line naming it."""
    import tempfile
    from pathlib import Path

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ValueError(f"{flag} {folder} is not writable ({e.strerror or e}); choose a "
                         f"folder you can write to") from None


def _fail(command: str, error: BaseException) -> int:
    """Print a user error as one line (no traceback) and return exit status 2."""
    print(f"kerasdoc {command}: {error}", file=sys.stderr)
    return 2


def _cmd_train(args: argparse.Namespace) -> int:
    try:
        _train(args)
    except (ValueError, OSError) as e:  # FileNotFoundError, FileExistsError, PermissionError
        return _fail("train", e)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        _evaluate(args)
    except (ValueError, OSError) as e:
        return _fail("evaluate", e)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kerasdoc.diskio import saving

    try:
        with saving(Path(args.base_dir) / args.name, "; nothing was published and the "
                    "staging folder is removed: free some space and export again"):
            _export(args)
    except (ValueError, OSError) as e:
        return _fail("export", e)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    try:
        return _predict(args)
    except (ValueError, OSError) as e:  # FileNotFoundError; a server's ServingError, once
        return _fail("predict", e)


def _cmd_robust(args: argparse.Namespace) -> int:
    try:
        return _robust(args)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        return _fail(f"robust {args.action}", e)


# --------------------------------------------------------------------------------------------
# train / evaluate / export / predict (heavy imports stay inside, so `kerasdoc list` is fast)
# --------------------------------------------------------------------------------------------

def _train(args: argparse.Namespace) -> None:
    from pathlib import Path

    out = Path(args.out or Path("runs") / args.model)
    _check_writable(out, "--out")
    model_file = out / "model.keras"
    if model_file.exists() and not (out / "backup").exists() and not args.overwrite:
        raise FileExistsError(f"{model_file} exists from a finished run; pass --overwrite to "
                              "train again, or another --out.")
    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError(f"--epochs and --batch-size must be positive. Received: "
                         f"epochs={args.epochs}, batch_size={args.batch_size}")
    from kerasdoc.models import model_spec

    meta = model_spec(args.model)  # the registry knows the default input and colour mode
    if args.image_size is None and None in meta.input_shape[:2]:
        raise ValueError(f"Model {args.model!r} has no fixed default input size; pass "
                         "--image-size H W.")
    # The run first: the strategy must be set up before other TensorFlow work.
    from kerasdoc.runs import Run

    hparams = {"data": str(args.data), "learning_rate": args.learning_rate,
               "batch_size": args.batch_size, "image_size": "x".join(
                   map(str, args.image_size or meta.input_shape[:2])),
               "crop": args.crop, "resize_mode": args.resize_mode, "val_split": args.val_split}
    with Run(out, strategy=args.strategy, mixed_precision=args.mixed_precision,
             batch_size=args.batch_size, seed=args.seed,
             tensorboard=args.tensorboard or True, hparams=hparams) as run:
        import keras

        from kerasdoc.data import FolderData
        from kerasdoc.generators.spec import ImageSpec

        spec = ImageSpec(tuple(args.image_size or meta.input_shape[:2]),
                         args.color_mode or meta.color_mode, crop=args.crop,
                         resize_mode=args.resize_mode)
        data = FolderData(args.data, valid_dir=args.val or None, val_split=0.0 if args.val else
                          args.val_split, batch_size=run.batch_size, seed=args.seed,
                          shuffle=True)
        flows = data.flows(spec)  # checks for two classes or more
        train_flow, val_flow, class_names = flows["train"], flows["select"], flows["class_names"]
        model = run.build(args.model, input_shape=spec.input_shape, num_classes=len(class_names))
        run.compile(model, keras.optimizers.Adam(args.learning_rate))
        info = run.describe()
        print(f"kerasdoc train: {args.model} on {train_flow.samples} images of "
              f"{len(class_names)} classes ({args.data}), "
              f"{val_flow.samples if val_flow is not None else 0} validation images; "
              f"{info['strategy']} with {run.replicas} replica(s), global batch "
              f"{run.batch_size}, policy {run.policy}", flush=True)
        history = run.fit(model, train_flow, validation_data=val_flow, epochs=args.epochs,
                          verbose=0 if args.quiet else 2)
        run.finish(model, class_names, train_flow.spec, history, model=args.model,
                   paper=meta.paper, data=str(args.data), epochs=args.epochs)
    last = {k: round(v[-1], 4) for k, v in history.items() if v}
    print(f"kerasdoc train: wrote {model_file} ({len(history.get('loss', []))} epochs; last "
          f"{last})")


def _card_flags(args: argparse.Namespace) -> dict:
    """``--card`` / ``--class-names`` / ``--image-spec`` as :func:`kerasdoc.card.resolve_card`
    keywords (only those given)."""
    return {k: getattr(args, k) for k in ("card", "class_names", "image_spec")
            if getattr(args, k, None) is not None}


def _add_card_flags(p: argparse.ArgumentParser) -> None:
    """The flags that say what a .keras file's missing model card would (evaluate, export,
    predict): without a card and without them, those commands refuse."""
    p.add_argument("--card", default=None, metavar="FILE",
                   help="model card to use (default: MODEL.kerasdoc.json beside the .keras file)")
    p.add_argument("--class-names", default=None, metavar="A,B,...|@FILE",
                   help="class names in output order (replace the card's)")
    p.add_argument("--image-spec", default=None, metavar="model|FILE|KEY=VALUE,...",
                   help="preprocessing (replaces the card's): 'model' = the model's input size "
                        "and colour, stretched, rescaled by 1/255; a JSON file; or changes "
                        "such as image_size=64x64,resize_mode=pad,rescale=1/255")


def _flow_for(model_file: str, data: str, batch_size: int, card_flags: dict | None = None):
    from kerasdoc.card import resolve_card
    from kerasdoc.generators import ImageDataGenerator
    from kerasdoc.models.weights import load_keras_model

    model = load_keras_model(model_file, compile=False)  # no optimizer needed to evaluate
    card = resolve_card(model_file, model, **(card_flags or {}))
    flow = ImageDataGenerator().flow_from_directory(
        data, spec=card.spec, classes=card.class_names, class_mode="sparse",
        batch_size=batch_size, shuffle=False)
    return model, card.class_names, flow


def _evaluate(args: argparse.Namespace) -> None:
    import numpy as np

    from kerasdoc.reporting import confusion_matrix, markdown_table

    # --out and the model file were checked by check_inputs, before TensorFlow started
    model, class_names, flow = _flow_for(args.model_file, args.data, args.batch_size,
                                         _card_flags(args))
    probs = model.predict(flow, verbose=0)
    pred = probs.argmax(-1)
    y = np.asarray(flow.classes)
    cm = confusion_matrix(y, pred, len(class_names))
    acc = float((pred == y).mean())
    nll = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)).mean())
    rows = [[c, int(cm[i].sum()), f"{cm[i, i] / max(cm[i].sum(), 1):.4f}"]
            for i, c in enumerate(class_names)]
    print(f"{args.model_file} on {args.data}: {len(y)} images, accuracy {acc:.4f}, "
          f"loss {nll:.4f}")
    print(markdown_table(["class", "images", "recall"], rows))
    if args.out:
        from kerasdoc.reporting import plot_confusion_matrix, write_json

        results = {"model_file": str(args.model_file), "data": str(args.data),
                   "images": int(len(y)), "accuracy": acc, "loss": nll,
                   "class_names": class_names, "confusion_matrix": cm.tolist()}
        write_json(f"{args.out}/results.json", results)
        plot_confusion_matrix(cm, class_names, f"{args.out}/confusion.png")
        print(f"wrote {args.out}/results.json and confusion.png")


def _export(args: argparse.Namespace) -> None:
    from kerasdoc.runs import export_model_file

    # --base-dir and the .keras files were checked by check_inputs, before TensorFlow started
    kwargs = {} if args.top_k is None else {"top_k": args.top_k}
    if getattr(args, "format", "saved_model") != "saved_model":
        from kerasdoc.deploy import export_model_files as export_model_file  # LiteRT / ONNX

        kwargs["format"] = args.format
    print(export_model_file(args.model_files, args.name, args.base_dir, args.version,
                            card_flags=_card_flags(args), **kwargs))


def _predict_each(predict_batch, paths: list[str], data: list[bytes], batch_size: int
                  ) -> tuple[list[tuple[str, str, float]], list[tuple[str, str]]]:
    """Predict in batches; a batch that fails is retried image by image, so one undecodable
    file costs only its own row. Returns ``(rows, failures)``."""
    from kerasdoc.serving_client import ServingError

    rows, failures = [], []
    for i in range(0, len(data), batch_size):
        chunk, names = data[i:i + batch_size], paths[i:i + batch_size]
        try:
            out = predict_batch(chunk)
            rows += [(n, c, p) for n, (c, p) in zip(names, out)]
            continue
        except ServingError:
            raise  # the server failed as a whole (unreachable, too slow, bad answer): stop once
        except Exception:  # noqa: BLE001 - find the file(s) at fault, one by one
            pass
        for name, one in zip(names, chunk):
            try:
                (c, p), = predict_batch([one])
                rows.append((name, c, p))
            except ServingError:
                raise
            except Exception as e:  # noqa: BLE001 - a decoder or a server refusing one file
                msg = getattr(e, "message", None) or str(e)
                failures.append((name, msg.strip().splitlines()[0] if msg.strip() else
                                 type(e).__name__))
    return rows, failures


def _predict(args: argparse.Namespace) -> int:
    from kerasdoc.export import read_image_file
    from kerasdoc.serving_client import escape_tsv, format_predictions, server_predictor

    if args.server:  # a malformed URL or a missing gRPC package fails before any file is read
        predict_batch = server_predictor(args.server, args.target, timeout=args.timeout,
                                         signature_name=args.signature)
    ok, data = [], []
    status = 0
    for img in args.images:
        try:
            data.append(read_image_file(img))
            ok.append(img)
        except (ValueError, FileNotFoundError) as e:
            print(f"kerasdoc predict: {e}", file=sys.stderr)
            status = 1
    if not ok:
        return 2
    if not args.server:
        from kerasdoc.export import Predictor

        predictor = Predictor(args.target, card_flags=_card_flags(args))

        def predict_batch(chunk):
            return [(r["class_names"], r["probability"]) for r in predictor.predict(chunk)]

    rows, failures = _predict_each(predict_batch, ok, data, args.batch_size)
    for path, reason in failures:
        print(f"kerasdoc predict: cannot classify {escape_tsv(path)}: {reason}", file=sys.stderr)
        status = 1
    sys.stdout.write(format_predictions(rows, failures, args.format))
    if not rows:
        return 2
    return status


def _robust_files(args: argparse.Namespace) -> dict:
    """The classifier, detector and denoiser ``.keras`` files: a flag naming a file wins; else
    ``RUN/models/<name>/model.keras`` (the layout `kerasdoc reproduce robustness` writes, where
    ``--classifier`` may name the run's ``cnn`` or ``vit``)."""
    from pathlib import Path

    files = {}
    for role, default in (("classifier", "cnn"), ("detector", "detector"),
                          ("denoiser", "denoiser")):
        value = getattr(args, role)
        if value is not None and (value.endswith(".keras") or Path(value).is_file()):
            path = Path(value)
        elif args.run is not None:
            path = Path(args.run) / "models" / (value or default) / "model.keras"
        else:
            raise ValueError(f"--{role} FILE.keras or --run DIR (a `kerasdoc reproduce "
                             f"robustness` results folder) is required.")
        if not path.is_file():
            raise FileNotFoundError(f"{role} model {path} does not exist.")
        files[role] = path
    return files


def _robust(args: argparse.Namespace) -> int:
    from kerasdoc import robustness
    from kerasdoc.card import read_card

    files = _robust_files(args)
    try:
        card = read_card(files["classifier"])
        class_names, spec = card.class_names, card.spec
    except FileNotFoundError:  # no model card: numbered classes, the classifier's input size
        class_names, spec = None, None
    if args.action == "export":
        path = robustness.export_pipeline(
            str(files["classifier"]), str(files["detector"]), str(files["denoiser"]),
            args.name, args.base_dir, class_names=class_names, spec=spec,
            threshold=args.threshold, version=args.version)
        print(path)
        return 0
    rows = robustness.classify_folder(
        args.folder, str(files["classifier"]), str(files["detector"]), str(files["denoiser"]),
        class_names=class_names, spec=spec, threshold=args.threshold,
        batch_size=args.batch_size)
    for r in rows:
        before = class_names[r["class_id_before"]] if class_names else str(r["class_id_before"])
        r["class_name_before"] = before
        print(f"{r['file']}\t{r['class_name']}\t{'denoised' if r['flagged'] else 'clean'}\t"
              f"{r['p_distorted']:.4f}\t{before}")
    flagged = sum(r["flagged"] for r in rows)
    changed = sum(r["class_id"] != r["class_id_before"] for r in rows)
    print(f"kerasdoc robust classify: {len(rows)} images, {flagged} flagged as distorted and "
          f"denoised, {changed} changed class", file=sys.stderr)
    if args.out:
        import csv
        from pathlib import Path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


def _add_robust_parser(sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--run", default=None,
                        help="a `kerasdoc reproduce robustness` results folder (its "
                             "models/<classifier|detector|denoiser>/model.keras)")
    common.add_argument("--classifier", default=None,
                        help="classifier .keras file, or cnn / vit under --run (default cnn)")
    common.add_argument("--detector", default=None, help="distortion detector .keras file")
    common.add_argument("--denoiser", default=None, help="denoising autoencoder .keras file")
    common.add_argument("--threshold", type=float, default=0.5,
                        help="detector probability from which an image is denoised")
    p = sub.add_parser(
        "robust", help="digits through classify -> detect -> denoise -> re-classify",
        description="The robustness paper's pipeline (Gutierrez & Sze) with trained models: "
                    "the distortion detector flags distorted images, the denoising "
                    "autoencoder cleans the flagged ones, the classifier classifies them. "
                    "Preprocessing and class names come from the classifier's model card.")
    acts = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = acts.add_parser(
        "classify", parents=[common], help="run the pipeline on a folder of images",
        description="Print `path<TAB>class<TAB>clean|denoised<TAB>p_distorted<TAB>class "
                    "before denoising` per image found (recursively) under FOLDER.")
    c.add_argument("folder", help="folder of PNG / JPEG / BMP / GIF digit images")
    c.add_argument("--batch-size", type=int, default=256)
    c.add_argument("--out", default=None, help="also write the rows as CSV here")
    e = acts.add_parser(
        "export", parents=[common], help="export the pipeline as one SavedModel",
        description="Write BASE_DIR/NAME/<version>/: serving_default takes encoded image bytes "
                    "(predict_tensor: float images); detector, denoiser and classifier run "
                    "inside; outputs probabilities, class_ids, class_names, flagged, "
                    "distortion_probability, probabilities_before, class_ids_before. An "
                    "existing version is never overwritten.")
    e.add_argument("--name", default="robust_pipeline")
    e.add_argument("--base-dir", default="saved_models")
    e.add_argument("--version", type=int, default=None)
    p.set_defaults(func=_cmd_robust)


def _add_train_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a registered model on a folder of class sub-folders",
        description="Train MODEL (see `kerasdoc list`) on DIR/<class>/<image> folders read by "
                    "kerasdoc.generators.ImageDataGenerator. Writes OUT/model.keras (+ "
                    "model.kerasdoc.json: class names and preprocessing), OUT/history.json, "
                    "OUT/logs (TensorBoard). Re-running the same command after an interruption "
                    "resumes from the last completed epoch (OUT/backup).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("model", help="registered model name, e.g. invoice_resnet")
    p.add_argument("--data", required=True, help="training folder (or a path through a .tgz)")
    p.add_argument("--val", default=None, help="validation folder (same classes)")
    p.add_argument("--val-split", type=float, default=0.0,
                   help="without --val: stratified fraction of --data held out for validation")
    p.add_argument("--epochs", type=_positive_int, default=10)
    p.add_argument("--batch-size", type=_positive_int, default=32, help="per replica")
    p.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="input size (default: the model's default input)")
    p.add_argument("--color-mode", choices=COLOR_MODES, default=None,
                   help="default: from the model's default input channels")
    p.add_argument("--crop", default=None, help="region crop (full, top, bottom, left, right)")
    p.add_argument("--resize-mode", default="stretch", choices=RESIZE_MODES)
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--strategy", default="auto", choices=STRATEGIES)
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16 on GPU, mixed_bfloat16 elsewhere")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="run folder (default: runs/MODEL)")
    p.add_argument("--overwrite", action="store_true",
                   help="train again although OUT/model.keras exists from a finished run")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress bars")
    p.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="log to DIR instead of OUT/logs: per-epoch scalars and learning rate, "
                        "the validation confusion matrix image, the hyper-parameters")
    p.set_defaults(func=_cmd_train)


def _add_evaluate_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy and confusion matrix of a .keras model",
                       description="Evaluate MODEL_FILE on DIR/<class>/<image> with the "
                                   "preprocessing and class names of its training run.")
    p.add_argument("model_file", help="a .keras file written by `kerasdoc train`")
    p.add_argument("--data", required=True, help="folder of class sub-folders")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--out", default=None, help="also write results.json and confusion.png here")
    _add_card_flags(p)
    p.set_defaults(func=_cmd_evaluate)


def _add_export_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="export .keras model(s) as a TF Serving SavedModel",
        description="Write BASE_DIR/NAME/<version>/ (next free version unless --version) with "
                    "signatures serving_default (encoded image bytes), predict_tensor and "
                    "predict_tensor_uint8. Several MODEL_FILEs make one ensemble. A stacked "
                    "pipeline (pipeline.json, or the `kerasdoc reproduce rvl-cdip` results "
                    "folder holding it) exports as ONE SavedModel: page bytes in, the members' "
                    "crops, the members and the meta-classifier inside (top-3 by default). An "
                    "existing version is never overwritten.")
    p.add_argument("model_files", nargs="+",
                   help=".keras file(s), or one pipeline.json / results folder")
    p.add_argument("--name", required=True, help="model name (TF Serving's model_name)")
    _add_card_flags(p)
    p.add_argument("--version", type=_positive_int, default=None)
    p.add_argument("--base-dir", default="saved_models")
    p.add_argument("--top-k", type=_positive_int, default=None,
                   help="also output the k best classes (a stacked pipeline: 3 unless given)")
    p.add_argument("--format", choices=("saved_model", "litert", "onnx"), default="saved_model",
                   help="litert / onnx: a model for phones and ONNX runtimes taking decoded uint8 "
                        "pixels (any size, the card's colour mode) with the preprocessing inside, "
                        "in BASE_DIR/NAME/<format>/<version>/")
    p.set_defaults(func=_cmd_export)


def _add_predict_parser(sub) -> None:
    p = sub.add_parser(
        "predict", help="classify images with a SavedModel, a .keras file or TF Serving",
        description="Print `path<TAB>class<TAB>probability` per image (--format csv / json: "
                    "quoted CSV with a header, or one JSON document). TARGET is a SavedModel "
                    "version folder (or BASE_DIR/NAME for its latest version) or a .keras "
                    "file; with --server it is the model name on that TF Serving server "
                    "(or a local export folder, whose name and version are used).")
    p.add_argument("target", help="SavedModel folder, .keras file, or model name with --server")
    p.add_argument("images", nargs="+", help="JPEG / PNG / BMP / GIF files")
    p.add_argument("--server", default=None,
                   help="TF Serving: http://host:8501 (REST) or grpc://host:8500 (gRPC, needs "
                        "the kerasdoc[grpc] extra)")
    p.add_argument("--timeout", type=_positive_float, default=30.0,
                   help="seconds each request to --server may take, connection to last byte; "
                        "a server that does not answer in time fails the run (default 30)")
    p.add_argument("--format", choices=("tsv", "csv", "json"), default="tsv",
                   help="tsv (tab, newline and backslash in names escaped as \\t \\n "
                        "\\\\), csv or json")
    p.add_argument("--signature", default="serving_default")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    _add_card_flags(p)  # a .keras TARGET without its model card
    p.set_defaults(func=_cmd_predict)


def build_parser() -> argparse.ArgumentParser:
    """The ``kerasdoc`` argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="kerasdoc",
        description="Keras 3 / TensorFlow document and character image classification: "
                    "models, data generators, paper reproductions and TF Serving export.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list registered models (parameter counts) and experiments",
                       description="List every registered model with its parameter count for its "
                                   "default configuration, and every experiment.")
    p.add_argument("--no-params", action="store_true", help="skip building models to count")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser(
        "reproduce", help="run one paper experiment (see `kerasdoc list`)",
        description="Run an experiment and write DIR/results.json, results.md, config.json and "
                    "plots (DIR defaults to results/NAME). Flags after NAME go to the experiment: "
                    "[--recipe paper|cpu|quick] (--quick = --recipe quick) [--dry-run] "
                    "[--data ...] [--test PATH] [--out DIR] and one flag per recipe setting "
                    "(overrides it, recorded); `kerasdoc reproduce NAME --help` lists them, "
                    "`kerasdoc recipe NAME` gives each setting's source.",
    )
    p.add_argument("name", help="experiment name, e.g. numeric-loss")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the experiment's own flags")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser(
        "recipe", help="print an experiment's recipe: setting | value | source",
        description="Print every setting of an experiment's named recipe with its value and "
                    "its source: paper (the document's place and quoted words), not stated "
                    "(our choice and why) or stand-in (what the paper used and why not here). "
                    "Starts no TensorFlow.")
    p.add_argument("name", help="experiment name, e.g. persian-ocr")
    p.add_argument("--recipe", default="cpu",
                   help="paper (the document as written), cpu (the default: measured on two "
                        "cores) or quick (tests)")
    p.set_defaults(func=_cmd_recipe)
    for add in (_add_train_parser, _add_evaluate_parser, _add_export_parser, _add_predict_parser,
                _add_robust_parser):
        add(sub)

    p = sub.add_parser(
        "report", help="render a results folder as one self-contained HTML page",
        description="Render DIR (an experiment's --out: results.json, results.md, config.json, "
                    "PNG plots, also in sub-folders) as one HTML page with the tables and the "
                    "plots embedded, written to DIR/report.html (rewritten on each call; any "
                    "other existing file is refused without --overwrite).")
    p.add_argument("dir", help="results folder")
    p.add_argument("--out", default=None, help="HTML file (default: DIR/report.html)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out file not written by kerasdoc report")
    p.set_defaults(func=_cmd_report)
    return parser


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its start-up lines (:mod:`kerasdoc.tfstartup`); exit with one
    line when it is not installed."""
    from kerasdoc.tfstartup import import_tensorflow_quietly as quietly

    try:
        quietly()
    except ModuleNotFoundError as e:
        if e.name != "tensorflow":
            raise
        raise SystemExit("kerasdoc: TensorFlow is not installed; install it with pip install "
                         '"kerasdoc[tensorflow]" (or "kerasdoc[cpu]" for tensorflow-cpu).'
                         ) from None


def _check_train_inputs(args: argparse.Namespace) -> None:
    """``train``'s model name (from the TensorFlow-free catalog, the registry's message) and
    ``--data`` / ``--val`` folders, checked before ``--out`` is created: a typo leaves no empty
    run folder behind. A path that goes through an archive (``data.tgz/train``) is resolved
    later, by the data loader (so is an archive given as ``--data`` itself)."""
    from pathlib import Path

    from kerasdoc.catalog import read_catalog

    names = read_catalog()
    if args.model not in names:
        raise ValueError(f"Unknown model {args.model!r}. Expected one of: "
                         f"{', '.join(sorted(names))}.")
    for folder in (args.data, args.val):
        if folder is None:
            continue
        path = Path(folder)
        if not path.exists() and not any(p.is_file() for p in path.parents):
            raise FileNotFoundError(f"image folder not found: {path} (expected a folder with "
                                    "one sub-folder of images per class)")


def check_inputs(args: argparse.Namespace) -> None:
    """What ``train``, ``evaluate`` and ``export`` check first, before TensorFlow starts (which
    takes seconds): ``train`` its model name and data folders; ``evaluate`` and ``export`` the
    folder they write to, then the model files they read. A mistyped name or path fails at once,
    with the line the command would print later. (``predict`` reads its images first and names
    the bad ones, as it did.)"""
    from kerasdoc.diskio import check_model_file

    if args.command == "train":
        _check_train_inputs(args)
    elif args.command == "evaluate":
        if args.out:
            _check_writable(args.out, "--out")
        check_model_file(args.model_file)
    elif args.command == "export":
        _check_writable(args.base_dir, "--base-dir")
        for f in args.model_files:
            if str(f).endswith(".keras"):
                check_model_file(f)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kerasdoc`` console script."""
    args = build_parser().parse_args(argv)
    asks_help = args.command == "reproduce" and ({"-h", "--help"} & set(args.rest))
    try:
        check_inputs(args)
    except (ValueError, OSError) as e:
        return _fail(args.command, e)
    if args.command not in ("list", "report", "recipe") and not asks_help:
        import_tensorflow_quietly()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C / SIGINT: one line, the shell's 128 + SIGINT status
        again = (" (re-run the same command to resume from the last completed epoch)"
                 if args.command in ("train", "reproduce") else "")
        print(f"kerasdoc {args.command}: interrupted{again}", file=sys.stderr)
        return 130
    except Exception as e:  # a full disk, however the writing library reports it: one line
        from kerasdoc.diskio import DiskFullError, is_disk_full

        if not is_disk_full(e):
            raise
        if isinstance(e, DiskFullError):
            text = str(e)
        elif getattr(e, "filename", None):
            text = f"cannot write {e.filename}: no space left on device"
        else:
            text = f"no space left on device ({(getattr(e, 'message', None) or str(e)).strip()})"
        print(f"kerasdoc {args.command}: {text.splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
