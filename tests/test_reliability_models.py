"""Issue 21: no silent wrong model, and every model a command or experiment saves loads in every
other command, in a fresh process.

* `evaluate` / `export` / `predict` of a `.keras` file without its model card refuse, saying
  what is missing and how to give it (`--card`, `--class-names`, `--image-spec`);
* `kerasdoc train` needs two classes;
* the models each experiment ships (built and compiled as the experiment does, trained one
  step, saved by `Run.finish` with their cards; tiny inputs) go through `evaluate`, `export`,
  `predict` (the file and its export), `robust classify` / `robust export` and `report` in one
  fresh process that never imports `kerasdoc.training` (the Persian OCR model's
  `DiscriminativeAdam` made `evaluate` fail);
* a truncated or non-zip `.keras`, and a card whose image size is absurd, are named as such.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from kerasdoc.card import card_path, write_card
from kerasdoc.cli import main
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.runs import Run

REPO = Path(__file__).resolve().parents[1]


def _images(folder: Path, classes, size=(12, 10), n=2, rgb=False) -> Path:
    for c in classes:
        (folder / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = np.random.default_rng(i + 7 * len(c)).integers(0, 255, (*size, 3) if rgb else size,
                                                               dtype=np.uint8)
            Image.fromarray(a).save(folder / c / f"{i}.png")
    return folder


def _ship(run: Run, model, names, spec: ImageSpec, folder: Path) -> Path:
    """The optimizer built (its state saved with the model, as after training), then
    ``Run.finish``: model.keras with its optimizer, the card, history."""
    model.optimizer.build(model.trainable_variables)
    return run.finish(model, names, spec, {"loss": [1.0]}, folder=folder, model=model.name)


@pytest.fixture(scope="session")
def shipped(tmp_path_factory):
    """Each experiment's shipped model, tiny: {name: (model.keras, data folder)}."""
    from kerasdoc.losses import CombinedNumericLoss
    from kerasdoc.metrics import NumericError
    from kerasdoc.training.schedule import compile_discriminative

    root = tmp_path_factory.mktemp("shipped")
    out = {}
    with Run(None, batch_size=4, seed=0, tensorboard=False) as run:
        ab = ["a", "b"]
        m = run.compile(run.build("digits_dnn", input_shape=(8, 8, 1), num_classes=2))
        out["train"] = (_ship(run, m, ab, ImageSpec((8, 8)), root / "train"), ab, False)
        m = run.build("invoice_resnet", input_shape=(32, 32, 1), num_classes=2)
        run.compile(m, keras.optimizers.Adam(1e-3), "categorical_crossentropy")
        out["invoice"] = (_ship(run, m, ab, ImageSpec((32, 32)), root / "invoice"), ab, False)
        digits = [str(i) for i in range(10)]
        m = run.build("digits_dnn", input_shape=(8, 8, 1), num_classes=10)
        run.compile(m, keras.optimizers.Adam(1e-3), CombinedNumericLoss(alpha=1.0, beta=0.5),
                    ["accuracy", NumericError()])
        out["numeric-loss"] = (_ship(run, m, digits, ImageSpec((8, 8)), root / "numeric"),
                               digits, False)
        m = run.build("resnet_quick", input_shape=(32, 32, 3), num_classes=2)
        compile_discriminative(m, slice(1e-4, 1e-3))  # the Persian OCR recipe's optimizer
        spec = ImageSpec((32, 32), "rgb", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
        out["persian-ocr"] = (_ship(run, m, ab, spec, root / "persian"), ab, True)
        m = run.build("rvl_small_resnet", input_shape=(32, 32, 3), num_classes=2)
        run.compile(m, keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                    ["accuracy"], jit_compile=False)
        out["rvl-cdip"] = (_ship(run, m, ab, ImageSpec((32, 32), "rgb", crop="top"),
                                 root / "rvl"), ab, True)
        for name, builder, names, kw in (
                ("cnn", "robust_cnn", ab, {}), ("detector", "distortion_detector",
                                                ["clean", "distorted"], {}),
                ("denoiser", "conv_denoiser", ["reconstruction"], {"loss": "mse"})):
            kwargs = {} if name == "denoiser" else {"num_classes": 2}
            m = run.build(builder, input_shape=(28, 28, 1), **kwargs)
            run.compile(m, keras.optimizers.Adam(1e-3), metrics=None if kw else ("accuracy",),
                        **kw)
            path = _ship(run, m, names, ImageSpec((28, 28)), root / "robust" / "models" / name)
            if name != "denoiser":
                out[f"robustness-{name}"] = (path, names, False)
    for key, (path, names, rgb) in out.items():
        out[key] = (path, _images(root / "data" / key, names, rgb=rgb))
    (root / "results").mkdir()
    (root / "results" / "results.json").write_text(json.dumps({"accuracy": 0.5}))
    return root, out


CHILD = r"""
import json, sys
from kerasdoc.cli import main
plan, result = json.load(open(sys.argv[1])), []
for argv in plan:
    training = "kerasdoc.training" in sys.modules
    result.append({"argv": argv, "rc": main(argv), "training_imported": training})
    sys.stdout.flush(); sys.stderr.flush()
json.dump(result, open(sys.argv[2], "w"))
"""


@pytest.mark.parametrize("every_export", [
    False, pytest.param(True, marks=pytest.mark.slow)])
def test_every_shipped_model_loads_in_every_command_in_a_fresh_process(shipped, tmp_path,
                                                                       every_export):
    """Default: evaluate and predict every model, export (and predict the export of) the
    flagship; slow: export every model. An export loads the file as predict does (safe mode,
    no optimizer); what it adds is the SavedModel, the same for every model."""
    import resource

    root, models = shipped
    base = tmp_path / "sm"
    plan = []
    order = ["persian-ocr"] + sorted(set(models) - {"persian-ocr"})  # the flagship first
    exported = [k for k in order if every_export or k == "persian-ocr"]
    for key in order:
        path, data = models[key]
        imgs = sorted(str(p) for p in data.rglob("*.png"))[:2]
        name = key.replace("robustness-", "r_")
        plan += [["evaluate", str(path), "--data", str(data), "--batch-size", "4"],
                 ["predict", str(path), *imgs]]
        if key in exported:
            plan.append(["export", str(path), "--name", name, "--base-dir", str(base)])
        if key == "persian-ocr":  # an export holds no kerasdoc object: one is enough
            plan.append(["predict", str(base / name), *imgs])
    run_dir, images = root / "robust", models["robustness-cnn"][1]
    plan += [["robust", "classify", str(images), "--run", str(run_dir)],
             ["robust", "export", "--run", str(run_dir), "--name", "pipe", "--base-dir",
              str(base)],
             ["report", str(root / "results"), "--out", str(tmp_path / "report.html")]]
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "plan.json"),
                           str(tmp_path / "result.json")], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{len(plan)} commands in one fresh process: CPU "
          f"{after.ru_utime - before.ru_utime:.1f}+{after.ru_stime - before.ru_stime:.1f} s")
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((tmp_path / "result.json").read_text())
    failed = [r["argv"][:2] for r in result if r["rc"] != 0]
    assert not failed, (failed, proc.stderr[-4000:])
    assert not any(r["training_imported"] for r in result)  # nothing registered the optimizer
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in base.iterdir()) == sorted(
        [k.replace("robustness-", "r_") for k in exported] + ["pipe"])


def test_cardless_model_is_refused_until_the_flags_say_what_the_card_would(shipped, tmp_path,
                                                                           capsys):
    root, models = shipped
    src, data = models["train"]
    model_file = tmp_path / "bare.keras"
    model_file.write_bytes(src.read_bytes())  # the same model, no card beside it
    img = str(sorted(data.rglob("*.png"))[0])
    for argv in (["evaluate", str(model_file), "--data", str(data)],
                 ["export", str(model_file), "--name", "bare", "--base-dir", str(tmp_path)],
                 ["predict", str(model_file), img]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert f"{model_file} has no model card (bare.kerasdoc.json is missing" in err
        assert "class names and image spec are unknown" in err
        assert "--card FILE" in err and "--class-names" in err and "--image-spec" in err
    assert not (tmp_path / "bare").exists()
    # only one of the two: the other is named
    assert main(["predict", str(model_file), img, "--class-names", "a,b"]) == 2
    assert "its image spec is unknown" in capsys.readouterr().err
    # the flags, or the card itself, make it work
    flags = ["--class-names", "a,b", "--image-spec", "model"]
    assert main(["predict", str(model_file), img, *flags]) == 0
    assert capsys.readouterr().out.split("\t")[1] in ("a", "b")
    assert main(["evaluate", str(model_file), "--data", str(data), *flags]) == 0
    assert main(["export", str(model_file), "--name", "bare", "--base-dir", str(tmp_path),
                 "--card", str(card_path(src))]) == 0
    capsys.readouterr()
    (tmp_path / "names.txt").write_text("x\ny\nz\n")
    assert main(["predict", str(model_file), img, "--class-names", "@" + str(tmp_path /
                 "names.txt"), "--image-spec", "model"]) == 2
    assert "--class-names names 3 classes but" in capsys.readouterr().err
    assert main(["predict", str(model_file), img, "--class-names", "a,b", "--image-spec",
                 "image_size=9x9"]) == 2
    assert "--image-spec does not fit the model" in capsys.readouterr().err


def test_train_needs_two_classes(tmp_path, capsys):
    data = _images(tmp_path / "one", ["only"], n=3)
    rc = main(["train", "digits_dnn", "--data", str(data), "--image-size", "8", "8",
               "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == (
        f"kerasdoc train: {data} holds 1 class folder(s) ['only']; a classifier needs at least "
        "two classes (one sub-folder of images per class).")
    assert not (tmp_path / "run" / "model.keras").exists()


def test_truncated_and_non_zip_keras_files_are_named(shipped, tmp_path, capsys):
    _, models = shipped
    src, data = models["train"]
    whole = src.read_bytes()
    for name, content in (("cut.keras", whole[: len(whole) // 2]), ("text.keras", b"hello")):
        (tmp_path / name).write_bytes(content)
        rc = main(["evaluate", str(tmp_path / name), "--data", str(data)])
        err = capsys.readouterr().err
        assert rc == 2 and "File not found" not in err
        assert f"{tmp_path / name} is not a readable .keras model: it is not a zip archive" in err
    rc = main(["evaluate", str(tmp_path), "--data", str(data)])
    assert rc == 2 and "is a directory, not a .keras file" in capsys.readouterr().err


def test_a_card_with_an_absurd_image_size_is_named_not_the_image(shipped, tmp_path, capsys):
    _, models = shipped
    src, data = models["train"]
    model_file = tmp_path / "m.keras"
    model_file.write_bytes(src.read_bytes())
    card = json.loads(card_path(src).read_text())
    card["image_spec"]["image_size"] = [100000, 100000]
    card_path(model_file).write_text(json.dumps(card))
    img = str(sorted(data.rglob("*.png"))[0])
    assert main(["predict", str(model_file), img]) == 2
    err = capsys.readouterr().err
    assert "in user code" not in err and "cannot classify" not in err
    assert f"{card_path(model_file)}: image_size 100000x100000" in err
    card["image_spec"]["image_size"] = [9, 9]  # sane, but not the model's input
    card_path(model_file).write_text(json.dumps(card))
    assert main(["predict", str(model_file), img]) == 2
    assert f"{card_path(model_file)} does not fit the model" in capsys.readouterr().err


def test_write_card_keeps_working(tmp_path):
    """The card API the runs use is unchanged (atomic, no temporary file left)."""
    write_card(tmp_path / "m.keras", ["a", "b"], ImageSpec((4, 4)))
    assert [p.name for p in tmp_path.iterdir()] == ["m.kerasdoc.json"]


def test_loading_with_the_optimizer_names_the_unregistered_class(shipped):
    """`load_keras_model(compile=True)` of the flagship model in a process that never imported
    `kerasdoc.training`: a ValueError naming the file, the class and the two ways out."""
    _, models = shipped
    path = models["persian-ocr"][0]
    code = ("import sys\nfrom kerasdoc.models.weights import load_keras_model\n"
            "load_keras_model(sys.argv[1], compile=False)\n"
            "try:\n    load_keras_model(sys.argv[1])\nexcept ValueError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(f"Cannot load {path}: Could not locate class "
                                  "'DiscriminativeAdam'")
    assert "load with compile=False" in proc.stdout and "import" in proc.stdout
