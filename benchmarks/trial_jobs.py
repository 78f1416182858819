"""Small trainings one at a time against two at a time in worker processes, in one run
(reference: one worker with TensorFlow's default threads, the trials one after another).

Each model trains ``--trials`` trials (seeds 0, 1, ...) of ``--epochs`` epochs on ``--rows``
random 28 x 28 images (batch 64, Adam, ``steps_per_execution=32``, ``EpochArrays``: the
numeric-loss experiment's ``cpu`` recipe without its losses and metrics), two ways:

- ``one at a time``: one worker process with TensorFlow's default threads (reference);
- ``two at a time``: two worker processes with one thread each
  (:class:`kerasdoc.training.workers.TrialWorkers`, what ``--jobs 2`` does).

Both are timed from the workers' start to the last trial's end (wall, and the CPU of the
workers, counted when they end); the cases take turns, ``--repeats`` rounds, and the medians
are printed with their ratio to the reference. It also says, per model, whether the two ways
end with the same weights (one thread sums in another order than two where an op splits its
sums by thread).

    python -m benchmarks.trial_jobs                                # the three digit models
    python -m benchmarks.trial_jobs --models digits_cnn --epochs 4
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks._cases import print_medians

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CASES = {"one at a time": 1, "two at a time": 2}


def train(model_name: str, epochs: int, rows: int, seed: int) -> list[float]:
    """One trial (in a worker): the sums of the trained model's weight tensors."""
    import keras
    import numpy as np

    from kerasdoc.generators.epoch_arrays import EpochArrays
    from kerasdoc.keras_internals import build_before_fit
    from kerasdoc.models import get_model

    rng = np.random.default_rng(0)
    x = rng.random((rows, 28, 28, 1), np.float32)
    y = rng.integers(0, 10, rows)
    keras.utils.set_random_seed(seed)
    model = get_model(model_name, input_shape=x.shape[1:], num_classes=10)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  steps_per_execution=32)
    build_before_fit(model, x, y)
    model.fit(EpochArrays(x, y, batch_size=64, seed=seed), epochs=epochs, verbose=0)
    return [float(np.sum(w, dtype=np.float64)) for w in model.get_weights()]


def run_case(jobs: int, models: list[str], *, epochs: int, rows: int, trials: int
             ) -> tuple[float, float, list]:
    """(wall s, workers' CPU s, each trial's weight sums) of every trial ``jobs`` at a time."""
    from kerasdoc.training.workers import TrialWorkers, children_cpu_seconds

    calls = [dict(model_name=m, epochs=epochs, rows=rows, seed=s) for m in models
             for s in range(trials)]
    cpu = children_cpu_seconds()
    wall = time.perf_counter()
    # one worker: all the usable cores as threads (TensorFlow's default); two: one thread each
    with TrialWorkers(jobs, threads=None if jobs == 1 else 1) as workers:
        sums = list(workers.map("benchmarks.trial_jobs:train", calls))
    wall = time.perf_counter() - wall
    return wall, children_cpu_seconds() - cpu, sums


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="digits_dnn,digits_cnn,digits_rnn")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--trials", type=int, default=2)
    p.add_argument("--rows", type=int, default=1438, help="training images (the experiment's)")
    p.add_argument("--repeats", type=int, default=1, help="rounds of the two cases")
    args = p.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    rows: dict[str, list] = {case: [] for case in CASES}
    for _ in range(args.repeats):  # the cases take turns: each sees the same machine
        for case, jobs in CASES.items():
            rows[case].append(run_case(jobs, models, epochs=args.epochs, rows=args.rows,
                                       trials=args.trials))
    print(f"{', '.join(models)}: {args.trials} trials each x {args.epochs} epochs on "
          f"{args.rows} images, workers' start included:")
    print_medians(rows, "one at a time")
    one, two = rows["one at a time"][-1][2], rows["two at a time"][-1][2]
    for k, model in enumerate(models):
        trials = slice(k * args.trials, (k + 1) * args.trials)
        print(f"{model}: the same weights one and two at a time: {one[trials] == two[trials]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
