"""Numeric loss, Tables 1-3 and Figs 5-6 (Suzuki et al. 2021): cross-entropy vs CE + numeric loss.

Suzuki et al., "An Image Classification Model that Learns Image Features and Numerical
Information" (2021). For each of the DNN, CNN and RNN digit models, trains the baseline (categorical
cross-entropy) and the proposed model (``CombinedNumericLoss(alpha=0.05, beta=0.9)``) for N trials
with different seeds, and reports the three indicators as mean +/- std beside the paper's numbers:

* Table 1: identification test error rate (%);
* Table 2: numerical error per image;
* Table 3: numerical error per misidentified image;
* Figures 5-6: counts and rates of each numerical error among the misidentified images.

Data (named in every output):

* default: scikit-learn's handwritten digits (real, embedded, resized to 28x28), with a seeded
  stratified 80/20 split as the test set;
* ``--data kannada --train IMAGES.gz,LABELS.gz [--test IMAGES.gz,LABELS.gz]``: MNIST-format idx
  files (Kannada-MNIST / Dig-MNIST); without ``--test`` a seeded stratified 80/20 split;
* ``--data mnist``: MNIST from TensorFlow Datasets (train / test), where it can download.

Run::

    kerasdoc reproduce numeric-loss                       # embedded digits, 3 trials
    kerasdoc reproduce numeric-loss --data kannada \\
        --train ../shared/data/kannada-mnist/kannada-images-idx3-ubyte.gz,\\
../shared/data/kannada-mnist/kannada-labels-idx1-ubyte.gz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kerasdoc.experiments._common import (
    Timer,
    base_parser,
    config_of,
    finish_stage,
    finished_stage,
    parse,
    plan,
    recipe_markdown,
    resolve_out,
    result_header,
    start_run,
)
from kerasdoc.reporting import fmt_mean_std, markdown_table, mean_std

if TYPE_CHECKING:
    from kerasdoc.training.trials import TrialModels

NAME = "numeric-loss"
PAPER = "numeric-loss"
MODELS = ("dnn", "cnn", "rnn")
METHODS = ("baseline", "proposed")

# The paper's Tables 1-3: {indicator: {(model, method): {dataset: (mean, std)}}}; error rate in %.
PAPER_TABLES: dict[str, dict[tuple[str, str], dict[str, tuple[float, float]]]] = {
    "error_rate_pct": {
        ("dnn", "baseline"): {"MNIST": (2.00, 0.037), "Dig-MNIST": (32.5, 0.458)},
        ("dnn", "proposed"): {"MNIST": (2.00, 0.094), "Dig-MNIST": (31.8, 0.323)},
        ("cnn", "baseline"): {"MNIST": (0.81, 0.057), "Dig-MNIST": (21.5, 0.273)},
        ("cnn", "proposed"): {"MNIST": (0.78, 0.053), "Dig-MNIST": (20.6, 0.278)},
        ("rnn", "baseline"): {"MNIST": (0.88, 0.028), "Dig-MNIST": (21.9, 0.260)},
        ("rnn", "proposed"): {"MNIST": (0.78, 0.062), "Dig-MNIST": (22.2, 0.274)},
    },
    "numeric_error": {
        ("dnn", "baseline"): {"MNIST": (0.076, 0.0022), "Dig-MNIST": (1.02, 0.030)},
        ("dnn", "proposed"): {"MNIST": (0.071, 0.0027), "Dig-MNIST": (0.95, 0.023)},
        ("cnn", "baseline"): {"MNIST": (0.032, 0.0013), "Dig-MNIST": (0.65, 0.009)},
        ("cnn", "proposed"): {"MNIST": (0.028, 0.0015), "Dig-MNIST": (0.59, 0.005)},
        ("rnn", "baseline"): {"MNIST": (0.033, 0.0007), "Dig-MNIST": (0.63, 0.016)},
        ("rnn", "proposed"): {"MNIST": (0.028, 0.0025), "Dig-MNIST": (0.61, 0.014)},
    },
    "numeric_error_mis": {
        ("dnn", "baseline"): {"MNIST": (3.80, 0.044), "Dig-MNIST": (3.14, 0.049)},
        ("dnn", "proposed"): {"MNIST": (3.56, 0.077), "Dig-MNIST": (2.99, 0.084)},
        ("cnn", "baseline"): {"MNIST": (3.93, 0.124), "Dig-MNIST": (3.06, 0.073)},
        ("cnn", "proposed"): {"MNIST": (3.59, 0.125), "Dig-MNIST": (2.90, 0.068)},
        ("rnn", "baseline"): {"MNIST": (3.78, 0.035), "Dig-MNIST": (2.91, 0.048)},
        ("rnn", "proposed"): {"MNIST": (3.58, 0.036), "Dig-MNIST": (2.78, 0.032)},
    },
}
TABLE_TITLES = {
    "error_rate_pct": "Table 1: identification test error rate (%)",
    "numeric_error": "Table 2: numerical error per image",
    "numeric_error_mis": "Table 3: numerical error per misidentified image",
}
def build_parser() -> argparse.ArgumentParser:
    """The flags: run flags and one per setting of the recipe (``kerasdoc recipe
    numeric-loss``)."""
    return base_parser(NAME, __doc__.strip().splitlines()[0], optional=("train",))


def load_data(args) -> dict[str, Any]:
    """Load train / test arrays as the flags ask; name the data and the split used."""
    from kerasdoc import datasets
    from kerasdoc.generators.splits import stratified_split

    source = args.data.lower()
    if source in ("digits", "sklearn"):
        x, y = datasets.load_sklearn_digits()
        desc = ("scikit-learn handwritten digits (1,797 real 8x8 digits, resized to 28x28; "
                "embedded default)")
        x_test = y_test = None
        if args.test:
            raise ValueError("--test is only for --data kannada or mnist.")
        if args.train:
            raise ValueError("--train is only for --data kannada (idx files).")
    elif source == "kannada":
        if not args.train:
            raise ValueError("--data kannada needs --train IMAGES.gz,LABELS.gz (MNIST idx files).")
        x, y = datasets.load_idx_pair(*datasets.parse_idx_spec(args.train))
        desc = f"idx files {args.train}"
        x_test = y_test = None
        if args.test:
            x_test, y_test = datasets.load_idx_pair(*datasets.parse_idx_spec(args.test))
            desc += f"; test: {args.test}"
    elif source == "mnist":
        if args.train or args.test:
            raise ValueError("--data mnist reads TensorFlow Datasets' own train / test splits; "
                             "--train and --test are for --data kannada.")
        x, y = datasets.load_tfds_mnist("train")
        x_test, y_test = datasets.load_tfds_mnist("test")
        desc = "MNIST (TensorFlow Datasets train / test)"
    else:
        raise ValueError(f"--data must be digits, kannada or mnist. Received: {args.data!r}")
    split = "given test set"
    if x_test is None:
        frac = args.test_fraction
        tr, te = stratified_split(y, test_fraction=frac, seed=args.seed)
        x, x_test, y, y_test = x[tr], x[te], y[tr], y[te]
        split = (f"seeded stratified {round(100 * (1 - frac))}/{round(100 * frac)} split of "
                 f"the training data (seed {args.seed})")
    else:
        args.mark_read("test_fraction")  # applies only without a test set
    caps = (args.train_cap, args.test_cap)
    if caps != (None, None):
        rng = np.random.default_rng(args.seed)
        tr = rng.permutation(len(x))[:caps[0] or len(x)]
        te = rng.permutation(len(x_test))[:caps[1] or len(x_test)]
        x, y, x_test, y_test = x[tr], y[tr], x_test[te], y_test[te]
        split += f"; subsample ({len(y)} train / {len(y_test)} test)"
    paper_column = "MNIST" if source in ("digits", "sklearn", "mnist") else "Dig-MNIST"
    return {"x_train": x, "y_train": y, "x_test": x_test, "y_test": y_test, "source": source,
            "description": desc, "split": split, "paper_column": paper_column}


#: Training steps per call into TensorFlow in each trial (Keras ``steps_per_execution``): a
#: whole epoch of the default data (23 steps of 64) in one call, not one call per step.
STEPS_PER_EXECUTION = 32
#: A trial's resumable backup is written after an epoch only when this many seconds have passed
#: since the previous one (every epoch cost a weights + optimizer file for trials of seconds).
TRIAL_BACKUP_SECONDS = 30.0


def run_trial(model_name: str, method: str, data: dict[str, Any], run_ctx, *, epochs: int,
              seed: int, alpha: float, beta: float, lr: float,
              folder: Path | None = None, models: TrialModels | None = None) -> dict[str, Any]:
    """Train one model with one loss and one seed through the run recipe; return the three
    indicators and a histogram.

    With ``folder``, the trial resumes from its backup after an interruption, and a finished
    trial's ``trial.json`` is reused instead of training again. With ``models``, trials of one
    model and loss share one compiled model, set to the trial's fresh initialisation each time
    (:class:`kerasdoc.training.trials.TrialModels`: the same training, traced once).
    """
    import keras

    from kerasdoc.interpret import predict_probs
    from kerasdoc.losses import CombinedNumericLoss
    from kerasdoc.metrics import (
        NumericError,
        error_rate,
        numeric_error_histogram,
        numeric_error_per_image,
        numeric_error_per_misidentified,
    )
    from kerasdoc.training.trials import TrialModels

    done = folder / "trial.json" if folder is not None else None
    if (earlier := finished_stage(done)) is not None:
        return earlier
    x, y = data["x_train"], data["y_train"]
    run_ctx.seed = seed

    def build():
        return run_ctx.build(f"digits_{model_name}", input_shape=x.shape[1:], num_classes=10)

    def compile_(model):
        loss = (keras.losses.SparseCategoricalCrossentropy() if method == "baseline"
                else CombinedNumericLoss(alpha=alpha, beta=beta))
        # Speed (issue 24), same training: a whole epoch per call into TensorFlow (about 23
        # steps; the same updates in the same order), and the resumable backup at most every
        # TRIAL_BACKUP_SECONDS (a trial lasts seconds; a kill loses at most that much).
        run_ctx.compile(model, keras.optimizers.Adam(lr), loss, ["accuracy", NumericError()],
                        steps_per_execution=STEPS_PER_EXECUTION)

    models = TrialModels() if models is None else models
    model = models.get((model_name, method, alpha, beta, lr), build, compile_, x, y)
    with Timer() as t:
        run_ctx.fit(model, x, y, epochs=epochs, folder=folder, verbose=0,
                    backup_interval=TRIAL_BACKUP_SECONDS)
    probs = predict_probs(model, data["x_test"], batch_size=512)
    y_test = data["y_test"]
    result = {
        "error_rate": error_rate(y_test, probs),
        "numeric_error": numeric_error_per_image(y_test, probs),
        "numeric_error_mis": numeric_error_per_misidentified(y_test, probs),
        "histogram": numeric_error_histogram(y_test, probs).tolist(),
        "train_seconds": t.seconds,
        "train_cpu_seconds": t.cpu_seconds,
        "seed": seed,
    }
    if done is not None:
        run_ctx.discard(folder)
    return finish_stage(done, result)


def trial_jobs(requested: int, run_ctx, pending: int) -> tuple[int, str]:
    """How many trials train at once (the recipe's ``jobs``), and why, in words: worker
    processes only on a CPU-only machine with the run on one device (each would claim a GPU's
    memory, and a distributed run already spreads each step), never more than the trials
    still to train nor than the usable CPU cores.

    Example:
        >>> from types import SimpleNamespace
        >>> one_cpu = SimpleNamespace(replicas=1)
        >>> trial_jobs(2, one_cpu, pending=0)
        (1, 'every trial already finished')
    """
    if int(requested) < 1:
        raise ValueError(f"--jobs must be a positive integer. Received: --jobs {requested}")
    if pending < 1:
        return 1, "every trial already finished"
    if requested == 1:
        return 1, "one at a time"
    import tensorflow as tf

    devices = [d.device_type for d in tf.config.list_logical_devices()]
    if run_ctx.replicas > 1 or any(d != "CPU" for d in devices):
        return 1, (f"one at a time: --jobs {requested} applies only to CPU-only runs on one "
                   f"device (this run: {run_ctx.replicas} replica(s); devices "
                   f"{sorted(set(devices))})")
    from kerasdoc.training.workers import threads_per_worker, usable_cores

    # never more workers than trials left, nor than cores (each worker holds its own
    # TensorFlow, ~0.5 GB; more workers than cores would share them at one thread each anyway)
    cores = usable_cores()
    jobs = min(int(requested), pending, cores)
    capped = f" (--jobs {requested} capped at the {cores} usable core(s))" \
        if jobs == cores < min(int(requested), pending) else ""
    if jobs == 1:
        why = capped or " (one trial left to train)"
        return 1, f"one at a time{why}"
    return jobs, (f"{jobs} at a time in worker processes, {threads_per_worker(jobs)} "
                  f"TensorFlow thread(s) each{capped}")


#: A worker process's run, data and compiled models (:func:`_start_trial_worker`).
_WORKER: dict[str, Any] = {}


def _start_trial_worker(args, out: Path, data: dict[str, Any]) -> None:
    from kerasdoc.training.trials import TrialModels

    # the run the main process opened (:func:`main`), from the same flags
    _WORKER.update(run=start_run(args, out, batch_size=args.batch_size), data=data,
                   models=TrialModels())


def _worker_trial(**call: Any) -> dict[str, Any]:
    return run_trial(data=_WORKER["data"], run_ctx=_WORKER["run"], models=_WORKER["models"],
                     **call)


def run(args, data: dict[str, Any], run_ctx, models: list[str], epochs: dict[str, int],
        n_trials: int, out: Path) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], str]:
    """Every (model, method, trial) of the tables, each trial in its own resumable folder,
    ``args.jobs`` at a time where :func:`trial_jobs` allows; and how they ran, in words."""
    from kerasdoc.training.trials import TrialModels
    from kerasdoc.training.workers import TrialWorkers

    # trial t of both losses side by side: workers taking the next trial in this order mostly
    # keep to one loss each, so each traces a model's training step once per loss it trains
    keys = [(model, method, t) for model in models for t in range(n_trials)
            for method in METHODS]
    calls = [dict(model_name=model, method=method, epochs=epochs[model], seed=args.seed + t,
                  alpha=args.alpha, beta=args.beta, lr=args.lr,
                  folder=out / "runs" / f"{model}-{method}-{t}") for model, method, t in keys]
    pending = sum(finished_stage(c["folder"] / "trial.json") is None for c in calls)
    jobs, how = trial_jobs(args.jobs, run_ctx, pending)
    print(f"[{NAME}] trials: {how}", flush=True)
    trials: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def report(key, r):
        model, method, t = key
        trials.setdefault((model, method), []).append(r)
        print(f"[{NAME}] {model.upper()} {method:8s} trial {t + 1}/{n_trials}: "
              f"error {100 * r['error_rate']:.2f}%  num.err/img {r['numeric_error']:.3f}  "
              f"num.err/mis {r['numeric_error_mis']:.3f}  ({r['train_seconds']:.1f}s)",
              flush=True)

    if jobs == 1:
        compiled = TrialModels()
        for key, call in zip(keys, calls, strict=True):
            report(key, run_trial(data=data, run_ctx=run_ctx, models=compiled, **call))
        return trials, how
    here = "kerasdoc.experiments.numeric_loss"  # by name, also when run as __main__
    with TrialWorkers(jobs, f"{here}:_start_trial_worker", args, out, data) as workers:
        names = [f"{m.upper()} {meth} trial {t + 1}" for m, meth, t in keys]
        for key, r in zip(keys, workers.map(f"{here}:_worker_trial", calls, names),
                          strict=True):
            report(key, r)
    return trials, how


def _paper_block() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table, rows in PAPER_TABLES.items():
        for (model, method), cols in rows.items():
            out.setdefault(model, {}).setdefault(method, {})[table] = {
                ds: {"mean": m, "std": s} for ds, (m, s) in cols.items()}
    return out


def summarise(trials: dict[tuple[str, str], list[dict[str, Any]]], paper_column: str
              ) -> list[dict[str, Any]]:
    """Mean +/- std of each indicator per (model, method), with the paper's values beside."""
    rows = []
    for (model, method), runs in trials.items():
        er = mean_std([r["error_rate"] for r in runs])
        ne = mean_std([r["numeric_error"] for r in runs])
        nm = mean_std([r["numeric_error_mis"] for r in runs])
        rows.append({
            "model": model, "method": method, "trials": len(runs),
            "error_rate_mean": er[0], "error_rate_std": er[1],
            "numeric_error_mean": ne[0], "numeric_error_std": ne[1],
            "numeric_error_mis_mean": nm[0], "numeric_error_mis_std": nm[1],
            "histogram_mean": np.mean([r["histogram"] for r in runs], axis=0).tolist(),
            "per_trial": runs,
            "paper": {t: dict(zip(("mean", "std"), PAPER_TABLES[t][(model, method)][paper_column]))
                      for t in PAPER_TABLES},
        })
    return rows


#: Numerical errors above this count as large (the paper, Fig. 5: "the number of appearances of
#: numerical errors larger than 5 is lower in the proposed model than in the baseline").
LARGE_ERROR = 5
ALPHA = 0.05  # one-sided significance level of the paired tests
POWER = 0.8  # for the number of trials a claim needs


def trials_needed(d_z: float, *, alpha: float = ALPHA, power: float = POWER,
                  max_n: int = 1000) -> int | None:
    """Smallest number of paired trials for which a one-sided paired t-test at ``alpha`` has
    ``power`` to detect a standardised mean difference ``d_z`` (mean / sd of the per-trial
    differences, positive in the claimed direction); None if the effect is not in that direction
    or more than ``max_n`` trials would be needed.

    Example:
        >>> trials_needed(2.0), trials_needed(0.5), trials_needed(-1.0)
        (4, 27, None)
    """
    from scipy import stats

    if not np.isfinite(d_z) or d_z <= 0:
        return None
    for n in range(2, max_n + 1):
        crit = stats.t.ppf(1 - alpha, n - 1)
        if stats.nct.sf(crit, n - 1, d_z * np.sqrt(n)) >= power:
            return n
    return None


def paired_test(baseline: list[float], proposed: list[float], *, lower_is_claim: bool = True
                ) -> dict[str, Any]:
    """Paired one-sided t-test over trials (trial t of both methods shares its seed, so its
    split and initialisation): is ``proposed`` lower than ``baseline`` (or higher, with
    ``lower_is_claim=False``)?

    Returns ``n``, ``mean_diff`` (proposed - baseline), ``sd_diff``, ``t``, ``p`` (one-sided,
    NaN with fewer than 2 trials), ``significant`` (p < 0.05), ``effect_size`` (d_z in the claimed
    direction) and ``trials_needed`` for 80% power at that effect size.

    Example:
        >>> r = paired_test([0.30, 0.32, 0.31, 0.33], [0.28, 0.29, 0.29, 0.30])
        >>> r["significant"], r["mean_diff"] < 0
        (True, True)
    """
    from scipy import stats

    if len(baseline) != len(proposed):
        raise ValueError(f"Paired trials differ in number: {len(baseline)} baseline, "
                         f"{len(proposed)} proposed.")
    d = np.asarray(proposed, float) - np.asarray(baseline, float)
    n = len(d)
    sign = -1.0 if lower_is_claim else 1.0
    mean = float(d.mean()) if n else float("nan")
    sd = float(d.std(ddof=1)) if n > 1 else float("nan")
    if n < 2:
        t = p = float("nan")
    elif sd == 0:
        t = float(np.sign(mean)) * float("inf") if mean else 0.0
        p = 0.0 if sign * mean > 0 else 1.0
    else:
        t = float(mean / (sd / np.sqrt(n)))
        p = float(stats.t.sf(sign * t, n - 1))
    d_z = (sign * mean / sd) if n > 1 and sd > 0 else (float("inf") if n > 1 and sign * mean > 0
                                                        else float("nan"))
    return {"n": n, "mean_diff": mean, "sd_diff": sd, "t": t, "p": p,
            "significant": bool(n > 1 and p < ALPHA), "effect_size": d_z,
            "trials_needed": 2 if d_z == float("inf") else trials_needed(d_z)}


def large_errors(histogram: list[int]) -> tuple[int, float]:
    """``(count, share)`` of misidentified images whose numerical error exceeds
    :data:`LARGE_ERROR`, from a Fig. 5 histogram (counts of errors 1..9)."""
    h = np.asarray(histogram, float)
    big = float(h[LARGE_ERROR:].sum())
    return int(big), (big / h.sum()) if h.sum() else 0.0


def check_claim(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The paper's two claims per model, each by a paired test over the trials.

    Claim 1 (Tables 1-3): the proposed loss lowers the numerical error per image and per
    misidentified image (one-sided paired t-tests, p < 0.05) and does not raise the error rate
    (no significant increase). Claim 2 (Figs. 5-6): large numerical errors (> 5) become rarer
    (fewer of them per trial, paired test). Each test also says how many trials would detect the
    observed difference with 80% power (``trials_needed``): a claim "holds" only when the
    differences are distinguishable from trial-to-trial noise with the trials run. The plain
    comparison of means is kept (``*_means``) beside the tests.
    """
    by = {(r["model"], r["method"]): r for r in rows}
    out = {}
    for model in sorted({r["model"] for r in rows}):
        b, p = by.get((model, "baseline")), by.get((model, "proposed"))
        if b is None or p is None:
            continue
        bt, pt = b["per_trial"], p["per_trial"]
        n = min(len(bt), len(pt))
        bt, pt = bt[:n], pt[:n]
        tests = {
            "numeric_error": paired_test([t["numeric_error"] for t in bt],
                                         [t["numeric_error"] for t in pt]),
            "numeric_error_mis": paired_test([t["numeric_error_mis"] for t in bt],
                                             [t["numeric_error_mis"] for t in pt]),
            "error_rate_raised": paired_test([t["error_rate"] for t in bt],
                                             [t["error_rate"] for t in pt],
                                             lower_is_claim=False),
            "large_errors": paired_test([large_errors(t["histogram"])[0] for t in bt],
                                        [large_errors(t["histogram"])[0] for t in pt]),
        }
        claim1 = (tests["numeric_error"]["significant"]
                  and tests["numeric_error_mis"]["significant"]
                  and not tests["error_rate_raised"]["significant"])
        needed = [tests[k]["trials_needed"] for k in ("numeric_error", "numeric_error_mis")]
        out[model] = {
            "trials": n, "tests": tests,
            "lower_numeric_error_means": p["numeric_error_mean"] < b["numeric_error_mean"],
            "lower_numeric_error_mis_means": (p["numeric_error_mis_mean"]
                                              < b["numeric_error_mis_mean"]),
            "error_rate_not_raised_means": p["error_rate_mean"] <= b["error_rate_mean"],
            "holds": bool(claim1),
            "trials_needed": None if None in needed else max(needed),
            "large_error_share": {"baseline": float(np.mean([large_errors(t["histogram"])[1]
                                                             for t in bt])),
                                  "proposed": float(np.mean([large_errors(t["histogram"])[1]
                                                             for t in pt]))},
            "large_errors_rarer": bool(tests["large_errors"]["significant"]),
        }
    return out


def _test_cell(t: dict[str, Any]) -> str:
    if t["n"] < 2:
        return f"{t['mean_diff']:+.4f} (1 trial: no test)"
    need = t["trials_needed"]
    return (f"{t['mean_diff']:+.4f}, p={t['p']:.3f}"
            + (" *" if t["significant"] else "")
            + f"; needs {need if need is not None else '>1000 / wrong direction'}")


def render_markdown(rows: list[dict[str, Any]], claim: dict[str, Any], data: dict[str, Any],
                    trials: int, training: str = "") -> str:
    col = data["paper_column"]
    from kerasdoc.papers import cite

    parts = [f"# numeric-loss: baseline vs proposed, {trials} trial(s)", "",
             f"Paper: {cite(PAPER)}.", "",
             f"Data: {data['description']}. Test: {data['split']} "
             f"({len(data['y_train'])} train / {len(data['y_test'])} test images)."
             + (" The test set is separate: the models train on the whole training pool."
                if data["split"] == "given test set" else
                " The test images are never trained on, and no setting was chosen on them."),
             f"Paper column shown beside ours: {col}.", ""]
    if training:
        parts += [f"Training: {training}.", ""]
    if data["source"] == "kannada" and data["split"] != "given test set":
        parts += ["Note: the paper trains on Kannada-MNIST's 60,000 images and tests on Dig-MNIST "
                  "(10,240 digits by other writers, a harder, shifted set); this run tests on a "
                  "held-out split of the same files, so compare the direction baseline -> "
                  "proposed, not the error levels.", ""]
    elif data["source"] in ("digits", "sklearn"):
        parts += ["Note: scikit-learn's digits are 8x8 images upsampled to 28x28 (1,438 training "
                  "images against MNIST's 60,000): compare the direction baseline -> proposed, not "
                  "the error levels.", ""]
    scale = {"error_rate_pct": 100.0, "numeric_error": 1.0, "numeric_error_mis": 1.0}
    key = {"error_rate_pct": "error_rate", "numeric_error": "numeric_error",
           "numeric_error_mis": "numeric_error_mis"}
    for table, title in TABLE_TITLES.items():
        body = []
        for r in rows:
            k, s = key[table], scale[table]
            ours = fmt_mean_std(r[f"{k}_mean"] * s, r[f"{k}_std"] * s, 3)
            pm, ps = r["paper"][table]["mean"], r["paper"][table]["std"]
            body.append([r["model"].upper(), r["method"], ours, f"{pm} ± {ps}"])
        parts += [f"## {title}", "", markdown_table(["model", "method", "ours", f"paper ({col})"],
                                                    body), ""]
    held = [m.upper() for m, c in claim.items() if c["holds"]]
    rarer = [m.upper() for m, c in claim.items() if c["large_errors_rarer"]]
    parts += ["## The paper's claims, paired tests over trials", "",
              "Trial t of the baseline and of the proposed model share their seed (split and "
              "initialisation), so each claim is tested on the per-trial differences (proposed "
              "- baseline) with a one-sided paired t-test (p < 0.05 marked *). 'needs' is the "
              "number of trials for which that test would detect the observed difference with "
              "80% power: with fewer trials than that, the difference is not distinguishable "
              "from trial-to-trial noise.", "",
              "Claim 1 (Tables 1-3): the proposed loss lowers the numerical error per image and "
              "per misidentified image without raising the error rate: "
              f"holds for {len(held)} of {len(claim)} models ({', '.join(held) or 'none'}).", "",
              markdown_table(
                  ["model", "trials", "num. error / image", "num. error / mis. image",
                   "error rate (raised?)", "holds", "trials needed"],
                  [[m.upper(), c["trials"], _test_cell(c["tests"]["numeric_error"]),
                    _test_cell(c["tests"]["numeric_error_mis"]),
                    _test_cell(c["tests"]["error_rate_raised"]), c["holds"],
                    c["trials_needed"] if c["trials_needed"] is not None else "n/a"]
                   for m, c in claim.items()]), "",
              f"Claim 2 (Figs. 5-6): large numerical errors (> {LARGE_ERROR}) become rarer: "
              f"holds for {len(rarer)} of {len(claim)} models ({', '.join(rarer) or 'none'}).",
              "",
              markdown_table(
                  ["model", "large errors per trial (proposed - baseline)",
                   "share among misidentified, baseline", "share, proposed", "rarer"],
                  [[m.upper(), _test_cell(c["tests"]["large_errors"]),
                    f"{c['large_error_share']['baseline']:.3f}",
                    f"{c['large_error_share']['proposed']:.3f}", c["large_errors_rarer"]]
                   for m, c in claim.items()]), ""]
    parts += ["Figures: `fig5_error_counts.png` (number of appearances of each numerical error), "
              "`fig6_error_rates.png` (rate of appearance)."]
    return "\n".join(parts)


def dry_run(args, data: dict[str, Any], models: list[str]) -> dict[str, Any]:
    """``--dry-run``: the plan (one fit per model, method and trial) without training."""
    n = len(data["y_train"])
    stages = [{"stage": f"{m} x {{baseline, proposed}} x {args.trials} trial(s)",
               "what": "CE" + f" / CE + numeric (alpha {args.alpha}, beta {args.beta})",
               "epochs": args.epochs[m], "input": "x".join(map(str, data["x_train"].shape[1:])),
               "samples": n, "batch": args.batch_size} for m in models]
    return plan(args, NAME, data=f"{data['description']}; test: {data['split']} "
                f"({len(data['y_test'])} images)", stages=stages,
                notes=[f"{2 * len(models) * args.trials} fits in all; Adam {args.lr}; "
                       f"--jobs {args.jobs}: up to {args.jobs} at a time on a CPU-only run on "
                       "one device"])


_CRITERIA = (("error_rate_pct", "error_rate", "Table 1: error rate"),
             ("numeric_error", "numeric_error", "Table 2: numerical error per image"),
             ("numeric_error_mis", "numeric_error_mis", "Table 3: numerical error per "
                                                        "misidentified image"))


def criteria(rows: list[dict[str, Any]], paper_column: str) -> list[dict[str, Any]]:
    """Per table and model, the paper's criterion beside ours: the paper calls the proposed
    loss better when its mean over the trials is lower (its Tables 1-3, 3 trials); ours is a
    one-sided paired t-test over the trials. Each with the trials it would need: ours from the
    observed paired differences (80% power), the paper's from its own means and stds (an
    unpaired estimate, d = difference / sqrt(std_b^2 + std_p^2))."""
    by = {(r["model"], r["method"]): r for r in rows}
    out = []
    for table, key, title in _CRITERIA:
        for model in sorted({r["model"] for r in rows}):
            b, p = by.get((model, "baseline")), by.get((model, "proposed"))
            if b is None or p is None:
                continue
            n = min(len(b["per_trial"]), len(p["per_trial"]))
            test = paired_test([t[key] for t in b["per_trial"][:n]],
                               [t[key] for t in p["per_trial"][:n]])
            (pb, sb), (pp, sp) = (PAPER_TABLES[table][(model, m)][paper_column]
                                  for m in METHODS)
            d = (pb - pp) / float(np.hypot(sb, sp)) if (sb or sp) else float("inf")
            out.append({"table": title, "model": model, "trials": n,
                        "baseline_mean": b[f"{key}_mean"], "proposed_mean": p[f"{key}_mean"],
                        "mean_lower": bool(p[f"{key}_mean"] < b[f"{key}_mean"]),
                        "paired_p": test["p"], "paired_significant": test["significant"],
                        "paired_trials_needed": test["trials_needed"],
                        "paper_mean_lower": bool(pp < pb),
                        "paper_trials_needed": 2 if d == float("inf") else trials_needed(d)})
    return out


def criteria_markdown(rows: list[dict[str, Any]], paper_column: str) -> str:
    """The criteria table of :func:`criteria` for results.md."""
    def need(v):
        return v if v is not None else ">1000 / wrong direction"

    body = [[c["table"], c["model"].upper(), c["trials"],
             f"{c['baseline_mean']:.4f} -> {c['proposed_mean']:.4f}",
             "yes" if c["mean_lower"] else "no",
             "n/a (1 trial)" if c["trials"] < 2 else
             f"p={c['paired_p']:.3f}" + (" *" if c["paired_significant"] else ""),
             need(c["paired_trials_needed"]), "yes" if c["paper_mean_lower"] else "no",
             need(c["paper_trials_needed"])] for c in criteria(rows, paper_column)]
    return "\n".join([
        "## The paper's criterion beside the paired test", "",
        "The paper calls the proposed loss better where its mean over 3 trials is lower "
        "(Tables 1-3); we also run a one-sided paired t-test over the trials (p < 0.05 *). "
        "'trials needed': for the paired test at the observed differences (80% power); for "
        f"the paper's own {paper_column} figures, estimated from its means and stds as if "
        "unpaired.", "",
        markdown_table(["table", "model", "trials", "mean, baseline -> proposed",
                        "lower (paper's criterion)", "paired test", "trials needed (ours)",
                        "paper: lower", "trials needed (paper's figures)"], body)])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the experiment; returns the results dict also written to ``results.json``."""
    from kerasdoc.papers import cite
    from kerasdoc.reporting import plot_error_histograms, write_results

    p = build_parser()
    args = parse(p, argv)
    models = [m.strip().lower() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        p.error(f"--models takes dnn, cnn, rnn. Received: {unknown}")
    if args.dry_run:
        return dry_run(args, load_data(args), models)
    out = resolve_out(args, NAME)
    with Timer() as total:
        data = load_data(args)
        epochs = {m: args.epochs[m] for m in models}
        n_trials = args.trials
        with start_run(args, out, batch_size=args.batch_size) as run_ctx:
            print(f"[{NAME}] {cite(PAPER)}", flush=True)
            print(f"[{NAME}] data: {data['description']}", flush=True)
            print(f"[{NAME}] test: {data['split']}; {len(data['y_train'])} train / "
                  f"{len(data['y_test'])} test; epochs {epochs}, batch {run_ctx.batch_size}, "
                  f"{n_trials} trials", flush=True)
            trials, how = run(args, data, run_ctx, models, epochs, n_trials, out)
            strategy = run_ctx.describe()

    rows = summarise(trials, data["paper_column"])
    claim = check_claim(rows)
    hists = {m.upper(): {r["method"]: r["histogram_mean"] for r in rows if r["model"] == m}
             for m in models}
    plot_error_histograms(out / "fig5_error_counts.png", hists,
                          title="Fig. 5: number of appearances of each numerical error")
    plot_error_histograms(out / "fig6_error_rates.png", hists, rates=True,
                          title="Fig. 6: rate of appearance of each numerical error")
    training = (f"epochs {', '.join(f'{m.upper()} {e}' for m, e in epochs.items())}; "
                f"batch {strategy['global_batch']}; Adam {args.lr}; alpha {args.alpha}, "
                f"beta {args.beta}; trials {how}")
    markdown = render_markdown(rows, claim, data, n_trials, training)
    markdown += "\n\n" + criteria_markdown(rows, data["paper_column"]) + "\n\n" \
        + recipe_markdown(args)
    results = {
        **result_header(NAME, PAPER, data=data["description"], evaluated_on=data["split"],
                        wall_seconds=total.seconds, cpu_seconds=total.cpu_seconds, args=args),
        "data_details": {"source": data["source"], "split": data["split"],
                         "n_train": int(len(data["y_train"])),
                         "n_test": int(len(data["y_test"])),
                         "paper_column": data["paper_column"]},
        "rows": rows, "claim": claim, "paper_tables": _paper_block(),
        "criteria": criteria(rows, data["paper_column"]),
    }
    config = config_of(args, epochs=epochs, batch_size=strategy["global_batch"], trials=n_trials,
                       strategy_resolved=strategy, models=models, optimizer=f"Adam({args.lr})",
                       out=str(out), trial_jobs=how)
    write_results(out, results, config, markdown)
    print(markdown)
    print(f"[{NAME}] wrote {out}/results.json, results.md, config.json, fig5/fig6 PNGs "
          f"in {results['wall_seconds']:.0f}s ({results['cpu_seconds']:.0f}s CPU)", flush=True)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
