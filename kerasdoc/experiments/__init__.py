"""One script per paper table; each is runnable as ``kerasdoc reproduce NAME`` or ``python -m``.

Every module here that defines ``NAME`` (the experiment's name on the command line), ``PAPER``
(its key in :mod:`kerasdoc.papers`) and ``main(argv=None) -> dict`` is an experiment;
:func:`list_experiments` finds them by reading their source (no import, so ``kerasdoc list``
stays fast), and a new script needs no registration.

Each experiment has the same shape (see ``kerasdoc/experiments/numeric_loss.py``):
``build_parser()``,
``load_data(args)``, ``run(args, data, run_ctx)``, ``summarise(...)``, ``render_markdown(...)``
and a short ``main``.

Example:
    >>> from kerasdoc.experiments import list_experiments
    >>> "numeric-loss" in list_experiments()
    True
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any


def _scan() -> dict[str, dict[str, Any]]:
    """``{NAME: {"module", "paper", "description"}}`` read from each module's source."""
    found: dict[str, dict[str, Any]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        path = Path(__path__[0]) / f"{info.name}.py"
        if not path.is_file():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts: dict[str, Any] = {}
        has_main = False
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and \
                    isinstance(node.value, ast.Constant):
                consts[node.targets[0].id] = node.value.value
            elif isinstance(node, ast.FunctionDef) and node.name == "main":
                has_main = True
        if "NAME" in consts and has_main:
            doc = (ast.get_docstring(tree) or "").strip().splitlines()
            found[consts["NAME"]] = {"module": f"{__name__}.{info.name}",
                                     "paper": consts.get("PAPER", ""),
                                     "description": doc[0] if doc else ""}
    return found


def list_experiments(details: bool = False) -> dict[str, Any]:
    """``{name: one-line description}`` of every experiment, sorted by name; with
    ``details=True`` ``{name: {"module", "paper", "description"}}``."""
    found = _scan()
    return {n: (found[n] if details else found[n]["description"]) for n in sorted(found)}


def get_experiment(name: str) -> ModuleType:
    """The experiment module called ``name`` (``ValueError`` naming the known ones if unknown)."""
    found = _scan()
    if name not in found:
        raise ValueError(f"Unknown experiment {name!r}. Expected one of: "
                         f"{', '.join(sorted(found))}.")
    return importlib.import_module(found[name]["module"])
