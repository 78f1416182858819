"""Flags and plumbing shared by every experiment script (no model or data code lives here).

Every experiment has the same shape: ``build_parser()``, ``load_data(args)``, ``run(args, data,
run_ctx)``, ``summarise(...)``, ``render_markdown(...)`` and a short ``main(argv=None) -> dict``;
the same flag means the same thing in each (:func:`base_parser`); the same result keys
(:func:`result_header`); and the training goes through :class:`kerasdoc.runs.Run`.

Example:
    >>> p = base_parser("demo", "A demo.", optional=("lr",))
    >>> args = parse(p, ["--quick", "--lr", "0.01"])
    >>> args.lr, sorted(args.unread())[:3]
    (0.01, ['batch_size', 'data', 'epochs'])
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Flags every experiment reads, and flags an experiment opts into (each then reads it).
_OPTIONAL = ("train", "trials", "lr", "image-size", "export")
STRATEGIES = ("auto", "one", "mirrored", "multiworker", "tpu")  # kerasdoc.distribute's names


class TrackedNamespace(argparse.Namespace):
    """An ``argparse.Namespace`` that remembers which flags the experiment read.

    ``unread()`` lists the flags never looked at: the tests assert it is empty (or only flags
    that apply on another path), so that no experiment offers a flag it ignores.
    """

    def __init__(self, **kwargs: Any):
        object.__setattr__(self, "_read", set())
        super().__init__(**kwargs)

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name not in ("unread", "mark_read"):
            object.__getattribute__(self, "_read").add(name)
        return object.__getattribute__(self, name)

    def mark_read(self, *names: str) -> None:
        """Count flags as read (for code that reads them through ``vars(args)``)."""
        object.__getattribute__(self, "_read").update(names)

    def unread(self) -> list[str]:
        """Names of the flags never read, sorted."""
        read = object.__getattribute__(self, "_read")
        return sorted(k for k in vars(self) if not k.startswith("_") and k not in read)


def base_parser(name: str, description: str, *, optional: Sequence[str] = (),
                defaults: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    """The parser with the flags every experiment takes, plus the ``optional`` ones it reads.

    Always: ``--data --test --epochs --batch-size --seed --quick --out --overwrite --strategy
    --mixed-precision --tensorboard``. Optional: ``train`` (training data path(s) separate from
    ``--data``), ``trials`` (repeats with other seeds), ``lr`` (learning rate), ``image-size``,
    ``export`` (``--export`` and ``--export-dir``).

    Args:
        name: the experiment's ``NAME``.
        description: the ``--help`` description.
        optional: names from ``("train", "trials", "lr", "image-size", "export")``.
        defaults: per-experiment defaults for the flags (e.g. ``{"lr": 1e-3}``).
    """
    unknown = sorted(set(optional) - set(_OPTIONAL))
    if unknown:
        raise ValueError(f"Unknown optional flags {unknown}. Expected some of {_OPTIONAL}.")
    d = {"lr": None, "image_size": None, "trials": None, **(defaults or {})}
    p = argparse.ArgumentParser(
        prog=f"kerasdoc reproduce {name}", description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=f"Results go to --out (default results/{name}, results/{name}-quick with "
               "--quick). A finished run's folder is never replaced silently: with the default "
               "folder a new one is numbered (results/NAME-2, -3, ...); an explicit --out that "
               "holds results needs --overwrite. An interrupted run re-run with the same flags "
               "resumes its training from the last finished epoch.")
    p.add_argument("--data", default=None, help="dataset name or path (default: embedded demo)")
    if "train" in optional:
        p.add_argument("--train", default=None, help="training data path(s)")
    p.add_argument("--test", default=None,
                   help="separate test data; without it the experiment reports on a seeded "
                        "held-out split it never trained or chose on")
    p.add_argument("--epochs", type=int, default=None, help="training epochs")
    p.add_argument("--batch-size", type=int, default=None, help="batch size per replica")
    if "lr" in optional:
        p.add_argument("--lr", type=float, default=d["lr"], help="learning rate")
    if "image-size" in optional:
        p.add_argument("--image-size", type=int, default=d["image_size"],
                       help="square input side in pixels")
    if "trials" in optional:
        p.add_argument("--trials", type=int, default=d["trials"],
                       help="repeated trials with seeds seed, seed+1, ...")
    p.add_argument("--seed", type=int, default=0, help="base random seed")
    p.add_argument("--quick", action="store_true",
                   help="a tiny run for tests and smoke checks (about a minute on two cores)")
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
    return p


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> TrackedNamespace:
    """``parser.parse_args(argv)`` into a :class:`TrackedNamespace` (argparse's own look-ups
    while parsing do not count as reads)."""
    args = parser.parse_args(argv, namespace=TrackedNamespace())
    object.__getattribute__(args, "_read").clear()
    return args


def start_run(args: argparse.Namespace, out: Path, *, batch_size: int):
    """The experiment's :class:`kerasdoc.runs.Run` (strategy first, then other TF work)."""
    from kerasdoc.runs import Run

    return Run(out / "runs", strategy=args.strategy, mixed_precision=args.mixed_precision,
               batch_size=batch_size, seed=args.seed, tensorboard=args.tensorboard or True,
               hparams=tensorboard_hparams(args))


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
    ``results/<name>-quick``), or the next free ``-2``, ``-3`` ... if it holds finished results
    (said on the console). A folder without ``results.json`` is an interrupted run: reused, so
    its training resumes.
    """
    overwrite = args.overwrite
    if args.out:
        out = Path(args.out)
        if (out / "results.json").exists() and not overwrite:
            raise FileExistsError(f"--out {out} holds the results of a finished run; pass "
                                  "--overwrite to replace them, or another --out.")
    else:
        base = Path("results") / (f"{name}-quick" if args.quick else name)
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


class Timer:
    """Context manager measuring wall and CPU time in seconds (``.seconds``, ``.cpu_seconds``)."""

    def __enter__(self) -> Timer:
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        self.seconds = self.cpu_seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu_start


def config_of(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """The resolved configuration of a run (flags plus derived values), JSON-safe."""
    cfg = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    cfg.update(extra)
    return json.loads(json.dumps(cfg, default=str))


def result_header(name: str, paper: str, *, data: str, evaluated_on: str,
                  wall_seconds: float, cpu_seconds: float, args: TrackedNamespace,
                  allowed_unread: Sequence[str] = ()) -> dict[str, Any]:
    """The keys every ``results.json`` starts with: ``experiment``, ``paper`` (author, title,
    year), ``data``, ``evaluated_on``, ``wall_seconds``, ``cpu_seconds``, ``unread_flags``.

    ``unread_flags`` lists flags the run never read beyond ``allowed_unread`` (flags that apply
    on another path, e.g. ``export_dir`` without ``--export``); the tests assert it is empty.
    """
    from kerasdoc.papers import cite

    return {"experiment": name, "paper": cite(paper), "data": data,
            "evaluated_on": evaluated_on, "wall_seconds": round(wall_seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "unread_flags": [f for f in args.unread() if f not in set(allowed_unread)]}
