"""The recipes (kerasdoc.recipes): every paper value the documents state, with its quoted source;
every recipe of every experiment resolves and dry-runs; overrides are recorded; the recipe table
prints without TensorFlow; no experiment reads a setting outside its recipe."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerasdoc import recipes
from kerasdoc.experiments import get_experiment
from kerasdoc.experiments._common import PLUMBING, config_of, parse
from kerasdoc.recipes import MODULES, PAPER, module, normalise, resolve

REPO = Path(__file__).resolve().parents[1]

#: Every ``paper`` value of every ``paper`` recipe, with the document's words. A change of any
#: value or quote fails test_paper_values_are_the_documents; a new ``paper`` setting must be
#: added here.
PAPER_VALUES = [
    ('invoice', 'models', 'alexnet,zfnet,vgg16,resnet18,invoice_resnet',
     'AlexNet ZFNet VGG-16 ResNet-18 Ours'),
    ('invoice', 'color_mode', 'grayscale',
     'we first carry out the grayscale processing'),
    ('invoice', 'val_fraction', 0.3,
     '840 of which are used for training and 360 for verification'),
    ('invoice', 'flips', True,
     'Data augmentation is achieved by rotating, flipping, scaling, color jittering '
     'and adding noise to the train image'),
    ('numeric-loss', 'data', 'mnist',
     'MNIST and Kannada-MNIST were used as the tasks for the evaluation experiments'),
    ('numeric-loss', 'models', 'dnn,cnn,rnn',
     'three neural network models, DNN, CNN and RNN, were used'),
    ('numeric-loss', 'alpha', 0.05,
     '$\\alpha$ was set to 0.05'),
    ('numeric-loss', 'beta', 0.9,
     '$\\beta$ was set to 0.9'),
    ('numeric-loss', 'trials', 3,
     'reported from 3 trials'),
    ('persian-ocr', 'model', 'resnet34',
     'learn = create_cnn(data, models.resnet34, metrics=error_rate)'),
    ('persian-ocr', 'image_size', 224,
     'ImageDataBunch.from_folder(path, ds_tfms=tfms, size=224,).normalize()'),
    ('persian-ocr', 'color_mode', 'rgb',
     'the images exist in three colour channels, red, green and blue'),
    ('persian-ocr', 'resize_mode', 'crop',
     'It was necessary to specify the size of the images'),
    ('persian-ocr', 'augment', True,
     'tfms = get_transforms(do_flip=False)'),
    ('persian-ocr', 'rotation', 10.0,
     'tfms = get_transforms(do_flip=False)'),
    ('persian-ocr', 'zoom', (0.9091, 1.0),
     'tfms = get_transforms(do_flip=False)'),
    ('persian-ocr', 'shift', 0.0,
     'tfms = get_transforms(do_flip=False)'),
    ('persian-ocr', 'batch_size', 64,
     'ImageDataBunch.from_folder(path, ds_tfms=tfms, size=224,)'),
    ('persian-ocr', 'one_cycle', 'fastai-v1',
     'I used the `fit_one_cycle` function'),
    ('persian-ocr', 'epochs1', 4,
     'In [13]: learn.fit_one_cycle(4)'),
    ('persian-ocr', 'lr1', 0.003,
     'The default learning rate is 0.003.'),
    ('persian-ocr', 'lr_find_iters', 100,
     'In [26]: learn.lr_find()'),
    ('persian-ocr', 'epochs2', 5,
     'learn.fit_one_cycle(5, max_lr=slice(1e-6,1e-4))'),
    ('persian-ocr', 'lr2', slice(1e-06, 0.0001, None),
     'learn.fit_one_cycle(5, max_lr=slice(1e-6,1e-4))'),
    ('persian-ocr', 'resize_to', 352,
     'In [65]: data = get_data(352,bs)'),
    ('persian-ocr', 'epochs3', 2,
     'In [66]: learn.fit_one_cycle(2, max_lr=slice(1e-6,1e-4))'),
    ('persian-ocr', 'lr3', slice(1e-06, 0.0001, None),
     'In [66]: learn.fit_one_cycle(2, max_lr=slice(1e-6,1e-4))'),
    ('robustness', 'data', 'mnist',
     'We worked with a corrupted MNIST dataset from Tensorflow Datasets'),
    ('robustness', 'denoiser_epochs', 50,
     'Figure 6 shows the model loss, which converges at 0.1365 after 50 epochs'),
    ('robustness', 'denoiser_corruptions', 'motion_blur,shot_noise',
     'the noisy dataset included images corrupted by either motion blur or shot noise'),
    ('robustness', 'breakout_size', 1500,
     'each breakout contains 1,500 images'),
    ('robustness', 'svhn', True,
     'For the SVHN dataset, we first set a baseline score'),
    ('robustness', 'svhn_train', 10000,
     'we randomly sampled 10,000 images for training and 2,000 images for testing'),
    ('robustness', 'svhn_test', 2000,
     'we randomly sampled 10,000 images for training and 2,000 images for testing'),
    ('robustness', 'svhn_epochs', 15,
     'epochs = 15'),
    ('robustness', 'svhn_batch_size', 16,
     'batch_size = 16'),
    ('rvl-cdip', 'backbone', 'holistic_inception_resnet_v2',
     'We are using a Inceptionresnet-V2 initialized with weights trained on imgenet.'),
    ('rvl-cdip', 'weights', 'imagenet',
     'initialized with weights trained on imgenet'),
    ('rvl-cdip', 'image_size', 128,
     'We will resize our image into size of 128×128'),
    ('rvl-cdip', 'final_size', 256,
     'train on the images of size 256×256'),
    ('rvl-cdip', 'region_size', 256,
     'We take the first 256 pixels from top to bottom'),
    ('rvl-cdip', 'lr', 0.1,
     'lr=0.1,momentum=0.0,nesterov=False'),
    ('rvl-cdip', 'momentum', 0.0,
     'lr=0.1,momentum=0.0,nesterov=False'),
    ('rvl-cdip', 'nesterov', False,
     'lr=0.1,momentum=0.0,nesterov=False'),
    ('rvl-cdip', 'plateau_factor', 0.1,
     'We will penalize our learning rate,if the validation accuracy does not improve '
     'after 2 epoch by 10% and finally train it for 30 epochs with batch_size=128.'),
    ('rvl-cdip', 'plateau_patience', 2,
     'We will penalize our learning rate,if the validation accuracy does not improve '
     'after 2 epoch by 10% and finally train it for 30 epochs with batch_size=128.'),
    ('rvl-cdip', 'epochs', 30,
     'We will penalize our learning rate,if the validation accuracy does not improve '
     'after 2 epoch by 10% and finally train it for 30 epochs with batch_size=128.'),
    ('rvl-cdip', 'batch_size', 128,
     'We will penalize our learning rate,if the validation accuracy does not improve '
     'after 2 epoch by 10% and finally train it for 30 epochs with batch_size=128.'),
    ('rvl-cdip', 'final_epochs', 20,
     'train on the same conditions as above for 20 epochs'),
    ('rvl-cdip', 'region_epochs', 5,
     'train it for 5 epochs'),
    ('rvl-cdip', 'region_lr', 0.0001,
     'We have used Adam optimizer with 0.0001 Learning rate to train all the region '
     'specific models.'),
    ('rvl-cdip', 'regions', 'top,bottom,left,right',
     'Top crop model:mode_final_top'),
    ('rvl-cdip', 'pages_per_class', 10000,
     'Now we are moving only 10k data per Class for training into these folders due to'
     ' computational constraints.'),
    ('rvl-cdip', 'stacking', 'holdout',
     'with the softmax output generated from the validation data and then we will test'
     ' it on the test data'),
    ('rvl-cdip', 'meta_epochs', 20,
     'After training for 20 epochs we get an accuracy of 90.5 %'),
]


def test_paper_values_are_the_documents():
    got = [(e, k, s.value, s.quote) for e in MODULES
           for k, s in module(e).RECIPES["paper"].items() if s.source == PAPER]
    assert got == PAPER_VALUES


def _seed_text(experiment: str) -> str:
    folder = recipes.seeds_dir()
    if folder is None:
        pytest.skip("the source documents (../shared/seeds, or $KERASDOC_SHARED/seeds) are "
                    "absent")
    return (folder / module(experiment).SEED).read_text(encoding="utf-8")


@pytest.mark.parametrize("experiment", sorted(MODULES))
def test_every_quote_occurs_in_its_document(experiment):
    text = normalise(_seed_text(experiment))
    assert recipes.missing_quotes(experiment, text) == []
    for e, k, _, quote in PAPER_VALUES:  # the table's own quotes too
        if e == experiment:
            assert normalise(quote) in text, (k, quote)


@pytest.mark.parametrize("experiment", sorted(MODULES))
def test_recipes_are_complete_and_sourced(experiment):
    mod = module(experiment)
    assert tuple(mod.RECIPES)[:3] == recipes.RECIPE_NAMES
    for name, rec in mod.RECIPES.items():
        assert list(rec) == list(mod.FIELDS), name  # every field in every recipe, same order
        for key, s in rec.items():
            assert s.source in recipes.SOURCES, (name, key)
            if s.source == PAPER:
                assert s.where and s.quote, (name, key)
            else:
                assert s.why, (name, key)
        r = resolve(experiment, name)
        assert r.values == {k: s.value for k, s in rec.items()} and r.overrides == {}
    assert resolve(experiment, "paper").differences_from_paper() == [
        d for d in resolve(experiment, "paper").differences_from_paper()
        if mod.RECIPES["paper"][d["setting"]].source == recipes.STAND_IN]
    counts = recipes.counts(experiment)
    assert sum(counts.values()) == len(mod.FIELDS)


def test_corrected_deviations():
    p = module("persian-ocr").RECIPES["paper"]
    assert (p["model"].value, p["image_size"].value, p["resize_to"].value) == ("resnet34", 224,
                                                                                 352)
    assert [p[k].value for k in ("epochs1", "epochs2", "epochs3")] == [4, 5, 2]
    assert (p["lr2"].value, p["lr3"].value) == (slice(1e-6, 1e-4), slice(1e-6, 1e-4))
    assert p["one_cycle"].value == "fastai-v1" and p["batch_size"].value == 64
    assert (p["rotation"].value, p["zoom"].value, p["shift"].value) == (10.0, (0.9091, 1.0), 0.0)
    assert (p["brightness"].value, p["contrast"].value) == ((0.8, 1.2), (0.8, 1.25))
    inv = module("invoice").RECIPES["paper"]
    for k in ("optimizer", "lr", "epochs", "batch_size", "image_size", "rotation", "noise"):
        assert inv[k].source == recipes.NOT_STATED, k
    rvl = module("rvl-cdip")
    for k in ("meta_units", "meta_dropout", "meta_lr", "meta_batch_size"):
        assert rvl.RECIPES["paper"][k].source == recipes.NOT_STATED, k
    assert rvl.RECIPES["paper"]["pages_per_class"].value == 10_000
    assert rvl.REFERENCES["benchmark the blog cites"].value == 92.4
    assert rvl.REFERENCES["Das et al. 2018 stack"].source == recipes.NOT_STATED


def test_cpu_recipes_keep_the_measured_commands():
    persian = resolve("persian-ocr", "cpu").values
    assert (persian["model"], persian["image_size"], persian["source_epochs"]) == (
        "resnet_small", 32, 2)
    assert (persian["epochs1"], persian["epochs2"], persian["resize_to"]) == (1, 12, 0)
    assert persian["lr2"] == slice(5e-4, 3e-3) and persian["one_cycle"] == "kerasdoc"
    assert persian["source_idx"][0].endswith("kannada-images-idx3-ubyte.gz")
    numeric = resolve("numeric-loss", "cpu").values
    assert numeric["epochs"] == {"dnn": 20, "cnn": 15, "rnn": 30} and numeric["batch_size"] == 64
    assert resolve("robustness", "cpu").values["train_size"] == 7000
    assert recipes.DEFAULT_RECIPE == "cpu"


def test_recipe_table_prints_without_tensorflow():
    code = ("import sys\nfrom kerasdoc.cli import main\n"
            "assert main(['recipe', 'persian-ocr', '--recipe', 'paper']) == 0\n"
            "assert main(['recipe', 'rvl-cdip']) == 0\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "| setting | value | source |" in out.stdout
    assert "| epochs2 | 5 | paper: section 3.5.2 and appendix cell In [28]" in out.stdout
    assert "| backbone | rvl_small_resnet | stand-in for InceptionResNetV2" in out.stdout


def test_recipe_command_refuses_unknown_names(capsys):
    from kerasdoc.cli import main

    assert main(["recipe", "persian-ocr", "--recipe", "gpu"]) == 2
    assert "Expected one of: paper, cpu, quick" in capsys.readouterr().err


def test_a_flag_overrides_one_setting_and_is_recorded():
    exp = get_experiment("persian-ocr")
    args = parse(exp.build_parser(), ["--recipe", "paper", "--epochs2", "3", "--lr3",
                                      "slice(1e-7,1e-5)", "--no-augment"])
    assert (args.epochs2, args.lr3, args.augment, args.epochs1) == (3, slice(1e-7, 1e-5),
                                                                    False, 4)
    r = args.resolved()
    assert r.name == "paper" and set(r.overrides) == {"epochs2", "lr3", "augment"}
    assert r.overrides["epochs2"] == (5, 3)
    cfg = config_of(args)
    assert cfg["recipe"]["settings"]["epochs2"]["source"] == "override"
    assert cfg["recipe"]["settings"]["epochs1"]["quote"] == "In [13]: learn.fit_one_cycle(4)"
    assert cfg["recipe"]["overrides"]["lr3"] == {"recipe_value": "slice(1e-06, 0.0001)",
                                                "value": "slice(1e-07, 1e-05)"}
    json.dumps(cfg)
    md = r.markdown()
    assert "## Recipe `paper`" in md and "--epochs2 on the command line" in md
    # --quick is the alias of --recipe quick; a flag equal to the recipe's value is no override
    q = parse(exp.build_parser(), ["--quick", "--epochs1", "1"])
    assert q.recipe == "quick" and q.resolved().overrides == {}
    with pytest.raises(SystemExit):
        parse(exp.build_parser(), ["--recipe", "gpu"])


def _attribute_reads(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "args"}


@pytest.mark.parametrize("experiment", sorted(MODULES))
def test_experiments_read_only_their_recipe_and_every_field_of_it(experiment):
    exp = get_experiment(experiment)
    source = Path(exp.__file__)
    parser_flags = {a.dest for a in exp.build_parser()._actions}
    reads = _attribute_reads(source) - {"resolved", "mark_read", "unread"}
    fields = set(module(experiment).FIELDS)
    assert "quick" not in reads  # --quick only chooses the recipe
    extra = reads - fields - set(PLUMBING) - parser_flags
    assert extra == set(), f"{experiment} reads settings outside its recipe: {extra}"
    # every field of the recipe is read somewhere (on some path)
    assert fields - reads == set()
    assert parser_flags - fields - set(PLUMBING) - {"help"} <= {"from_stage", "no_cache",
                                                                 "export_name", "svhn_only"}


#: The demo data (the paper's own data sets are not here); smaller generated sets keep it fast.
DRY_RUN_DATA = {"numeric-loss": ["--data", "digits"], "robustness": ["--data", "digits"],
                "persian-ocr": ["--demo-train", "100", "--demo-valid", "40"],
                "invoice": ["--demo-per-class", "6", "--demo-test-per-class", "2"],
                "rvl-cdip": ["--demo-train-per-class", "2", "--demo-val-per-class", "2"]}


@pytest.mark.parametrize("experiment", sorted(MODULES))
@pytest.mark.parametrize("recipe", recipes.RECIPE_NAMES)
def test_every_recipe_dry_runs_on_demo_data(experiment, recipe, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exp = get_experiment(experiment)
    res = exp.main(["--recipe", recipe, "--dry-run", *DRY_RUN_DATA.get(experiment, [])])
    plan = res["plan"]
    assert res["dry_run"] and plan["recipe"] == recipe and plan["replicas"] >= 1
    assert plan["stages"] and all(s["global_batch"] in (None, s["batch"] * plan["replicas"])
                                  for s in plan["stages"])
    assert "nothing is trained" in capsys.readouterr().out
    assert not (tmp_path / "results").exists()  # no run folder, no training
    values = resolve(experiment, recipe).values
    if experiment == "persian-ocr":
        epochs = {s["stage"]: s["epochs"] for s in plan["stages"]}
        assert epochs["stage1"] == values["epochs1"] and epochs["stage2"] == values["epochs2"]
        assert ("stage3" in epochs) == bool(values["resize_to"])
    if experiment == "rvl-cdip":
        assert plan["stages"][0]["epochs"] == values["epochs"]
        assert plan["stages"][0]["batch"] == values["batch_size"]
