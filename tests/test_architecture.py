"""The import structure: each floor imports only the floors below it, and the CLI starts fast.

Floors, bottom to top (an arrow is "may import"):

    generators  <-  kerasdoc.papers / catalog  <-  kerasdoc.models  <-  losses / metrics
        <-  card / export / serving_client  <-  training  <-  runs  <-  interpret / reporting
        <-  cli, experiments

`generators` never imports `kerasdoc`; `kerasdoc.models` never imports training, runs, export or
the CLI; serving (`export`, `card`, `serving_client`) never imports the training package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _files(package: str) -> list[Path]:
    return sorted((REPO / package.replace(".", "/")).rglob("*.py"))


FORBIDDEN = {
    "generators": ("kerasdoc", "experiments"),
    "kerasdoc.models": ("kerasdoc.training", "kerasdoc.runs", "kerasdoc.export",
                        "kerasdoc.card", "kerasdoc.cli", "kerasdoc.interpret",
                        "kerasdoc.reporting", "experiments"),
    "kerasdoc.export": ("kerasdoc.training", "kerasdoc.runs", "kerasdoc.cli", "experiments"),
    "kerasdoc.card": ("kerasdoc.training", "kerasdoc.runs", "kerasdoc.cli", "experiments"),
    "kerasdoc.serving_client": ("kerasdoc.training", "kerasdoc.runs", "kerasdoc.models",
                                "experiments"),
    "kerasdoc.training": ("kerasdoc.runs", "kerasdoc.cli", "experiments"),
    "kerasdoc.runs": ("kerasdoc.cli", "experiments"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_from_a_lower_floor_to_a_higher_one(package):
    path = REPO / (package.replace(".", "/") + ".py")
    files = [path] if path.is_file() else _files(package)
    assert files, package
    bad = [(f.relative_to(REPO).as_posix(), m) for f in files for m in sorted(_imports(f))
           if any(m == p or m.startswith(p + ".") for p in FORBIDDEN[package])]
    assert not bad, f"{package} imports a higher floor: {bad}"


def _modules_after(code: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(proc.stdout.split())


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["list", "--no-params"],
                                  ["train", "--help"], ["reproduce", "invoice", "--help"],
                                  ["reproduce", "numeric-loss", "--help"],
                                  ["reproduce", "persian-ocr", "--help"],
                                  ["reproduce", "rvl-cdip", "--help"],
                                  ["reproduce", "robustness", "--help"]])
def test_cli_help_and_list_import_no_tensorflow(argv):
    code = ("import sys, contextlib, io\n"
            "from kerasdoc.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        main({argv!r})\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras')))")
    assert not _modules_after(code), f"kerasdoc {' '.join(argv)} imported TensorFlow / Keras"


def test_cli_prints_no_tensorflow_startup_lines(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kerasdoc", "predict", str(tmp_path),
                           str(tmp_path / "x.png")], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 2
    for noise in ("oneDNN", "absl::InitializeLog", "I0000", "cuda"):
        assert noise not in proc.stderr, proc.stderr
    assert "x.png" in proc.stderr  # the real error still gets through
