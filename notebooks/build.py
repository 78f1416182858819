"""Write the Colab notebooks in this folder, one per paper, from one template.

    python notebooks/build.py          # rewrites notebooks/*.ipynb (no outputs)
    python notebooks/build.py --check  # exit 1 if a committed notebook differs from what it writes

Every notebook reads top to bottom like a keras-io example: settings, install, the data (the
real download or Google Drive mount a Colab user runs, behind ``USE_FULL_DATA``; the package's
embedded or demo data otherwise), a look at the data, the model, training with the
``tf.distribute`` strategy ``auto`` (a TPU in Colab, ``MirroredStrategy`` with several GPUs, the
one GPU or the CPU otherwise), our table beside the paper's, the plots, TensorBoard, one HTML
report, export for TF Serving and a prediction. The notebooks are thin: they call
``kerasdoc`` and the experiment's ``load_data`` / ``main``; no model or pipeline code lives in
them. ``KERASDOC_NOTEBOOK_QUICK=1`` (what CI sets, see tests/test_notebooks.py) selects tiny
settings on the demo data.

It also writes, from ``REPOSITORY`` in ``kerasdoc/project.py`` (the one place the project's
address is set), README.md's notebooks table with its Open-in-Colab badges and setup.cfg's
project URLs (between their marker lines); ``--check`` compares those too.

Edit this file, not the ``.ipynb`` files, and run it; commit both.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kerasdoc.papers import cite  # noqa: E402 - after the path set-up; no TensorFlow import
from kerasdoc.project import BRANCH, REPOSITORY, repository_url  # noqa: E402 - the one setting

ROOT = HERE.parent
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
#: The marked parts of README.md and setup.cfg that this script writes from REPOSITORY.
README_MARKS = ("<!-- notebooks table: written by notebooks/build.py -->",
                "<!-- end of the notebooks table -->")
SETUP_MARKS = ("# project URLs: written by notebooks/build.py from kerasdoc/project.py",
               "# end of the project URLs")


def colab_url(name: str) -> str | None:
    """The "Open in Colab" address of ``notebooks/<name>.ipynb``; None while no repository
    is set (kerasdoc/project.py)."""
    if not REPOSITORY:
        return None
    return (f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/"
            f"{name}.ipynb")


def readme_table() -> str:
    """README.md's notebooks table (badges only where a repository is set) and how to open one."""
    rows = ["| paper | notebook |", "|---|---|"]
    for nb in NOTEBOOKS:
        url = colab_url(nb["name"])
        badge = f"[![Open In Colab]({COLAB_BADGE})]({url}) " if url else ""
        rows.append(f"| {nb['label']} | {badge}`notebooks/{nb['name']}.ipynb` |")
    if REPOSITORY:
        how = (f"The badges open the notebooks of `{repository_url(REPOSITORY)}` "
               f"(branch `{BRANCH}`); their install cell installs kerasdoc from there, or "
               "from a kerasdoc wheel you upload beside the notebook.")
    else:
        how = ("No public repository is recorded yet (`REPOSITORY` in `kerasdoc/project.py` is "
               "empty), so there are no Open-in-Colab badges and no project URLs. To run a "
               "notebook in Colab, upload it (File > Upload notebook) and upload a kerasdoc wheel "
               "(`python -m build` writes `dist/kerasdoc-*.whl`) to the runtime's working folder: "
               "the install cell installs that wheel, and says so in one sentence when there is "
               "none. Setting `REPOSITORY` and running `python notebooks/build.py` adds the "
               "badges, setup.cfg's project URLs and an install from the repository.")
    return "\n".join(rows) + "\n\n" + textwrap.fill(how, 100)


def setup_urls() -> str:
    """setup.cfg's ``url`` and ``project_urls`` lines; none while no repository is set."""
    url = repository_url(REPOSITORY)
    if not url:
        return ""
    return (f"url = {url}\nproject_urls =\n    Source = {url}\n    Issues = {url}/issues\n"
            f"    Porting guide = {url}/blob/{BRANCH}/docs/porting_from_keras2.md\n")


def with_marked(text: str, marks: tuple[str, str], body: str) -> str:
    """``text`` with the lines between the two marker lines replaced by ``body``."""
    head, rest = text.split(marks[0] + "\n", 1)
    _, tail = rest.split(marks[1], 1)
    body = body.strip("\n")
    return head + marks[0] + "\n" + (body + "\n" if body else "") + marks[1] + tail


# --------------------------------------------------------------------------------------------
# The cells every notebook shares
# --------------------------------------------------------------------------------------------

def drive_data(comment: str, var: str, drive_path: str, env: str, default: str,
               extra: str = "") -> str:
    """The start of a notebook's data cell: the demo's empty ``DATA_ARGS`` and, with
    ``USE_FULL_DATA``, the data from Google Drive on Colab (else ``$env`` or ``default``)."""
    return f'''DATA_ARGS: list[str] = []  # {comment}
if USE_FULL_DATA:
    if IN_COLAB:
        from google.colab import drive

        drive.mount("/content/drive")
        {var} = "/content/drive/MyDrive/kerasdoc-data/{drive_path}"
    else:
        {var} = os.environ.get("{env}", "{default}")
    DATA_ARGS = ["--data", {var}{extra}]'''


def intro(nb: dict) -> str:
    url = colab_url(nb["name"])
    badge = f"[![Open In Colab]({COLAB_BADGE})]({url})\n\n" if url else ""
    return f"""# {nb['title']}

{badge}**Paper:** {cite(nb['paper'])}.

{nb['about']}

The notebook reads top to bottom: install, the data, a look at it, the model, training (on a
GPU or TPU when there is one), our table beside the paper's, the plots, TensorBoard, one HTML
report, export for TF Serving and a prediction. The work is done by the `kerasdoc` library
and the experiment `kerasdoc/experiments/{nb['module']}.py`
(`kerasdoc reproduce {nb['experiment']}`); the notebook only calls them.

**Recipe.** The notebook runs the experiment's `paper` recipe (the document as written, for a
GPU), or in quick mode its `quick` recipe; `kerasdoc recipe {nb['experiment']} --recipe paper`
lists every setting with its source (the document's quoted words, our choice where it is silent,
or the stand-in where its own cannot run here), and `results.md` lists each setting that
differs from the paper's.

**Quick mode** (`KERASDOC_NOTEBOOK_QUICK=1`, what CI runs) uses the `quick` recipe on the demo
data: about a minute on one CPU core, and numbers that say nothing about the paper. For a real
run leave `QUICK` off, set `USE_FULL_DATA = True` and pick a GPU runtime."""


SETTINGS = '''import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up lines off
IN_COLAB = "google.colab" in sys.modules
# Quick mode: tiny settings on the demo data (CI sets KERASDOC_NOTEBOOK_QUICK=1).
QUICK = os.environ.get("KERASDOC_NOTEBOOK_QUICK", "0") == "1"
# The named recipe: paper (the document as written, for a GPU) or quick (tests).
RECIPE = "quick" if QUICK else "paper"
# True: the paper's data (downloaded or from Google Drive, see "The data"); False: demo data.
USE_FULL_DATA = False
OUT = Path("results") / ("notebook-{name}" + ("-quick" if QUICK else ""))'''

INSTALL = f'''import importlib
import importlib.util
import subprocess

# kerasdoc, when it is not importable yet, from (first found): a wheel (KERASDOC_WHEEL, or a
# kerasdoc-*.whl uploaded to the working folder), this clone of the repository (editable), or
# REPOSITORY on GitHub (written by notebooks/build.py from kerasdoc/project.py; "" while the
# project has no public repository). TensorFlow is installed only where there is none (Colab
# has one): kerasdoc's requirements leave it out, so no second TensorFlow comes along.
REPOSITORY = "{REPOSITORY}"
BRANCH = "{BRANCH}"
WHEEL = os.environ.get("KERASDOC_WHEEL", "")

found = importlib.util.find_spec("kerasdoc")
if found is not None:
    print(f"kerasdoc is importable from {{Path(found.origin).parent}}: nothing to install")
else:
    wheels = [Path(WHEEL)] if WHEEL else sorted(Path.cwd().glob("kerasdoc-*.whl"))
    repo = next((p for p in [Path.cwd(), *Path.cwd().parents]
                 if (p / "setup.cfg").is_file() and (p / "kerasdoc").is_dir()), None)
    extra = "" if importlib.util.find_spec("tensorflow") else "[tensorflow]"
    if wheels:
        target = [f"kerasdoc{{extra}} @ {{wheels[-1].resolve().as_uri()}}"]
    elif repo:
        target = ["-e", f"{{repo}}{{extra}}"]
    elif REPOSITORY:
        target = [f"kerasdoc{{extra}} @ git+https://github.com/{{REPOSITORY}}@{{BRANCH}}"]
    else:
        raise RuntimeError("kerasdoc is not installed and there is nothing to install it from: "
                           "upload a kerasdoc wheel (python -m build writes dist/kerasdoc-*.whl) "
                           "to the working folder, or set REPOSITORY in this cell to the GitHub "
                           "owner/name that hosts kerasdoc.")
    print("pip install", *target)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *target])
    if repo and not wheels:
        sys.path.insert(0, str(repo))  # an editable install is seen by new processes only
    importlib.invalidate_caches()'''

IMPORTS = '''import kerasdoc
from kerasdoc.experiments import {module} as experiment
from kerasdoc.experiments._common import parse
from kerasdoc.notebook import predict_files, show_images, show_plots, show_results
from kerasdoc.papers import cite

print(f"kerasdoc {{kerasdoc.__version__}}; quick mode: {{QUICK}}; Colab: {{IN_COLAB}}")
print(cite(experiment.PAPER))'''

ARGS = '''
# The experiment's flags: the data above, the recipe (and quick mode's few overrides), the
# strategy, where to write.
ARGS = [*DATA_ARGS, "--recipe", RECIPE, *(QUICK_ARGS if QUICK else FULL_ARGS), *EXPORT_ARGS,
        "--strategy", "auto", "--out", str(OUT), "--overwrite",
        "--tensorboard", str(OUT / "tensorboard")]
args = parse(experiment.build_parser(), ARGS)
print("kerasdoc reproduce", experiment.NAME, " ".join(ARGS))
print(args.resolved().markdown())  # the recipe and what differs from the paper's settings'''

TRAIN_MD = """## Training

`experiment.main(ARGS)` runs the whole recipe through `kerasdoc.runs.Run`: with
`--strategy auto` the run takes a TPU when Colab gives one, `tf.distribute.MirroredStrategy`
over several GPUs, the one GPU otherwise (or the CPU), and scales the batch to the replicas.
Training resumes from its last finished epoch if the runtime restarts (re-run the cell).
It writes `results.json`, `results.md`, `config.json`, the plots and the models to `OUT`."""

TRAIN = '''import tensorflow as tf

print("GPUs:", [d.name for d in tf.config.list_physical_devices("GPU")] or "none")
results = experiment.main(ARGS)'''

TABLE_MD = """## Our table beside the paper's

`results.md`, as the experiment wrote it (it says which data and split the numbers are on)."""

TABLE = "md = show_results(OUT)"

PLOTS_MD = "## Plots"
PLOTS = "pngs = show_plots(OUT)"

TENSORBOARD_MD = """## TensorBoard

`--tensorboard DIR` logged every fit: per-epoch loss, accuracy and learning rate, the confusion
matrix on the validation data as an image, and the hyper-parameters."""

TENSORBOARD = '''TB = OUT / "tensorboard"
if IN_COLAB:
    get_ipython().run_line_magic("load_ext", "tensorboard")
    get_ipython().run_line_magic("tensorboard", f"--logdir {TB}")
else:
    from kerasdoc.tensorboard import read_events

    print(f"tensorboard --logdir {TB}")
    for run_dir, tags in list(read_events(TB).items())[:6]:
        print(f"  {run_dir}: {', '.join(sorted(tags))}")'''

REPORT_MD = """## One page to share

`kerasdoc report OUT` renders the results folder (tables and plots embedded) as one HTML file."""

REPORT = '''from kerasdoc.reporting import write_report

report, _ = write_report(OUT)
print("report:", report)'''


# --------------------------------------------------------------------------------------------
# The five notebooks
# --------------------------------------------------------------------------------------------

NOTEBOOKS: list[dict] = [
    {
        "name": "invoice", "label": "invoice",
        "module": "invoice", "experiment": "invoice", "paper": "invoice",
        "title": "Invoice image classification: a lightweight ResNet against Table 1",
        "about": "Table 1 of the paper: its lightweight `invoice_resnet` (701,283 parameters) "
                 "against AlexNet, ZFNet, VGG-16 and ResNet-18, on invoices of three types "
                 "(value-added tax, train, taxi).",
        "data_md": """## The data

The paper's 42 invoices are not public. The demo data are generated invoices of three types
(`kerasdoc.demo.invoices`: page layouts photographed with blur, tilt and light). The closest
real set is ICDAR-2019 SROIE: receipts and tax invoices of three issuers, as class folders
`<root>/<issuer>/*.jpg`; put that folder on Google Drive for `USE_FULL_DATA`.""",
        "data": drive_data("the demo: generated invoices of three types", "DATA_DIR",
                           "sroie-vendors/train", "KERASDOC_INVOICE_DATA",
                           "../shared/data/sroie-vendors/train", ', "--resize-mode", "pad"')
        + '''
QUICK_ARGS = ["--models", "invoice_resnet", "--epochs", "1"]  # smallest: CI
FULL_ARGS: list[str] = []  # the paper recipe: every Table 1 model (40 epochs, 64x64: ours)
EXPORT_ARGS = ["--export", "--export-dir", str(OUT / "saved_models")]''',
        "look": '''data = experiment.load_data(args, args.seed, 16)
print(data["data_label"])
print(f"{data['train'].samples} training / {data['val'].samples} validation images; "
      f"classes {data['class_names']}")
fig = show_images(data["train"], n=16, title="training images (augmented)")''',
        "model_md": "## The model\n\nThe paper's lightweight ResNet at the input size of this run.",
        "model": '''from kerasdoc.models import get_model

size = data["size"]
model = get_model("invoice_resnet", input_shape=(size, size, 1),
                  num_classes=len(data["class_names"]))
model.summary()''',
        "export": '''
# --export wrote the most accurate model as a TF Serving SavedModel (from its model card).
print("exported:", results["exported"])
image = data["eval"].filepaths[0]
pred = predict_files(results["exported"], [image])[0]
print(f"{image}: {pred['class_names']} ({pred['probability']:.2f}); "
      f"truth: {Path(image).parent.name}")''',
    },
    {
        "name": "rvl_cdip", "label": "RVL-CDIP",
        "module": "rvl_cdip", "experiment": "rvl-cdip", "paper": "rvl-cdip",
        "title": "RVL-CDIP: holistic and region models stacked into one page classifier",
        "about": "The practitioner's rebuild of Das et al. (2018): a holistic model trained at "
                 "128 then 256 pixels, four region models (top, bottom, left, right) by "
                 "intra-domain transfer, and a meta-MLP on their softmax outputs; the whole "
                 "stack exported as one SavedModel that takes page bytes.",
        "data_md": """## The data

RVL-CDIP (Harley et al., 2015): 400,000 scanned pages in 16 classes, with label files
`labels/{train,val,test}.txt` (`<path> <label>`). The full set is about 38 GB packed: on Colab
it is downloaded to the runtime's disk (or mounted from Google Drive). The demo data are
generated pages in 16 classes where each page region carries one bit of the class, so the
region models have something to find.""",
        "data": '''DATA_ARGS: list[str] = []  # the demo: generated pages, 16 classes
if USE_FULL_DATA:
    ROOT = Path(os.environ.get("KERASDOC_RVL_CDIP", "/content/rvl-cdip"))
    if IN_COLAB and not (ROOT / "labels" / "train.txt").is_file():
        import tarfile
        import urllib.request

        # The RVL-CDIP archive (images/ and labels/) as the Hugging Face copy of the
        # authors' release serves it; about 38 GB.
        URL = "https://huggingface.co/datasets/aharley/rvl_cdip/resolve/main/data/rvl-cdip.tar.gz"
        archive = Path("/content/rvl-cdip.tar.gz")
        if not archive.is_file():
            urllib.request.urlretrieve(URL, archive)
        ROOT.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(ROOT, filter="data")
        # The label files name pages relative to images/: prefix them so they resolve from ROOT.
        for split in ("train", "val", "test"):
            lf = ROOT / "labels" / f"{split}.txt"
            lines = lf.read_text().split("\\n")
            if lines and not lines[0].startswith("images/"):
                lf.write_text("\\n".join(f"images/{ln}" for ln in lines if ln.strip()) + "\\n")
    DATA_ARGS = ["--data", str(ROOT)]
QUICK_ARGS = ["--regions", "top"]
FULL_ARGS: list[str] = []  # the paper recipe: Inception-ResNet-v2 from ImageNet, the blog's epochs
EXPORT_ARGS = ["--export", "--export-dir", str(OUT / "saved_models")]''',
        "look": '''data = experiment.load_data(args, OUT)
print(data["label"])
print({split: len(d["labels"]) for split, d in data["splits"].items()}, "pages")
train = data["splits"]["train"]
fig = show_images(train["paths"][::max(1, len(train["paths"]) // 16)][:16],
                  train["labels"][::max(1, len(train["paths"]) // 16)][:16],
                  data["class_names"], title="training pages")''',
        "model_md": "## The model\n\nThe holistic backbone of this run (in quick mode the "
                    "CPU-scale `rvl_small_resnet` at 32 pixels; the blog's Inception-ResNet-v2 "
                    "otherwise).",
        "model": '''from kerasdoc.models import get_model

size = 32 if QUICK else 128
model = get_model(args.backbone if not QUICK else "rvl_small_resnet",
                  input_shape=(size, size, 3), num_classes=len(data["class_names"]),
                  **({} if QUICK else {"weights": None}))
model.summary(line_length=100)''',
        "export": '''
# --export wrote ONE SavedModel: page bytes in; the crops, the members and the meta-MLP
# inside. A validation page through it:
export = results["export"]["path"]
page = data["splits"]["val"]["paths"][0]
pred = predict_files(export, [page])[0]
truth = data["class_names"][int(data["splits"]["val"]["labels"][0])]
print(f"{export}\\n{page}: {pred['class_names']} ({pred['probability']:.2f}); truth: {truth}")''',
    },
    {
        "name": "numeric_loss", "label": "numeric loss",
        "module": "numeric_loss", "experiment": "numeric-loss",
        "paper": "numeric-loss",
        "title": "A loss that knows digits are numbers: the numeric loss against cross-entropy",
        "about": "The paper adds a numeric loss to cross-entropy (`CombinedNumericLoss`, "
                 "alpha 0.05, beta 0.9) so that a misread digit lands near the true value, and "
                 "reports the error rate, the numeric error per image and per misidentified "
                 "image for a DNN, a CNN and an RNN. The experiment repeats each over seeds "
                 "and tests the difference.",
        "data_md": """## The data

The embedded default is scikit-learn's 1,797 real handwritten digits (8x8, resized to 28x28):
no download. `USE_FULL_DATA` reads MNIST from TensorFlow Datasets, downloaded on first use
(Colab or any machine online).""",
        "data": '''DATA_ARGS: list[str] = []  # embedded: scikit-learn's real handwritten digits
if USE_FULL_DATA:
    DATA_ARGS = ["--data", "mnist"]  # TensorFlow Datasets downloads MNIST on first use
QUICK_ARGS = ["--models", "cnn", "--trials", "1"]  # smallest: CI
FULL_ARGS: list[str] = []  # the paper recipe: DNN, CNN, RNN, 3 trials
EXPORT_ARGS: list[str] = []  # the experiment keeps metrics, not models: one is trained below''',
        "look": '''data = experiment.load_data(args)
print(data["description"], "|", data["split"])
print(data["x_train"].shape, "training images")
fig = show_images((data["x_train"], data["y_train"]), class_names=[str(d) for d in range(10)],
                  n=16, title="training digits")''',
        "model_md": "## The model\n\nThe paper's CNN (the DNN and RNN are `digits_dnn` and "
                    "`digits_rnn`).",
        "model": '''from kerasdoc.models import get_model

model = get_model("digits_cnn", input_shape=data["x_train"].shape[1:], num_classes=10)
model.summary()''',
        "export": '''
# The experiment reports metrics over seeds and keeps no model: train one proposed model
# with the same run recipe, export it from its model card and read one test digit with it.
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.losses import CombinedNumericLoss
from kerasdoc.runs import Run, export_model_file

x, y = data["x_train"], data["y_train"]
with Run(OUT / "export_model", strategy="auto", batch_size=64, seed=0) as run:
    model = run.build("digits_cnn", input_shape=x.shape[1:], num_classes=10)
    run.compile(model, loss=CombinedNumericLoss(alpha=0.05, beta=0.9))
    history = run.fit(model, x, y, epochs=1 if QUICK else 15, verbose=0)
    model_file = run.finish(model, [str(d) for d in range(10)], ImageSpec(x.shape[1:3]),
                            history)
export = export_model_file(model_file, "numeric_loss_cnn", OUT / "saved_models")
pred = predict_files(export, [data["x_test"][0]])[0]
print(f"{export}: {pred['class_names']} ({pred['probability']:.2f}); "
      f"truth: {data['y_test'][0]}")''',
    },
    {
        "name": "robustness", "label": "robustness",
        "module": "robustness", "experiment": "robustness",
        "paper": "robustness",
        "title": "How deep can we go? Corrupted digits, a distortion detector and a denoiser",
        "about": "The paper corrupts digits with MNIST-C's 15 corruptions, measures how a "
                 "vision transformer and a CNN break down per corruption, and puts a distortion "
                 "detector and a denoiser in front of the classifier "
                 "(classify -> detect -> denoise -> re-classify).",
        "data_md": """## The data

Quick mode uses scikit-learn's embedded real handwritten digits. `USE_FULL_DATA` reads MNIST
and the MNIST-C test sets from TensorFlow Datasets (downloaded on first use). Without either,
a full run uses those embedded digits too (`--data kannada` / `hoda` take local files).""",
        "data": '''
DATA_ARGS = ["--data", "digits"]  # embedded: scikit-learn's real handwritten digits
if USE_FULL_DATA:
    DATA_ARGS = ["--data", "mnist"]  # MNIST + MNIST-C from TensorFlow Datasets
# smallest (CI): every cell still runs; one epoch per model, 300 training images
QUICK_ARGS = ["--classifier-epochs", "1", "--detector-epochs", "1", "--denoiser-epochs", "1",
              "--train-size", "300", "--breakout-size", "60", "--bench-images", "50",
              "--bench-loop", "2"]
FULL_ARGS: list[str] = []  # the paper recipe: 1,500-image breakouts, 50 denoiser epochs, SVHN
EXPORT_ARGS: list[str] = []''',
        "look": '''from kerasdoc.generators import corruptions

data = experiment.load_data(args)
print(data["description"], "|", data["split"])
fig = show_images((data["x_train"], data["y_train"]), class_names=[str(d) for d in range(10)],
                  n=8, title="training digits")
digit = data["x_test"][:1]
names = [c for c in corruptions.CORRUPTIONS if c != "identity"][:8]
fig = show_images([corruptions.corrupt(digit, name, seed=0)[0] for name in names],
                  list(range(len(names))), names, n=8,
                  title="one test digit, MNIST-C corruptions at MNIST-C's severity")''',
        "model_md": "## The model\n\nThe CNN classifier (quick mode: width 8).",
        "model": '''from kerasdoc.models import get_model

model = get_model("robust_cnn", input_shape=(28, 28, 1), num_classes=10,
                  **({"width": 8} if QUICK else {}))
model.summary()''',
        "export": '''
# The trained CNN classifier, exported from its model card; one corrupted test digit.
from kerasdoc.runs import export_model_file

model_file = OUT / "models" / "cnn" / "model.keras"
export = export_model_file(model_file, "robust_cnn", OUT / "saved_models")
noisy = corruptions.corrupt(data["x_test"][:1], "shot_noise", seed=0)[0]
pred = predict_files(export, [noisy])[0]
print(f"{export}: {pred['class_names']} ({pred['probability']:.2f}); "
      f"truth: {data['y_test'][0]}")''',
    },
    {
        "name": "persian_ocr", "label": "Persian OCR",
        "module": "persian_ocr", "experiment": "persian-ocr",
        "paper": "persian-ocr",
        "title": "Persian digits with the fastai recipe, in Keras",
        "about": "The report trains a ResNet-34 on the Hoda Persian digits with fastai: the "
                 "learning-rate finder, one-cycle training with the body frozen, then unfrozen "
                 "with discriminative rates, then progressive resizing; interpretation (top "
                 "losses, confusion) at the end. The experiment rebuilds each step in Keras.",
        "data_md": """## The data

The Hoda dataset (Khosravi & Kabir, 2007): 80,000 handwritten Persian digits. The experiment
takes it as an archive or folder with `train/<digit>/*.png` and `valid/<digit>/*.png`; put
that on Google Drive for `USE_FULL_DATA`. The demo data are digits rendered with OpenCV fonts
into the same folders.""",
        "data": drive_data("the demo: rendered digits, train/ and valid/ folders", "DATA_PATH",
                           "hoda-digits.tgz", "KERASDOC_HODA", "../shared/data/hoda-digits.tgz")
        + '''
QUICK_ARGS: list[str] = []
FULL_ARGS: list[str] = []  # the paper recipe: ResNet-34, the report's cells 224 -> 352 px
EXPORT_ARGS = ["--export", "--export-dir", str(OUT / "saved_models")]''',
        "look": '''data = experiment.load_data(args)
print(data.kind, "|", data.train_dir)
fig = show_images(data.train_dir, n=16, title="training digits")''',
        "model_md": "## The model\n\nResNet-34 with the fastai head (quick mode: the small "
                    "`resnet_quick`).",
        "model": '''from kerasdoc.models import get_model

model = get_model("resnet_quick" if QUICK else "resnet34", input_shape=(32, 32, 3),
                  num_classes=10)
model.summary(line_length=100)''',
        "export": '''
# --export wrote the shipped model (the best stage on the validation data).
print("exported:", results["exported"])
image = sorted(Path(data.valid_dir).rglob("*.png"))[0]
pred = predict_files(results["exported"], [image])[0]
print(f"{image}: {pred['class_names']} ({pred['probability']:.2f}); "
      f"truth: {image.parent.name}")''',
    },
]


def build(nb: dict) -> nbformat.NotebookNode:
    """The notebook of one paper."""
    cells = [
        new_markdown_cell(intro(nb)),
        new_markdown_cell("## Settings"),
        new_code_cell(SETTINGS.replace("{name}", nb["name"])),
        new_markdown_cell("## Install"),
        new_code_cell(INSTALL),
        new_code_cell(IMPORTS.format(module=nb["module"])),
        new_markdown_cell(nb["data_md"]),
        new_code_cell(nb["data"]),
        new_code_cell(ARGS),
        new_markdown_cell("## A look at the data"),
        new_code_cell(nb["look"]),
        new_markdown_cell(nb["model_md"]),
        new_code_cell(nb["model"]),
        new_markdown_cell(TRAIN_MD),
        new_code_cell(TRAIN),
        new_markdown_cell(TABLE_MD),
        new_code_cell(TABLE),
        new_markdown_cell(PLOTS_MD),
        new_code_cell(PLOTS),
        new_markdown_cell(TENSORBOARD_MD),
        new_code_cell(TENSORBOARD),
        new_markdown_cell(REPORT_MD),
        new_code_cell(REPORT),
        new_markdown_cell("## Export for TF Serving, and a prediction"),
        new_code_cell(nb["export"]),
    ]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "name": f"{nb['name']}.ipynb"},
        "accelerator": "GPU",
    })
    for i, cell in enumerate(notebook.cells):  # stable ids: rebuilding changes nothing
        cell["id"] = f"{nb['name'].replace('_', '-')}-{i:02d}"
        cell["source"] = cell["source"].strip("\n")
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true",
                   help="compare with the committed notebooks instead of writing")
    args = p.parse_args(argv)
    stale = []
    for path, marks, body in ((ROOT / "README.md", README_MARKS, readme_table()),
                              (ROOT / "setup.cfg", SETUP_MARKS, setup_urls())):
        text = path.read_text()
        new = with_marked(text, marks, body)
        if args.check:
            if new != text:
                stale.append(path.name)
        elif new != text:
            path.write_text(new)
            print(f"wrote {path}")
    for nb in NOTEBOOKS:
        path = HERE / f"{nb['name']}.ipynb"
        text = text_of(build(nb))
        nbformat.validate(nbformat.reads(text, as_version=4))
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"stale (run python notebooks/build.py): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
