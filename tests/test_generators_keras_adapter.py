"""Keras integration of flows: the private Keras API that kerasdoc.generators.keras_adapter relies
on is still there (a Keras release that changes it fails here, saying what changed), and
model.fit(flow) reads the flow's own one-pass pipeline, as fit(flow.dataset) does."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from kerasdoc.generators import ImageDataGenerator
from kerasdoc.generators.keras_adapter import check_keras_internals

PACKAGE = Path(__file__).resolve().parents[1] / "kerasdoc" / "generators"


def test_keras_private_api_the_adapter_uses_is_unchanged():
    problems = check_keras_internals()
    assert not problems, ("Keras changed what kerasdoc/generators/keras_adapter.py relies on; "
                          "update that module: " + " | ".join(problems))


def test_only_the_adapter_module_of_generators_touches_keras_internals():
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.startswith(("keras.src", "tf_keras.src")) for n in names):
                found.append(path.relative_to(PACKAGE).as_posix())
    assert sorted(set(found)) == ["keras_adapter.py"], found


def test_keras_reads_the_flows_own_pipeline():
    x, y = np.zeros((10, 4, 4, 1), np.uint8), np.arange(10) % 2
    plain = ImageDataGenerator().flow(x, y, batch_size=4)
    assert plain.get_tf_dataset() is plain.dataset and plain.num_batches == 3
    seeded = ImageDataGenerator().flow(x, y, batch_size=4, seed=1)
    ds = seeded.get_tf_dataset()
    assert ds is seeded.get_tf_dataset()  # one pipeline for every epoch
    passes = []
    for epoch in (0, 1, 0):
        seeded._epoch_var.assign(epoch)
        passes.append([b.numpy().tolist() for _, b in ds])
    want = [[b.numpy().tolist() for _, b in seeded._pass_fn(e)] for e in (0, 1)]
    assert passes == [want[0], want[1], want[0]] and want[0] != want[1]
