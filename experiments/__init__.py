"""One script per paper table; each is runnable as ``kerasdoc reproduce NAME`` or ``python -m``.

Every module here that defines ``NAME`` (the experiment's name on the command line), ``PAPER``
(the seed document) and ``main(argv=None) -> dict`` is an experiment; :func:`list_experiments`
finds them, so a new script needs no registration.

Example:
    >>> from experiments import list_experiments
    >>> "numeric-loss" in list_experiments()
    True
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def _modules() -> dict[str, ModuleType]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "main"):
            found[mod.NAME] = mod
    return found


def list_experiments() -> dict[str, str]:
    """``{name: one-line description}`` of every experiment, sorted by name."""
    mods = _modules()
    return {name: (mods[name].__doc__ or "").strip().splitlines()[0] for name in sorted(mods)}


def get_experiment(name: str) -> ModuleType:
    """The experiment module called ``name`` (``ValueError`` naming the known ones if unknown)."""
    mods = _modules()
    if name not in mods:
        known = ", ".join(sorted(mods))
        raise ValueError(f"Unknown experiment {name!r}. Expected one of: {known}.")
    return mods[name]
