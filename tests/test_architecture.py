"""The import structure: each floor imports only the floors below it, and the CLI starts fast.

Floors, bottom to top (an arrow is "may import"):

    kerasdoc.generators  <-  kerasdoc.papers / catalog  <-  kerasdoc.models  <-  losses / metrics
        <-  card / export / serving_client  <-  training  <-  runs  <-  interpret / reporting
        <-  cli, kerasdoc.experiments

`kerasdoc.generators` imports nothing else of `kerasdoc` but `kerasdoc.constants` (the flags' names,
a module that imports nothing); `kerasdoc.models` never imports training,
runs, export or
the CLI; serving (`export`, `card`, `serving_client`) never imports the training package.
"""

from __future__ import annotations

import ast
import os
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


_ABOVE_GENERATORS = tuple(sorted(
    "kerasdoc." + (p.stem if p.suffix == ".py" else p.name)
    for p in (REPO / "kerasdoc").iterdir()
    if p.name not in ("generators", "constants.py", "__init__.py", "__main__.py", "__pycache__")
    and (p.suffix == ".py" or (p / "__init__.py").is_file())))

FORBIDDEN = {
    "kerasdoc.generators": _ABOVE_GENERATORS,
    "kerasdoc.models": ("kerasdoc.training", "kerasdoc.runs", "kerasdoc.export",
                        "kerasdoc.card", "kerasdoc.cli", "kerasdoc.interpret",
                        "kerasdoc.reporting", "kerasdoc.experiments"),
    "kerasdoc.export": ("kerasdoc.training", "kerasdoc.runs", "kerasdoc.cli",
                        "kerasdoc.experiments"),
    "kerasdoc.card": ("kerasdoc.training", "kerasdoc.runs", "kerasdoc.cli", "kerasdoc.experiments"),
    "kerasdoc.serving_client": ("kerasdoc.training", "kerasdoc.runs", "kerasdoc.models",
                                "kerasdoc.experiments"),
    "kerasdoc.training": ("kerasdoc.runs", "kerasdoc.cli", "kerasdoc.experiments"),
    "kerasdoc.runs": ("kerasdoc.cli", "kerasdoc.experiments"),
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


# Keras internals: only the two adapter modules import ``keras.src`` (each has a check that
# names what a new Keras release changed, run by its own test file).
KERAS_INTERNALS_ADAPTERS = ("kerasdoc/generators/keras_adapter.py", "kerasdoc/keras_internals.py")


def test_only_the_adapter_modules_import_keras_internals():
    found = sorted({f.relative_to(REPO).as_posix() for f in _files("kerasdoc")
                    for m in _imports(f) if m.startswith(("keras.src", "tf_keras.src"))})
    assert found == sorted(KERAS_INTERNALS_ADAPTERS), (
        f"modules importing keras.src outside {KERAS_INTERNALS_ADAPTERS}: "
        f"{sorted(set(found) - set(KERAS_INTERNALS_ADAPTERS))}")


# Import names: kerasdoc installs one top-level name, its own. A user's `generators.py` or
# `experiments/` folder beside a notebook must not shadow any part of the package.
TOP_LEVEL_NAMES_OTHERS_OWN = ("generators", "experiments")


def test_every_module_imports_kerasdoc_names_only():
    files = [p for d in ("kerasdoc", "tests", "benchmarks", "notebooks")
             for p in (REPO / d).rglob("*.py")]
    bad = [(f.relative_to(REPO).as_posix(), m) for f in files for m in sorted(_imports(f))
           if m.split(".")[0] in TOP_LEVEL_NAMES_OTHERS_OWN]
    assert not bad, f"top-level imports of names kerasdoc does not own: {bad}"
    assert not any((REPO / n).exists() for n in TOP_LEVEL_NAMES_OTHERS_OWN)


def test_a_users_generators_and_experiments_do_not_shadow_kerasdoc(tmp_path):
    (tmp_path / "generators.py").write_text("raise ImportError('the user generators.py')\n")
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "__init__.py").write_text("X = 1\n")
    code = ("import sys; sys.path.insert(0, '.')\n"
            "import kerasdoc.export, kerasdoc.generators.spec\n"
            "from kerasdoc.experiments import get_experiment\n"
            "print(get_experiment('invoice').NAME)")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "invoice"


# Size: no module of the package over 800 lines, no function over 80 lines of code (blank lines,
# comments and docstrings not counted; a nested function counts in its parent too).
# `python tests/test_architecture.py` lists the largest modules and functions.
MAX_MODULE_LINES = 800
MAX_FUNCTION_CODE_LINES = 80
SIZE_CHECKED = ("kerasdoc",)


def _code_lines(node: ast.AST, lines: list[str]) -> int:
    """Lines of code of a function: its lines minus blank lines, comments and its docstring."""
    skip: set[int] = set()
    body = getattr(node, "body", [])
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return sum(1 for i in range(first, node.end_lineno + 1)
               if i not in skip and lines[i - 1].strip()
               and not lines[i - 1].strip().startswith("#"))


def sizes(folder: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """``(modules, functions)`` under ``folder``: ``(lines, name)``, largest first."""
    modules, functions = [], []
    for path in sorted((REPO / folder).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        rel = path.relative_to(REPO).as_posix()
        modules.append((len(lines), rel))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append((_code_lines(node, lines), f"{rel}:{node.lineno} {node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


@pytest.mark.parametrize("folder", SIZE_CHECKED)
def test_no_module_over_800_lines_and_no_function_over_80_lines_of_code(folder):
    modules, functions = sizes(folder)
    big = [m for m in modules if m[0] > MAX_MODULE_LINES]
    long = [f for f in functions if f[0] > MAX_FUNCTION_CODE_LINES]
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"
    assert not long, f"functions over {MAX_FUNCTION_CODE_LINES} lines of code: {long}"


if __name__ == "__main__":  # the largest modules and functions of the whole package
    mods, funcs = sizes("kerasdoc")
    print("modules over 800 lines:", *[f"{n:5d} {m}" for n, m in mods if n > 800], sep="\n  ")
    print("functions over 80 lines of code:",
          *[f"{n:5d} {f}" for n, f in funcs if n > 80], sep="\n  ")


# Inside kerasdoc.generators, bottom to top: a module imports only modules on lower floors
# (the leaf modules — files, ops, spec, crops, keras2, ... — import no flow machinery).
GENERATOR_FLOORS = (
    ("keras_adapter", "file_table"),
    ("flow",),
    ("pipeline", "read"),
    ("guard",),
    ("file_flow", "array_flow"),
    ("image_generator",),
    ("iterators",),
)


def test_generators_modules_import_only_lower_floors():
    floor = {m: i for i, ms in enumerate(GENERATOR_FLOORS) for m in ms}
    bad = []
    for name, i in floor.items():
        for m in _imports(REPO / "kerasdoc" / "generators" / f"{name}.py"):
            other = m.removeprefix("kerasdoc.generators.")
            if other in floor and floor[other] >= i:
                bad.append((name, other))
    assert not bad, f"generators modules importing a module on their floor or above: {bad}"
