"""Every experiment's settings, one declarative recipe per paper, each setting with its source.

A recipe is a mapping ``field -> Setting``. A :class:`Setting` holds a value and where it comes
from, one of:

* ``paper``: the document states it; ``where`` names the place (section, table, figure or
  notebook cell) and ``quote`` holds the document's own words (verbatim, so a test finds them in
  the document). Where the document is wrong or vague, ``why`` says how we read its intent.
* ``not stated``: the document is silent; ``why`` says what we chose and why.
* ``stand-in``: the document used something we cannot use here; ``where`` says what it used
  (and where) and ``why`` why we cannot.

Each experiment has the named recipes ``paper`` (the document as written, for a GPU), ``cpu``
(the measured two-core recipe; the default) and ``quick`` (tests and smoke runs), built with
:func:`derive` from one another. :func:`resolve` applies command-line overrides and records
them. This package imports no TensorFlow: ``kerasdoc recipe NAME`` prints a recipe instantly.

Example:
    >>> from kerasdoc.recipes import resolve
    >>> r = resolve("numeric-loss", "paper", {"trials": 5})
    >>> r.values["beta"], r.settings["beta"].source, r.overrides["trials"]
    (0.9, 'paper', (3, 5))
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PAPER, NOT_STATED, STAND_IN, OVERRIDE = "paper", "not stated", "stand-in", "override"
SOURCES = (PAPER, NOT_STATED, STAND_IN)
RECIPE_NAMES = ("paper", "cpu", "quick")
DEFAULT_RECIPE = "cpu"
#: experiment name -> module under kerasdoc.recipes
MODULES = {"invoice": "invoice", "numeric-loss": "numeric_loss", "persian-ocr": "persian_ocr",
           "robustness": "robustness", "rvl-cdip": "rvl_cdip"}


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting: its value, its source, and the document's words or our reasons.

    Args:
        value: the value the experiment reads.
        source: ``"paper"``, ``"not stated"`` or ``"stand-in"`` (``"override"`` only in a
            resolved recipe, for a value given on the command line).
        where: ``paper``: the place in the document; ``stand-in``: what the document used.
        quote: ``paper``: the document's words, verbatim.
        why: ``not stated`` / ``stand-in``: our choice and why; ``paper``: how we read a vague
            or wrong passage.
    """

    value: Any
    source: str
    where: str = ""
    quote: str = ""
    why: str = ""

    def __post_init__(self):
        if self.source not in (*SOURCES, OVERRIDE):
            raise ValueError(f"Setting source must be one of {SOURCES}. Received: "
                             f"source={self.source!r}")
        if self.source == PAPER and not (self.where and self.quote):
            raise ValueError(f"A 'paper' setting needs where and quote. Received: {self}")
        if self.source in (NOT_STATED, STAND_IN) and not self.why:
            raise ValueError(f"A '{self.source}' setting needs why. Received: {self}")
        if self.source == STAND_IN and not self.where:
            raise ValueError(f"A 'stand-in' setting needs where (what the paper used). "
                             f"Received: {self}")

    def describe(self) -> str:
        """The source column of the recipe table."""
        if self.source == PAPER:
            text = f"paper: {self.where}: \"{self.quote}\""
            return text + (f" ({self.why})" if self.why else "")
        if self.source == STAND_IN:
            return f"stand-in for {self.where}: {self.why}"
        return f"{self.source}: {self.why}"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v != "" or k == "value"}


def paper(value: Any, where: str, quote: str, why: str = "") -> Setting:
    """A setting the document states (``quote`` verbatim from it)."""
    return Setting(value, PAPER, where, quote, why)


def not_stated(value: Any, why: str) -> Setting:
    """A setting the document does not state: our choice and why."""
    return Setting(value, NOT_STATED, why=why)


def stand_in(value: Any, used: str, why: str) -> Setting:
    """A setting where the document used ``used`` and we cannot (``why``)."""
    return Setting(value, STAND_IN, where=used, why=why)


@dataclasses.dataclass(frozen=True)
class Field:
    """How a recipe field appears on the command line (``--name-with-dashes``)."""

    help: str
    type: Callable[[str], Any] | None = None  # None: a boolean (--x / --no-x)
    choices: tuple | None = None
    nargs: int | str | None = None
    metavar: str | tuple | None = None


def derive(base: Mapping[str, Setting], **changes: Setting) -> dict[str, Setting]:
    """A recipe from ``base`` with some settings changed (each must exist in ``base``)."""
    unknown = sorted(set(changes) - set(base))
    if unknown:
        raise KeyError(f"derive: unknown settings {unknown}. Expected some of {sorted(base)}.")
    bad = [k for k, v in changes.items() if not isinstance(v, Setting)]
    if bad:
        raise TypeError(f"derive: {bad} must be Setting objects (a value with its source).")
    return {**base, **changes}


def module(experiment: str):
    """The recipe module of ``experiment`` (``ValueError`` naming the known ones)."""
    if experiment not in MODULES:
        raise ValueError(f"No recipe for {experiment!r}. Expected one of: "
                         f"{', '.join(sorted(MODULES))}.")
    return importlib.import_module(f"{__name__}.{MODULES[experiment]}")


def recipe_names(experiment: str) -> tuple[str, ...]:
    """The named recipes of ``experiment`` (``paper``, ``cpu``, ``quick`` and any extra)."""
    return tuple(module(experiment).RECIPES)


@dataclasses.dataclass
class Resolved:
    """A named recipe with the command line's overrides applied."""

    experiment: str
    name: str
    settings: dict[str, Setting]
    overrides: dict[str, tuple[Any, Any]]  # field -> (recipe value, given value)
    base: dict[str, Setting]  # the named recipe before overrides

    @property
    def values(self) -> dict[str, Any]:
        return {k: s.value for k, s in self.settings.items()}

    def differences_from_paper(self) -> list[dict[str, Any]]:
        """Each setting whose value differs from the ``paper`` recipe's, or whose ``paper``
        value is itself a stand-in: ``{"setting", "paper", "ours", "why"}``."""
        ref = module(self.experiment).RECIPES["paper"]
        rows = []
        for k, s in self.settings.items():
            p = ref[k]
            if _same(s.value, p.value) and p.source != STAND_IN:
                continue
            if s.source == OVERRIDE:
                why = s.why
            elif _same(s.value, p.value):
                why = f"the paper used {p.where}: {p.why}"
            else:
                why = s.describe()
            paper_text = (f"{fmt(p.value)}" if p.source != STAND_IN else
                          f"{p.where} (our paper recipe: {fmt(p.value)})")
            rows.append({"setting": k, "paper": paper_text, "ours": fmt(s.value), "why": why})
        return rows

    def to_json(self) -> dict[str, Any]:
        """The resolved recipe as ``config.json`` holds it."""
        return {"experiment": self.experiment, "recipe": self.name,
                "settings": {k: _jsonable(s.to_json()) for k, s in self.settings.items()},
                "overrides": {k: {"recipe_value": _jsonable(a), "value": _jsonable(b)}
                              for k, (a, b) in self.overrides.items()},
                "differences_from_paper": self.differences_from_paper()}

    def markdown(self) -> str:
        """The ``results.md`` section: the recipe's name and each difference from the paper."""
        from kerasdoc.reporting import markdown_table

        lines = [f"## Recipe `{self.name}`", "",
                 f"Settings: recipe `{self.name}` of `kerasdoc recipe {self.experiment}`"
                 + (f", with {len(self.overrides)} command-line override(s): "
                    + ", ".join(f"{k} {fmt(a)} -> {fmt(b)}"
                                for k, (a, b) in self.overrides.items())
                    if self.overrides else "") + " (config.json holds every setting with its "
                 "source)."]
        diffs = self.differences_from_paper()
        if diffs:
            lines += ["", "Settings that differ from the paper's:", "",
                      markdown_table(["setting", "paper", "this run", "why"],
                                     [[d["setting"], d["paper"], d["ours"], d["why"]]
                                      for d in diffs])]
        else:
            lines += ["", "Every setting is the paper's (or the paper is silent on it)."]
        return "\n".join(lines)


def _same(a: Any, b: Any) -> bool:
    return _jsonable(a) == _jsonable(b)


def _jsonable(v: Any) -> Any:
    if isinstance(v, slice):
        return fmt(v)
    return json.loads(json.dumps(v, default=str))


def fmt(value: Any) -> str:
    """A value as the recipe table prints it (``slice(1e-06, 0.0001)``, ``a,b``, ``none``)."""
    if value is None:
        return "none"
    if isinstance(value, slice):
        return f"slice({value.start:g}, {value.stop:g})" if value.start is not None else \
            f"slice({value.stop:g})"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ",".join(f"{k}={fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ",".join(fmt(v) for v in value)
    return str(value)


def resolve(experiment: str, recipe: str = DEFAULT_RECIPE,
            overrides: Mapping[str, Any] | None = None) -> Resolved:
    """The named ``recipe`` of ``experiment`` with ``overrides`` (``field -> value``) applied;
    an override equal to the recipe's value is not recorded."""
    mod = module(experiment)
    if recipe not in mod.RECIPES:
        raise ValueError(f"{experiment} has no recipe {recipe!r}. Expected one of: "
                         f"{', '.join(mod.RECIPES)}.")
    base = dict(mod.RECIPES[recipe])
    settings = dict(base)
    done: dict[str, tuple[Any, Any]] = {}
    for k, v in (overrides or {}).items():
        if k not in base:
            raise KeyError(f"{experiment} has no setting {k!r}. Expected one of: "
                           f"{', '.join(sorted(base))}.")
        if _same(v, base[k].value):
            continue
        done[k] = (base[k].value, v)
        settings[k] = Setting(v, OVERRIDE, why=f"--{k.replace('_', '-')} on the command line "
                                               f"(recipe {recipe}: {fmt(base[k].value)})")
    return Resolved(experiment, recipe, settings, done, base)


def counts(experiment: str, recipe: str = "paper") -> dict[str, int]:
    """How many settings of a recipe come from each source."""
    out = {s: 0 for s in SOURCES}
    for s in module(experiment).RECIPES[recipe].values():
        out[s.source] += 1
    return out


def table(experiment: str, recipe: str = DEFAULT_RECIPE, *, width: int | None = None) -> str:
    """``setting | value | source`` of a recipe, plus what cannot be varied here and the
    reference figures, as Markdown."""
    mod = module(experiment)
    rec = mod.RECIPES[recipe]

    def cell(text: str) -> str:
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if width is None or len(text) <= width else text[:width - 3] + "..."

    c = counts(experiment, recipe)
    lines = [f"# {experiment}: recipe `{recipe}` ({len(rec)} settings: "
             + ", ".join(f"{n} {s}" for s, n in c.items()) + ")", "",
             f"Source document: {mod.DOCUMENT}", "",
             "| setting | value | source |", "|---|---|---|"]
    lines += [f"| {k} | {cell(fmt(s.value))} | {cell(s.describe())} |" for k, s in rec.items()]
    fixed = getattr(mod, "FIXED", {})
    if fixed:
        lines += ["", "Fixed in kerasdoc (not a flag):", "", "| what | value | source |",
                  "|---|---|---|"]
        lines += [f"| {k} | {cell(fmt(s.value))} | {cell(s.describe())} |"
                  for k, s in fixed.items()]
    refs = getattr(mod, "REFERENCES", {})
    if refs:
        lines += ["", "Reference figures:", "", "| figure | value | source |", "|---|---|---|"]
        lines += [f"| {k} | {cell(fmt(s.value))} | {cell(s.describe())} |"
                  for k, s in refs.items()]
    return "\n".join(lines)


# -- the source documents ----------------------------------------------------------------------
def seeds_dir() -> Path | None:
    """The folder of the five source documents: ``$KERASDOC_SHARED/seeds``, else
    ``../shared/seeds`` beside the repository (or beside its main checkout), else None."""
    cands = []
    if os.environ.get("KERASDOC_SHARED"):
        cands.append(Path(os.environ["KERASDOC_SHARED"]) / "seeds")
    if os.environ.get("KERASDOC_SHARED_DATA"):
        cands.append(Path(os.environ["KERASDOC_SHARED_DATA"]).parent / "seeds")
    repo = Path(__file__).resolve().parents[2]
    cands += [p / "shared" / "seeds" for p in (repo.parent, repo.parent.parent)]
    return next((c for c in cands if c.is_dir()), None)


def normalise(text: str) -> str:
    """Whitespace runs as one space (the documents wrap lines and use tabs in tables)."""
    return re.sub(r"\s+", " ", text).strip()


def missing_quotes(experiment: str, document_text: str) -> list[str]:
    """The ``paper`` settings (of every recipe, and the fixed / reference entries) whose quote
    does not occur in ``document_text``."""
    mod = module(experiment)
    doc = normalise(document_text)
    entries = {f"{r}.{k}": s for r, rec in mod.RECIPES.items() for k, s in rec.items()}
    entries.update({f"fixed.{k}": s for k, s in getattr(mod, "FIXED", {}).items()})
    entries.update({f"reference.{k}": s for k, s in getattr(mod, "REFERENCES", {}).items()})
    return sorted(k for k, s in entries.items()
                  if s.source == PAPER and normalise(s.quote) not in doc)


# -- command-line types of recipe fields -------------------------------------------------------
def optional(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """``kind``, or None for ``none`` / empty."""
    def parse(text: str) -> Any:
        return None if str(text).strip().lower() in ("", "none") else kind(text)
    parse.__name__ = getattr(kind, "__name__", "value")
    return parse


def pair(text: str) -> tuple[float, float] | None:
    """``"0.8,1.2"`` -> ``(0.8, 1.2)``; ``none`` -> None."""
    if str(text).strip().lower() in ("", "none"):
        return None
    parts = [float(p) for p in str(text).split(",")]
    if len(parts) != 2:
        raise ValueError(f"Expected LOW,HIGH. Received: {text!r}")
    return (parts[0], parts[1])


def float_or_pair(text: str) -> float | tuple[float, float]:
    """``"0.1"`` -> 0.1; ``"0.9091,1"`` -> ``(0.9091, 1.0)``."""
    return pair(text) if "," in str(text) else float(text)


def per_key(keys: tuple[str, ...]) -> Callable[[str], dict[str, int]]:
    """``"5"`` -> every key 5; ``"dnn=20,cnn=15"`` -> those keys (the others must follow)."""
    def parse(text: str) -> dict[str, int]:
        t = str(text).strip()
        if "=" not in t:
            return {k: int(t) for k in keys}
        out = {}
        for part in t.split(","):
            k, _, v = part.partition("=")
            if k.strip() not in keys:
                raise ValueError(f"Expected keys {keys}. Received: {k.strip()!r}")
            out[k.strip()] = int(v)
        missing = [k for k in keys if k not in out]
        if missing:
            raise ValueError(f"Give every one of {keys} (or one number for all). Missing: "
                             f"{missing}")
        return out
    parse.__name__ = "epochs"
    return parse
