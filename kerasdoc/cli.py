"""The ``kerasdoc`` command.

Usage::

    kerasdoc list                      # registered models (parameter counts) and experiments
    kerasdoc reproduce NAME [flags...] # run one paper experiment; `kerasdoc reproduce NAME -h`

Each sub-command is a ``_cmd_<name>(args) -> int`` function with its parser added in
:func:`build_parser`; ``main`` returns the process exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_list(args: argparse.Namespace) -> int:
    from experiments import list_experiments
    from kerasdoc.models import get_model, list_models, model_spec
    from kerasdoc.reporting import markdown_table

    rows = []
    for name in list_models():
        spec = model_spec(name)
        if args.no_params:
            rows.append([name, spec.paper, ""])
            continue
        model = get_model(name)
        rows.append([name, spec.paper, f"{model.count_params():,}"])
    print("Models (parameters for the default configuration, as Keras count_params()):")
    print(markdown_table(["model", "paper", "parameters"], rows))
    print()
    print("Experiments (kerasdoc reproduce NAME):")
    print(markdown_table(["experiment", "description"], list(list_experiments().items())))
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from experiments import get_experiment

    try:
        module = get_experiment(args.name)
    except ValueError as e:
        print(f"kerasdoc reproduce: {e}", file=sys.stderr)
        return 2
    module.main(args.rest)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``kerasdoc`` argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="kerasdoc",
        description="Keras 3 / TensorFlow document and character image classification: "
                    "models, data generators, paper reproductions and TF Serving export.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list registered models (parameter counts) and experiments",
                       description="List every registered model with its parameter count for its "
                                   "default configuration, and every experiment.")
    p.add_argument("--no-params", action="store_true", help="skip building models to count")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser(
        "reproduce", help="run one paper experiment (see `kerasdoc list`)",
        description="Run an experiment and write DIR/results.json, results.md, config.json and "
                    "plots (DIR defaults to results/NAME). Flags after NAME go to the experiment: "
                    "[--data ...] [--train PATH] [--test PATH] [--epochs N] [--trials N] "
                    "[--seed N] [--quick] [--out DIR]; `kerasdoc reproduce NAME --help` lists "
                    "them.",
    )
    p.add_argument("name", help="experiment name, e.g. numeric-loss")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the experiment's own flags")
    p.set_defaults(func=_cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kerasdoc`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
