"""Flags and plumbing shared by every experiment script (no model or data code lives here)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def base_parser(name: str, description: str) -> argparse.ArgumentParser:
    """The flags every experiment takes: ``--data --train --test --epochs --batch-size --trials
    --seed --quick --out``. Scripts add their own on the returned parser."""
    p = argparse.ArgumentParser(prog=f"kerasdoc reproduce {name}", description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=None, help="dataset name or path (default: embedded demo)")
    p.add_argument("--train", default=None, help="training data path(s)")
    p.add_argument("--test", default=None, help="test data path(s); default: a seeded split")
    p.add_argument("--epochs", type=int, default=None, help="training epochs")
    p.add_argument("--batch-size", type=int, default=None, help="batch size")
    p.add_argument("--trials", type=int, default=None, help="repeated trials with other seeds")
    p.add_argument("--seed", type=int, default=0, help="base random seed")
    p.add_argument("--quick", action="store_true", help="tiny run for tests and smoke checks")
    p.add_argument("--out", default=None, help=f"output folder (default: results/{name})")
    p.add_argument("--strategy", default="auto",
                   choices=("auto", "one", "mirrored", "multiworker", "tpu"),
                   help="tf.distribute strategy (kerasdoc.distribute.get_strategy)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16 on GPU, mixed_bfloat16 elsewhere")
    return p


def strategy_of(args: argparse.Namespace):
    """The run's ``tf.distribute`` strategy (call before other TF work); sets the dtype policy.

    Build and compile models inside ``strategy.scope()`` and scale the batch with
    ``kerasdoc.distribute.global_batch_size(args.batch_size, strategy)``.
    """
    from kerasdoc import distribute

    strategy = distribute.get_strategy(args.strategy)
    distribute.set_mixed_precision(args.mixed_precision)
    return strategy


def resolve_out(args: argparse.Namespace, name: str) -> Path:
    """The output folder: ``--out`` or ``results/<name>``, created."""
    out = Path(args.out) if args.out else Path("results") / name
    out.mkdir(parents=True, exist_ok=True)
    return out


class Timer:
    """Context manager measuring wall time in seconds (``.seconds``)."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


def config_of(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """The resolved configuration of a run (flags plus derived values), JSON-safe."""
    cfg = {k: v for k, v in vars(args).items()}
    cfg.update(extra)
    return json.loads(json.dumps(cfg, default=str))
