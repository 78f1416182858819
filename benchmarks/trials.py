"""The numeric-loss experiment's repeated trials, fed and built three ways, in one run
(reference: Keras' own array feed and a new model per trial, what the experiment did before).

Each case trains ``--trials`` trials (seeds 0, 1, ...) of one model for ``--epochs`` epochs on
``--rows`` random 28 x 28 images (batch 64, Adam, ``steps_per_execution=32``, as the
experiment's ``cpu`` recipe), timed from the first build to the last epoch:

- ``keras``: ``model.fit(x, y, shuffle=True)``, a new model per trial (reference);
- ``epoch_arrays``: ``model.fit(EpochArrays(x, y, seed=trial))``, a new model per trial;
- ``epoch_arrays + trial_models``: the same feed, one compiled model per recipe
  (:class:`kerasdoc.training.trials.TrialModels`).

It also times ``iter()`` of each feed's dataset (what Keras does twice an epoch) and checks that
the last two cases end with the same weights. The cases take turns, ``--repeats`` rounds; the
medians are printed with their ratio to the reference.

    python -m benchmarks.trials                         # digits_dnn, 20 epochs, 3 trials
    python -m benchmarks.trials --model digits_cnn --epochs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from benchmarks._cases import print_medians

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CASES = ("keras", "epoch_arrays", "epoch_arrays + trial_models")


def run_case(case: str, model_name: str, x, y, *, epochs: int, trials: int
             ) -> tuple[float, float, list]:
    """(wall s, CPU s, last trial's weights) of ``trials`` trainings the ``case`` way."""
    import keras

    from kerasdoc.generators.epoch_arrays import EpochArrays
    from kerasdoc.keras_internals import build_before_fit
    from kerasdoc.models import get_model
    from kerasdoc.training.trials import TrialModels

    def build(seed):
        keras.utils.set_random_seed(seed)
        return get_model(model_name, input_shape=x.shape[1:], num_classes=10)

    def compile_(model):
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      metrics=["accuracy"], steps_per_execution=32)

    shared = TrialModels()
    wall, cpu = time.perf_counter(), time.process_time()
    for seed in range(trials):
        if case == "epoch_arrays + trial_models":
            model = shared.get(model_name, lambda seed=seed: build(seed), compile_, x, y)
        else:
            model = build(seed)
            compile_(model)
            build_before_fit(model, x, y)
        if case == "keras":
            model.fit(x, y, batch_size=64, shuffle=True, epochs=epochs, verbose=0)
        else:
            model.fit(EpochArrays(x, y, batch_size=64, seed=seed), epochs=epochs, verbose=0)
    return time.perf_counter() - wall, time.process_time() - cpu, model.get_weights()


def iter_ms(x, y, repeats: int = 30) -> dict[str, float]:
    """CPU milliseconds of one ``iter()`` of each feed's dataset (median of ``repeats``)."""
    import keras
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    from kerasdoc.generators.epoch_arrays import EpochArrays

    keras.utils.set_random_seed(0)
    feeds = {"keras": ArrayDataAdapter(x, y, batch_size=64, shuffle=True).get_tf_dataset(),
             "epoch_arrays": EpochArrays(x, y, batch_size=64).get_tf_dataset()}
    out = {}
    for name, ds in feeds.items():
        iter(ds)  # the first one sets up what every later one reuses
        times = []
        for _ in range(repeats):
            cpu = time.process_time()
            iter(ds)
            times.append(time.process_time() - cpu)
        out[name] = 1e3 * statistics.median(times)
    return out


def main(argv=None) -> int:
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="digits_dnn")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--rows", type=int, default=1438, help="training images (the experiment's)")
    p.add_argument("--repeats", type=int, default=2, help="rounds of the three cases")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.rows, 28, 28, 1), np.float32)
    y = rng.integers(0, 10, args.rows)
    for name, ms in iter_ms(x, y).items():
        print(f"iter() of the {name} feed: {ms:.2f} ms CPU (median)")
    rows: dict[str, list] = {case: [] for case in CASES}
    for _ in range(args.repeats):  # the cases take turns: each sees the same machine
        for case in CASES:
            rows[case].append(run_case(case, args.model, x, y, epochs=args.epochs,
                                       trials=args.trials))
    print(f"{args.model}, {args.trials} trials x {args.epochs} epochs on {args.rows} images:")
    print_medians(rows, "keras")
    same = all(np.array_equal(a, b) for a, b in zip(
        rows["epoch_arrays"][-1][2], rows["epoch_arrays + trial_models"][-1][2], strict=True))
    print(f"epoch_arrays + trial_models ends with epoch_arrays' weights: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
