"""Flags and plumbing shared by every experiment script (no model or data code lives here).

Every experiment has the same shape: ``build_parser()``, ``load_data(args)``, ``run(args, data,
run_ctx)``, ``summarise(...)``, ``render_markdown(...)`` and a short ``main(argv=None) -> dict``;
the same flag means the same thing in each (:func:`base_parser`); the same result keys
(:func:`result_header`); and the training goes through :class:`kerasdoc.runs.Run`.

Example:
    >>> args = parse(base_parser("numeric-loss", "A demo."), ["--quick", "--lr", "0.01"])
    >>> args.lr, args.recipe, args.epochs["dnn"], sorted(args.unread())[:3]
    (0.01, 'quick', 1, ['alpha', 'batch_size', 'beta'])
    >>> args.resolved().overrides
    {'lr': (0.001, 0.01)}
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kerasdoc.constants import STRATEGIES

#: Flags that say where and how to run, not what: every other flag is a recipe setting.
PLUMBING = ("data", "test", "train", "recipe", "dry_run", "out", "overwrite", "strategy",
            "mixed_precision", "tensorboard", "export", "export_dir")
_OPTIONAL = ("train", "export")


class TrackedNamespace(argparse.Namespace):
    """An ``argparse.Namespace`` that remembers which flags the experiment read.

    ``unread()`` lists the flags never looked at: the tests assert it is empty (or only flags
    that apply on another path), so that no experiment offers a flag, or carries a recipe
    setting, that it ignores. ``recipe()`` is the resolved recipe (:mod:`kerasdoc.recipes`).
    """

    def __init__(self, **kwargs: Any):
        object.__setattr__(self, "_read", set())
        object.__setattr__(self, "_resolved", None)
        super().__init__(**kwargs)

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name not in ("unread", "mark_read", "resolved"):
            object.__getattribute__(self, "_read").add(name)
        return object.__getattribute__(self, name)

    def mark_read(self, *names: str) -> None:
        """Count flags as read (for code that reads them through ``vars(args)``)."""
        object.__getattribute__(self, "_read").update(names)

    def unread(self) -> list[str]:
        """Names of the flags never read, sorted."""
        read = object.__getattribute__(self, "_read")
        return sorted(k for k in vars(self) if not k.startswith("_") and k not in read)

    def resolved(self):
        """The run's :class:`kerasdoc.recipes.Resolved` (recipe, sources, overrides)."""
        return object.__getattribute__(self, "_resolved")


def _recipe_help(mod, key: str, field) -> str:
    from kerasdoc.recipes import fmt

    per = "; ".join(f"{r}: {fmt(rec[key].value)}" for r, rec in mod.RECIPES.items())
    return f"{field.help} [{per}]".replace("%", "%%")


def base_parser(name: str, description: str, *, optional: Sequence[str] = ()
                ) -> argparse.ArgumentParser:
    """The parser: the run flags every experiment takes, the ``optional`` ones it reads, and
    one flag per setting of its recipe (:mod:`kerasdoc.recipes`), whose default is the chosen
    recipe's value.

    Always: ``--recipe --quick --dry-run --data --test --out --overwrite --strategy
    --mixed-precision --tensorboard``. Optional: ``train`` (training data path(s) separate from
    ``--data``), ``export`` (``--export`` and ``--export-dir``). ``--data`` is a recipe setting
    where the recipe names a data source (numeric-loss, robustness).

    Args:
        name: the experiment's ``NAME`` (also its recipe's name).
        description: the ``--help`` description.
        optional: names from ``("train", "export")``.
    """
    from kerasdoc.recipes import DEFAULT_RECIPE, module

    unknown = sorted(set(optional) - set(_OPTIONAL))
    if unknown:
        raise ValueError(f"Unknown optional flags {unknown}. Expected some of {_OPTIONAL}.")
    mod = module(name)
    p = argparse.ArgumentParser(
        prog=f"kerasdoc reproduce {name}", description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=f"Every setting comes from the recipe (--recipe; `kerasdoc recipe {name} "
               "--recipe R` prints each with its source); a flag overrides one setting and is "
               "recorded in config.json and results.md. Results go to --out (default "
               f"results/{name}, results/{name}-RECIPE for another recipe than "
               f"{DEFAULT_RECIPE}). A finished run's folder is never replaced silently: with "
               "the default folder a new one is numbered (-2, -3, ...); an explicit --out "
               "that holds results needs --overwrite. An interrupted run re-run with the same "
               "flags resumes its training from the last finished epoch.")
    p.set_defaults(_experiment=name)
    p.add_argument("--recipe", default=DEFAULT_RECIPE, choices=tuple(mod.RECIPES),
                   help="the named recipe: paper (the document as written, for a GPU), cpu "
                        "(measured on two CPU cores), quick (tests)")
    p.add_argument("--quick", dest="recipe", action="store_const", const="quick",
                   help="alias of --recipe quick")
    p.add_argument("--dry-run", action="store_true",
                   help="print the resolved plan on the given data (stages, epochs, sizes, "
                        "steps per epoch, batch per replica under --strategy) and exit "
                        "without training")
    if "data" not in mod.FIELDS:
        p.add_argument("--data", default=None, help="dataset path (default: generated demo)")
    if "train" in optional:
        p.add_argument("--train", default=None, help="training data path(s)")
    p.add_argument("--test", default=None,
                   help="separate test data; without it the experiment reports on a seeded "
                        "held-out split it never trained or chose on")
    p.add_argument("--out", default=None, help=f"output folder (default: results/{name})")
    p.add_argument("--overwrite", action="store_true",
                   help="let --out replace the results of a finished run")
    if "export" in optional:
        p.add_argument("--export", action="store_true",
                       help="export the model for TF Serving (from its model card)")
        p.add_argument("--export-dir", default="saved_models",
                       help="model repository for --export")
    p.add_argument("--strategy", default="auto", choices=STRATEGIES,
                   help="tf.distribute strategy (kerasdoc.distribute.get_strategy)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16 on GPU, mixed_bfloat16 elsewhere")
    p.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="log every fit to DIR/<fit folder> for TensorBoard: per-epoch scalars "
                        "and learning rate, the validation confusion matrix image, the "
                        "hyper-parameters")
    g = p.add_argument_group(f"recipe settings (defaults: the --recipe's; `kerasdoc recipe "
                             f"{name}` gives their sources)")
    for key, field in mod.FIELDS.items():
        kw: dict[str, Any] = {"default": argparse.SUPPRESS,
                              "help": _recipe_help(mod, key, field)}
        if field.type is None:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw.update(type=field.type, choices=field.choices, nargs=field.nargs,
                      metavar=field.metavar)
        g.add_argument("--" + key.replace("_", "-"), **kw)
    return p


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> TrackedNamespace:
    """``parser.parse_args(argv)`` into a :class:`TrackedNamespace` with every recipe setting
    filled in from the chosen recipe (flags given override it, recorded in ``resolved()``);
    argparse's own look-ups while parsing do not count as reads."""
    from kerasdoc.recipes import module, resolve

    args = parser.parse_args(argv, namespace=TrackedNamespace())
    name = vars(args).pop("_experiment")
    fields = module(name).FIELDS
    given = {k: v for k, v in vars(args).items() if k in fields}
    if "source_idx" in given and given["source_idx"] is not None:  # nargs: a list of paths
        paths = [p for p in given["source_idx"] if p is not None]
        given["source_idx"] = tuple(paths) if paths else None
    try:
        resolved = resolve(name, args.recipe, given)
    except (KeyError, ValueError) as e:
        parser.error(str(e))
    for k, v in resolved.values.items():
        setattr(args, k, v)
    object.__setattr__(args, "_resolved", resolved)
    object.__getattribute__(args, "_read").clear()
    args.mark_read("recipe")  # read here: it chose every setting
    return args


def fit_verbosity(args: argparse.Namespace) -> int:
    """Keras' ``verbose`` for fits: silent for the ``quick`` recipe, one line per epoch
    otherwise (a display choice, not a setting)."""
    return 0 if args.recipe == "quick" else 2


def start_run(args: argparse.Namespace, out: Path, *, batch_size: int, folder: str = "runs",
              tensorboard: bool = True):
    """The experiment's :class:`kerasdoc.runs.Run` (strategy first, then other TF work).

    Args:
        args: the parsed flags (``--strategy``, ``--mixed-precision``, ``--seed``,
            ``--tensorboard``).
        out: the output folder (:func:`resolve_out`).
        batch_size: the batch per replica.
        folder: the run's folder under ``out`` (its fits' folders are relative to it; ``""``:
            ``out`` itself). Defaults to ``"runs"``.
        tensorboard: without ``--tensorboard DIR``, log scalars to each fit's ``logs/``.
            Defaults to True.
    """
    from kerasdoc.runs import Run

    return Run(out / folder, strategy=args.strategy, mixed_precision=args.mixed_precision,
               batch_size=batch_size, seed=args.seed,
               tensorboard=args.tensorboard or tensorboard, hparams=tensorboard_hparams(args))


def tensorboard_hparams(args: argparse.Namespace) -> dict[str, Any]:
    """The flags with a scalar value, as hyper-parameters for TensorBoard (``--tensorboard``);
    reading them this way does not count them as read."""
    return {k: v for k, v in vars(args).items()
            if not k.startswith("_") and isinstance(v, bool | int | float | str)
            and k not in ("out", "tensorboard", "overwrite", "export_dir")}


def resolve_out(args: argparse.Namespace, name: str) -> Path:
    """The output folder, created; never a finished run's folder unless asked.

    ``--out DIR``: DIR, refused with ``FileExistsError`` if it holds a finished run's
    ``results.json`` and ``--overwrite`` is not given. Default: ``results/<name>`` (or
    ``results/<name>-<recipe>`` for another recipe than ``cpu``), or the next free ``-2``,
    ``-3`` ... if it holds finished results (said on the console). A folder without
    ``results.json`` is an interrupted run: reused, so its training resumes.
    """
    overwrite = args.overwrite
    if args.out:
        out = Path(args.out)
        if (out / "results.json").exists() and not overwrite:
            raise FileExistsError(f"--out {out} holds the results of a finished run; pass "
                                  "--overwrite to replace them, or another --out.")
    else:
        from kerasdoc.recipes import DEFAULT_RECIPE

        recipe = args.recipe
        base = Path("results") / (name if recipe == DEFAULT_RECIPE else f"{name}-{recipe}")
        out = base
        k = 1
        while (out / "results.json").exists() and not overwrite:
            k += 1
            out = base.with_name(f"{base.name}-{k}")
        if out != base:
            print(f"[{name}] {base} holds an earlier run's results; writing to {out} "
                  "(--overwrite replaces them)", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


def finished_stage(record: Path | None) -> dict[str, Any] | None:
    """The record a finished stage (a trial, a training stage) left at ``record``, or None.

    Every experiment marks a stage finished the same way: the stage's last step writes its
    record with :func:`finish_stage` (atomically), so a re-run with the same flags reads it
    here and skips the stage; an interrupted stage has no record and resumes its training.

    Example:
        >>> import tempfile
        >>> rec = Path(tempfile.mkdtemp()) / "stage.json"
        >>> finished_stage(rec) is None
        True
        >>> finish_stage(rec, {"accuracy": 0.5}) and finished_stage(rec)
        {'accuracy': 0.5}
    """
    if record is None or not Path(record).is_file():
        return None
    return json.loads(Path(record).read_text())


def finish_stage(record: Path | None, result: dict[str, Any]) -> dict[str, Any]:
    """Write a finished stage's ``result`` to ``record`` (no-op for None); returns ``result``."""
    if record is not None:
        from kerasdoc.diskio import write_json

        write_json(record, result)
    return result


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its child processes that have ended (worker
    processes, once their pool is shut down)."""
    from kerasdoc.training.workers import children_cpu_seconds

    return time.process_time() + children_cpu_seconds()


class Timer:
    """Context manager measuring wall and CPU time in seconds (``.seconds``, ``.cpu_seconds``:
    this process's and that of the child processes that ended inside the block)."""

    def __enter__(self) -> Timer:
        self.start, self.cpu_start = time.perf_counter(), _cpu_seconds()
        self.seconds = self.cpu_seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = _cpu_seconds() - self.cpu_start


def config_of(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """The resolved configuration of a run, JSON-safe: every flag's value, ``recipe`` (the
    resolved recipe: each setting with its value and source, the overrides, the differences
    from the paper) and derived values."""
    from kerasdoc.recipes import fmt

    cfg = {k: (fmt(v) if isinstance(v, slice) else v) for k, v in vars(args).items()
           if not k.startswith("_") and k != "recipe"}
    resolved = args.resolved() if isinstance(args, TrackedNamespace) else None
    cfg["recipe"] = resolved.to_json() if resolved is not None else vars(args).get("recipe")
    cfg.update(extra)
    return json.loads(json.dumps(cfg, default=str))


def recipe_markdown(args: argparse.Namespace) -> str:
    """The ``results.md`` section naming the recipe and each setting that differs from the
    paper's, with why (empty without a resolved recipe)."""
    resolved = args.resolved() if isinstance(args, TrackedNamespace) else None
    return "" if resolved is None else resolved.markdown()


def plan(args: argparse.Namespace, name: str, *, data: str, stages: Sequence[dict[str, Any]],
         notes: Sequence[str] = ()) -> dict[str, Any]:
    """``--dry-run``: print the resolved plan and return it; nothing is trained or written.

    Each stage: ``{"stage", "what", "epochs", "input", "samples", "batch"}`` with ``batch`` per
    replica (``None``: the whole set at once); the global batch and the steps per epoch follow
    from the replicas of ``--strategy``.
    """
    import math

    from kerasdoc.distribute import get_strategy
    from kerasdoc.reporting import markdown_table

    strategy = get_strategy(args.strategy)
    replicas = int(strategy.num_replicas_in_sync)
    resolved = args.resolved()
    rows = []
    for s in stages:
        glob = s["batch"] * replicas if s.get("batch") else None
        steps = math.ceil(s["samples"] / glob) if glob and s.get("samples") else None
        rows.append({**s, "global_batch": glob, "steps_per_epoch": steps})
    out = {"experiment": name, "recipe": resolved.name, "data": data,
           "strategy": f"{type(strategy).__name__}", "replicas": replicas,
           "overrides": {k: list(v) for k, v in resolved.overrides.items()},
           "stages": rows, "notes": list(notes)}
    print(f"[{name}] dry run: recipe `{resolved.name}`"
          + (f" with overrides {', '.join(resolved.overrides)}" if resolved.overrides else "")
          + f"; data: {data}; strategy {out['strategy']} ({replicas} replica(s)); nothing is "
            "trained", flush=True)
    print(markdown_table(
        ["stage", "what", "epochs", "input", "training samples", "batch per replica",
         "global batch", "steps per epoch"],
        [[r["stage"], r.get("what", ""), r.get("epochs", ""), r.get("input", ""),
          "" if r.get("samples") is None else r["samples"], r.get("batch") or "all",
          r["global_batch"] or "all", r["steps_per_epoch"] or ""] for r in rows]), flush=True)
    for n in notes:
        print(f"- {n}", flush=True)
    args.mark_read(*[k for k in vars(args) if not k.startswith("_")])
    return {"dry_run": True, "plan": out}


def result_header(name: str, paper: str, *, data: str, evaluated_on: str,
                  wall_seconds: float, cpu_seconds: float, args: TrackedNamespace,
                  allowed_unread: Sequence[str] = ()) -> dict[str, Any]:
    """The keys every ``results.json`` starts with: ``experiment``, ``paper`` (author, title,
    year), ``data``, ``recipe``, ``overrides``, ``evaluated_on``, ``wall_seconds``,
    ``cpu_seconds``, ``unread_flags``.

    ``unread_flags`` lists flags the run never read beyond ``allowed_unread`` (flags that apply
    on another path, e.g. ``export_dir`` without ``--export``); the tests assert it is empty.
    """
    from kerasdoc.papers import cite

    resolved = args.resolved()
    return {"experiment": name, "paper": cite(paper), "data": data,
            "recipe": resolved.name if resolved is not None else None,
            "overrides": sorted(resolved.overrides) if resolved is not None else [],
            "evaluated_on": evaluated_on, "wall_seconds": round(wall_seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "unread_flags": [f for f in args.unread() if f not in set(allowed_unread)]}
