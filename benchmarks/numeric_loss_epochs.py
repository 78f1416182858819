"""How the numeric-loss ``cpu`` recipe's epochs were checked: validation accuracy per epoch on
an inner, seeded, stratified 80/20 split of the embedded digits' training part (the test part
is never read), baseline loss, the recipe's batch and optimizer, fed as the experiment feeds
them (``Run.fit``: each epoch reshuffled), mean over ``--seeds``.

    python -m benchmarks.numeric_loss_epochs           # dnn 40, cnn 30, rnn 45 epochs; 2 seeds

Prints, per model, the best epoch, the four best and the accuracy at 10 / 15 / 20 / 30 epochs
(what ``kerasdoc/recipes/numeric_loss.py`` quotes as the source of ``epochs``).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MAX_EPOCHS = {"dnn": 40, "cnn": 30, "rnn": 45}


def curve(model_name: str, x, y, x_val, y_val, *, epochs: int, seed: int) -> list[float]:
    """Validation accuracy after each epoch of one training."""
    import keras

    from kerasdoc.runs import Run

    with Run(None, batch_size=64, seed=seed, tensorboard=False) as run:
        model = run.build(f"digits_{model_name}", input_shape=x.shape[1:], num_classes=10)
        run.compile(model, keras.optimizers.Adam(1e-3),
                    keras.losses.SparseCategoricalCrossentropy(), ["accuracy"],
                    steps_per_execution=32)
        history = run.fit(model, x, y, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
    return history["val_accuracy"]


def main(argv=None) -> int:
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="dnn,cnn,rnn")
    p.add_argument("--seeds", type=int, default=2)
    args = p.parse_args(argv)
    from kerasdoc.experiments import numeric_loss
    from kerasdoc.experiments._common import parse
    from kerasdoc.generators.splits import stratified_split
    from kerasdoc.tfstartup import import_tensorflow_quietly

    import_tensorflow_quietly()
    data = numeric_loss.load_data(parse(numeric_loss.build_parser(), []))
    x, y = data["x_train"], data["y_train"]
    tr, va = stratified_split(y, test_fraction=0.2, seed=0)
    print(f"inner split: {len(tr)} training / {len(va)} validation images")
    for name in args.models.split(","):
        acc = np.mean([curve(name, x[tr], y[tr], x[va], y[va], epochs=MAX_EPOCHS[name],
                             seed=seed) for seed in range(args.seeds)], axis=0)
        best = int(np.argmax(acc)) + 1
        top = sorted(int(i) + 1 for i in np.argsort(-acc)[:4])
        at = ", ".join(f"{e}: {acc[e - 1]:.4f}" for e in (10, 15, 20, 30) if e <= len(acc))
        print(f"{name}: best epoch {best} ({acc[best - 1]:.4f}); four best {top}; at {at}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
