"""The Colab notebooks (notebooks/*.ipynb): built by notebooks/build.py, committed without
outputs, and each executed top to bottom with nbclient in quick mode on the demo data
(``KERASDOC_NOTEBOOK_QUICK=1``), so a notebook that breaks fails the build.

The tests run the notebooks of one test process in one Jupyter kernel, its namespace reset
(``%reset -f``), its working folder changed and Keras' session cleared before each notebook, as
a user running them one after another in one runtime would: TensorFlow starts once per
kernel, not once per notebook (~8 s of CPU each, the suite's time, issue 24). A notebook that
fails restarts the kernel for the next one. Timing by hand (below) uses a fresh kernel.

Time one notebook by hand (one core):

    KERASDOC_NOTEBOOK_QUICK=1 taskset -c 0 python tests/test_notebooks.py invoice
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the [dev] extra installs nbformat")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NAMES = ("invoice", "rvl_cdip", "numeric_loss", "robustness", "persian_ocr")
#: The word naming the source's column in each experiment's results table.
SOURCE_COLUMN = {"invoice": "paper", "rvl_cdip": "blog", "numeric_loss": "paper",
                 "robustness": "paper", "persian_ocr": "report"}
#: Notebooks that take longer than about a minute on one core in quick mode (none today).
SLOW: set[str] = set()


#: The first cell of a notebook run in a shared kernel: what a fresh kernel would give it.
RESET = """%reset -f
import os, sys
os.chdir({workdir!r})
if "keras" in sys.modules:
    sys.modules["keras"].backend.clear_session()
    sys.modules["keras"].mixed_precision.set_global_policy("float32")"""


def start_kernel():
    """A started Jupyter kernel (its ``KernelManager``) in quick mode, kerasdoc importable."""
    from jupyter_client.manager import KernelManager

    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "KERASDOC_NOTEBOOK_QUICK": "1", "PYTHONPATH": path})
    return km


def execute_in(km, name: str, workdir: Path, timeout: int = 600):
    """Run ``notebooks/<name>.ipynb`` in the running kernel of ``km`` (:func:`start_kernel`),
    reset first and in ``workdir``; the executed notebook (with that
    reset cell first), the wall seconds and the kernel's CPU seconds."""
    import psutil
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nb.cells.insert(0, new_code_cell(RESET.format(workdir=str(workdir))))
    kernel = psutil.Process(km.provisioner.process.pid)
    start, cpu0 = time.perf_counter(), sum(kernel.cpu_times()[:2])
    client = NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3")
    try:
        client.execute()  # a kernel it does not own: it leaves its client's channels open
    finally:
        if client.kc is not None:  # closed now, not whenever the garbage collector gets to them
            client.kc.stop_channels()
    return nb, time.perf_counter() - start, sum(kernel.cpu_times()[:2]) - cpu0


@pytest.fixture(scope="module")
def kernel():
    """The Jupyter kernel of this test process's notebooks (xdist: one per worker)."""
    pytest.importorskip("nbclient", reason="the [dev] extra installs nbclient and ipykernel")
    km = start_kernel()
    yield km
    km.shutdown_kernel(now=True)


def execute(name: str, workdir: Path, timeout: int = 600):
    """Run ``notebooks/<name>.ipynb`` in ``workdir`` in quick mode in a fresh kernel; return
    the executed notebook, the wall seconds and the kernel's CPU seconds (its start included)."""
    import psutil

    start = time.perf_counter()
    km = start_kernel()
    try:
        nb, _, _ = execute_in(km, name, workdir, timeout)
        cpu = sum(psutil.Process(km.provisioner.process.pid).cpu_times()[:2])
        return nb, time.perf_counter() - start, cpu
    finally:
        km.shutdown_kernel(now=True)


def _text(cell) -> str:
    """Everything a code cell showed: streams, plain text and markdown."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        for key in ("text/plain", "text/markdown"):
            parts.append(out.get("data", {}).get(key, ""))
    return "\n".join(parts)


def _cell(nb, starts: str):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts))


def test_notebooks_are_what_build_py_writes():
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import build
    finally:
        sys.path.remove(str(NOTEBOOKS))
    assert [nb["name"] for nb in build.NOTEBOOKS] == list(NAMES)
    assert build.main(["--check"]) == 0, "run python notebooks/build.py and commit"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    text = "\n".join(c.source for c in code)
    assert 'os.environ.get("KERASDOC_NOTEBOOK_QUICK"' in text
    assert "if USE_FULL_DATA:" in text and "experiment.main(ARGS)" in text
    assert "keras.layers" not in text  # thin: no model code of its own


def test_helpers_show_images_of_every_kind(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from PIL import Image

    from kerasdoc.notebook import folder_files, show_images

    for cls in ("b", "a"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.full((10, 12), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    paths, labels, names = folder_files(tmp_path, 4)
    assert names == ["a", "b"] and labels == [0, 1, 0, 1] and len(paths) == 4
    fig = show_images(tmp_path, n=5, show=False)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "a", "b", "a"]
    assert len(show_images(paths, labels, names, show=False).axes) == 4
    assert len(show_images([np.zeros((8, 8)), np.ones((5, 9, 3))], show=False).axes) == 2
    onehot = np.eye(3)[[2, 0]]
    fig = show_images((np.zeros((2, 6, 6, 1)), onehot), class_names=["x", "y", "z"], show=False)
    assert [ax.get_title() for ax in fig.axes] == ["z", "x"]


def test_helpers_results_and_one_prediction(tmp_path, capsys):
    import numpy as np

    from kerasdoc.generators.spec import ImageSpec
    from kerasdoc.notebook import predict_files, show_plots, show_results
    from kerasdoc.runs import Run

    (tmp_path / "results.md").write_text("| a | paper |\n|---|---|\n| 1 | 2 |")
    (tmp_path / "sub").mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "sub" / "p.png")
    assert "| 1 | 2 |" in show_results(tmp_path) and "| 1 | 2 |" in capsys.readouterr().out
    assert [p.name for p in show_plots(tmp_path)] == ["p.png"]
    x = np.random.default_rng(0).uniform(0, 1, (16, 8, 8, 1)).astype("float32")
    with Run(tmp_path / "run", batch_size=8, tensorboard=False) as run:
        model = run.build("digits_dnn", input_shape=(8, 8, 1), num_classes=2)
        run.compile(model)
        run.fit(model, x, np.arange(16) % 2, epochs=1, verbose=0)
        model_file = run.finish(model, ["even", "odd"], ImageSpec((8, 8)))
    preds = predict_files(model_file, [x[0], (x[1] * 255).astype(np.uint8)])
    assert [p["class_names"] in ("even", "odd") for p in preds] == [True, True]
    assert abs(sum(preds[0]["probabilities"]) - 1) < 1e-4


@pytest.mark.notebook
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in NAMES])
def test_notebook_executes_in_quick_mode(name, tmp_path, kernel):
    try:
        nb, seconds, cpu = execute_in(kernel, name, tmp_path)
    except BaseException:
        kernel.restart_kernel(now=True)  # the next notebook gets a fresh kernel
        raise
    print(f"{name}.ipynb: {seconds:.1f} s wall, {cpu:.1f} s kernel CPU")
    out = tmp_path / "results" / f"notebook-{name}-quick"
    assert (out / "results.json").is_file() and (out / "report.html").is_file()
    table = _text(_cell(nb, "md = show_results"))
    assert "|---" in table and SOURCE_COLUMN[name] in table  # our table beside the paper's
    # no TensorFlow "retracing" warning in any cell (persian_ocr's stage models, each measured
    # through its own model.predict, printed one)
    assert not [c for c in nb.cells if c.cell_type == "code" and "retracing" in _text(c)]
    assert _cell(nb, "pngs = show_plots")["outputs"]  # the plots were shown
    assert "epoch_loss" in _text(_cell(nb, 'TB = OUT / "tensorboard"'))
    assert "truth:" in _text(nb.cells[-1])  # one prediction from the export


if __name__ == "__main__":  # time notebooks by hand: python tests/test_notebooks.py [NAME...]
    import tempfile

    keep = os.environ.get("KERASDOC_NOTEBOOK_KEEP")  # a folder for the executed notebooks
    for name in sys.argv[1:] or NAMES:
        with tempfile.TemporaryDirectory() as tmp:
            nb, wall, cpu = execute(name, Path(tmp))
            print(f"{name}.ipynb: {wall:.1f} s wall, {cpu:.1f} s kernel CPU", flush=True)
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, Path(keep) / f"{name}.ipynb")
