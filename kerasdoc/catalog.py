"""The model catalog: what ``kerasdoc list`` prints, answered without importing TensorFlow.

The registry (:mod:`kerasdoc.models.registry`) is the source of truth, but reaching it imports
Keras and TensorFlow (seconds). This module keeps a generated snapshot of it,
``kerasdoc/catalog.json``: every registered model's paper, default input, colour mode and
parameter counts. ``python -m kerasdoc.catalog`` regenerates it after a model is added or changed;
the test suite fails, naming that command, when the snapshot and the registry disagree.

Example:
    >>> entries = read_catalog()
    >>> entries["invoice_resnet"]["trainable"]
    701283
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).with_name("catalog.json")


def read_catalog(path: str | Path = CATALOG_FILE) -> dict[str, dict[str, Any]]:
    """``{model name: {paper, input_shape, color_mode, task, summary, parameters, trainable}}``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def build_catalog() -> dict[str, dict[str, Any]]:
    """Build every registered model at its defaults and describe it (imports Keras; slow)."""
    from kerasdoc.models import get_model, list_models, model_spec
    from kerasdoc.models.weights import count_params

    out: dict[str, dict[str, Any]] = {}
    for name in list_models():
        spec = model_spec(name)
        model = get_model(name)
        counts = count_params(model)
        out[name] = {"paper": spec.paper, "input_shape": list(spec.input_shape),
                     "color_mode": spec.color_mode, "task": spec.task, "summary": spec.summary(),
                     "parameters": counts["total"], "trainable": counts["trainable"]}
        del model
    return out


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``kerasdoc/catalog.json`` (``--check``: exit 1 if it is stale)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    fresh = build_catalog()
    if "--check" in argv:
        stale = read_catalog() != fresh if CATALOG_FILE.is_file() else True
        print("kerasdoc/catalog.json is " + ("stale" if stale else "up to date"))
        return int(stale)
    CATALOG_FILE.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")
    print(f"wrote {CATALOG_FILE} ({len(fresh)} models, "
          f"{math.fsum(e['parameters'] for e in fresh.values()):,.0f} parameters in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
