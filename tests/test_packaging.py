"""The published package: the wheel's metadata and licence, what the sdist carries, the wheel
installed in a fresh environment outside the repository (``kerasdoc list`` and a quick
reproduction), the one ``REPOSITORY`` setting, and the notebooks' install cell without a source.

The wheel and sdist are the ones ``.ci/run`` built (``KERASDOC_DIST``), else built here with
``python -m build``. The fresh environment is a new venv outside the repository that sees the
running interpreter's installed packages through a ``.pth`` file (TensorFlow is not installed
again) and gets kerasdoc from the wheel only, through the notebooks' install cell with pip's
index switched off: a requirement missing from the environment fails the install.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """``{"wheel": ..., "sdist": ...}``: CI's build, or one made here."""
    given = os.environ.get("KERASDOC_DIST")
    folder = Path(given) if given else tmp_path_factory.mktemp("dist")
    if not given:
        pytest.importorskip("build", reason="the [dev] extra installs build")
        proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(folder), str(REPO)],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels, sdists = sorted(folder.glob("kerasdoc-*.whl")), sorted(folder.glob("kerasdoc-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in folder.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(zf.read(name).decode()), zf.namelist()


def test_license_is_the_apache_2_text_the_metadata_names():
    text = (REPO / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX" in text
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg["metadata"]["license"] == "Apache-2.0"


def test_wheel_metadata_requirements_and_extras(dist):
    meta, names = _metadata(dist["wheel"])
    assert meta["Name"] == "kerasdoc" and meta["License"] == "Apache-2.0"
    requires = meta.get_all("Requires-Dist")
    plain = {r.split(";")[0].split("<")[0].split(">")[0].split("=")[0].strip()
             for r in requires if ";" not in r}
    assert {"keras", "pillow", "tensorboard"} <= plain
    # No TensorFlow wheel among the plain requirements: a second one would come along.
    assert not plain & {"tensorflow", "tensorflow-cpu"}
    assert {"tensorflow", "cpu", "deploy", "grpc", "dev"} <= set(meta.get_all("Provides-Extra"))
    assert any(r.startswith("tensorflow>=") and 'extra == "tensorflow"' in r for r in requires)
    assert any(r.startswith("tensorflow-cpu") and 'extra == "cpu"' in r for r in requires)
    licence = next(n for n in names if n.endswith("/LICENSE") and ".dist-info/" in n)
    with zipfile.ZipFile(dist["wheel"]) as zf:
        assert zf.read(licence).decode() == (REPO / "LICENSE").read_text()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"kerasdoc", dist["wheel"].name.split("-py")[0] + ".dist-info"}, tops
    assert {"kerasdoc/catalog.json", "kerasdoc/cli.py", "kerasdoc/project.py",
            "kerasdoc/generators/__init__.py", "kerasdoc/experiments/__init__.py"} <= set(names)


def test_sdist_carries_docs_notebooks_and_tests(dist):
    with tarfile.open(dist["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    tracked = subprocess.run(["git", "ls-files", "docs", "notebooks", "tests", "benchmarks"],
                             cwd=REPO, capture_output=True, text=True).stdout.split()
    if not tracked:  # not a git checkout (an unpacked sdist): what is on disk
        tracked = [str(p.relative_to(REPO)) for d in ("docs", "notebooks")
                   for p in (REPO / d).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert set(tracked) <= names, sorted(set(tracked) - names)
    assert {"LICENSE", "README.md", "setup.cfg", "pyproject.toml", "MANIFEST.in",
            "docs/porting_from_keras2.md", "notebooks/build.py"} <= names
    assert not [n for n in names if n.endswith(".pyc") or n.startswith("results/")]


def test_project_urls_come_from_the_one_repository_setting():
    from kerasdoc.project import REPOSITORY, repository_url

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    texts = [(REPO / "README.md").read_text(), (REPO / "setup.cfg").read_text(),
             *[p.read_text() for p in sorted((REPO / "notebooks").glob("*.ipynb"))]]
    assert not [t for t in texts if "ORG/kerasdoc" in t]  # the old placeholder is gone
    if REPOSITORY:
        assert cfg["metadata"]["url"] == repository_url()
        assert all(f"colab.research.google.com/github/{REPOSITORY}/" in t for t in texts[2:])
    else:  # nothing pretends an address: no URL, no badge
        assert "url" not in cfg["metadata"] and "project_urls" not in cfg["metadata"]
        # (the install cell's "github.com/{REPOSITORY}" is a template, not an address)
        assert not [t for t in texts if "colab-badge" in t or re.search(r"github\.com/[^{]", t)]
    sys.path.insert(0, str(REPO / "notebooks"))
    try:
        import build as notebooks_build
    finally:
        sys.path.remove(str(REPO / "notebooks"))
    assert notebooks_build.main(["--check"]) == 0, "run python notebooks/build.py and commit"


def _install_cell() -> str:
    nb = json.loads((REPO / "notebooks" / "numeric_loss.ipynb").read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code"
                and 'REPOSITORY = "' in "".join(c["source"]))
    # the names the notebook's settings cell defines before it
    return "import os\nimport sys\nfrom pathlib import Path\n" + "".join(cell["source"])


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "KERASDOC_WHEEL", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, **extra}


def test_install_cell_without_a_source_says_so_in_one_sentence(tmp_path):
    from kerasdoc.project import REPOSITORY

    if REPOSITORY:
        pytest.skip("a repository is set: the cell would install from it")
    # -S: no site-packages, so kerasdoc is not importable, as on a fresh Colab runtime
    proc = subprocess.run([sys.executable, "-S", "-c", _install_cell()], cwd=tmp_path,
                          capture_output=True, text=True, env=_clean_env(), timeout=60)
    assert proc.returncode != 0 and "pip install" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: kerasdoc is not installed and there is nothing to "
                           "install it from: upload a kerasdoc wheel"), proc.stderr
    assert last.count(". ") == 0 and last.endswith("hosts kerasdoc."), last


def _fresh_env(root: Path) -> Path:
    """A venv at ``root`` (no pip, no kerasdoc) that sees this interpreter's installed
    packages after its own; returns its ``bin`` folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   timeout=120)
    bin_dir = root / ("Scripts" if os.name == "nt" else "bin")
    purelib = subprocess.run([str(bin_dir / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # installed packages only (CI's venv lies inside the repository): not the source tree
    parents = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")
               and Path(p).is_dir()]
    (Path(purelib) / "kerasdoc_test_parent.pth").write_text("\n".join(parents) + "\n")
    return bin_dir


def test_wheel_in_a_fresh_environment_lists_and_reproduces(dist, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    bin_dir = _fresh_env(tmp_path / "env")
    py = str(bin_dir / "python")
    env = _clean_env(KERASDOC_WHEEL=str(dist["wheel"]), PIP_NO_INDEX="1",
                     PIP_DISABLE_PIP_VERSION_CHECK="1")

    def run(*cmd: str, timeout: int = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(cmd), cwd=work, capture_output=True, text=True, env=env,
                              timeout=timeout)
        shown = [Path(c).name if c.startswith(str(tmp_path)) else c for c in cmd]
        shown = [c if len(c) < 80 else "<the notebooks' install cell>" for c in shown]
        print(f"$ {' '.join(shown)}\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    # the notebooks' install cell, taking the uploaded wheel; pip may not reach an index
    cell = run(py, "-c", _install_cell())
    assert "pip install kerasdoc @ file:" in cell.stdout
    where = run(py, "-c", "import kerasdoc; print(kerasdoc.__file__)").stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "env"), where
    listing = run(str(bin_dir / "kerasdoc"), "list", "--no-params").stdout
    assert "invoice_resnet" in listing and "numeric-loss" in listing
    out = work / "quick"
    proc = run(str(bin_dir / "kerasdoc"), "reproduce", "numeric-loss", "--quick", "--models",
               "dnn", "--out", str(out))
    assert json.loads((out / "results.json").read_text())
    assert "| DNN |" in proc.stdout
    assert not [ln for ln in proc.stderr.splitlines() if ln.startswith(("I0000", "E0000",
                                                                        "W0000"))], proc.stderr
