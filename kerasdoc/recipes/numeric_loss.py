"""Recipes of ``numeric-loss``: Suzuki et al., "An Image Classification Model that Learns Image
Features and Numerical Information" (Tables 1-3, Figs 5-6).

The paper states the loss (alpha 0.05, beta 0.9), the three models, the data (MNIST; Kannada-MNIST
tested on Dig-MNIST) and 3 trials. It states no epochs, batch size, optimiser or learning rate
(Figure 4 shows the architecture only): those are ours, marked ``not stated``.
"""

from __future__ import annotations

from kerasdoc.recipes import Field, derive, not_stated, optional, paper, per_key, stand_in

DOCUMENT = ("Suzuki et al., An Image Classification Model that Learns Image Features and "
            "Numerical Information (seeds/002_97ecfccf3484d0fe.txt)")
SEED = "002_97ecfccf3484d0fe.txt"
MODEL_KEYS = ("dnn", "cnn", "rnn")

FIELDS = {
    "data": Field("digits (scikit-learn, embedded), kannada (idx files via --train), mnist "
                  "(TensorFlow Datasets)", str, choices=("digits", "sklearn", "kannada", "mnist")),
    "models": Field("comma-separated: dnn,cnn,rnn", str),
    "alpha": Field("numeric-loss scale", float),
    "beta": Field("cross-entropy weight", float),
    "trials": Field("repeated trials with seeds seed, seed+1, ...", int),
    "epochs": Field("epochs per model: one number for all, or dnn=N,cnn=N,rnn=N",
                    per_key(MODEL_KEYS)),
    "batch_size": Field("batch size per replica", int),
    "lr": Field("Adam learning rate", float),
    "test_fraction": Field("without a test set: seeded stratified test share", float),
    "train_cap": Field("subsample the training images to this many (none: all)",
                       optional(int)),
    "test_cap": Field("subsample the test images to this many (none: all)", optional(int)),
    "seed": Field("base random seed", int),
    "jobs": Field("trials trained at once, each in a worker process with its share of the CPU "
                  "cores as TensorFlow threads (CPU-only runs on one device; otherwise 1)", int),
}

_NS = "the paper gives no training settings (Figure 4 shows the architecture only); "

PAPER = {
    "data": paper("mnist", "section 4", "MNIST and Kannada-MNIST were used as the tasks for "
                  "the evaluation experiments", "Kannada-MNIST: --data kannada with --train "
                  "and --test (Dig-MNIST)"),
    "models": paper("dnn,cnn,rnn", "section 4", "three neural network models, DNN, CNN and "
                    "RNN, were used"),
    "alpha": paper(0.05, "section 4", "$\\alpha$ was set to 0.05"),
    "beta": paper(0.9, "section 4", "$\\beta$ was set to 0.9"),
    "trials": paper(3, "Tables 1-3", "reported from 3 trials"),
    "epochs": not_stated({"dnn": 10, "cnn": 10, "rnn": 10}, _NS + "10 epochs, the common "
                         "choice for these models on 60,000-image sets"),
    "batch_size": not_stated(128, _NS + "128 on 60,000-image sets"),
    "lr": not_stated(1e-3, _NS + "Adam at its default rate"),
    "test_fraction": not_stated(0.2, "the paper tests on MNIST's 10,000 test images and "
                                "Dig-MNIST; without a test set we hold out 20%"),
    "train_cap": not_stated(None, "all training images"),
    "test_cap": not_stated(None, "all test images"),
    "seed": not_stated(0, "the paper gives no seeds; trial t uses seed + t"),
    "jobs": not_stated(1, "the paper says nothing of how its trials ran; one at a time, on "
                       "the run's devices"),
}

CPU = derive(
    PAPER,
    data=stand_in("digits", "MNIST (section 4)", "MNIST cannot be downloaded here: "
                  "scikit-learn's 1,797 real handwritten digits, embedded, resized to 28x28"),
    epochs=not_stated({"dnn": 20, "cnn": 15, "rnn": 30}, _NS + "chosen on an inner 80/20 "
                      "validation split of the digits' training part: validation accuracy "
                      "peaked near epoch 18-19 (DNN), 13-15 (CNN), still rising at 30 (RNN); "
                      "checked again with each epoch reshuffled (two seeds, python -m "
                      "benchmarks.numeric_loss_epochs): DNN best at "
                      "18-20, CNN within 0.5 points of its best (epoch 22) from epoch 15 on, "
                      "RNN 0.5 points below its best (epoch 35) at 30"),
    batch_size=not_stated(64, _NS + "64 on 1,438 training images"),
    jobs=not_stated(2, "two trials at once, one TensorFlow thread each, on two CPU cores: "
                    "these small models leave part of two cores idle one trial at a time "
                    "(docs/performance.md); the CNN's numbers depend on its thread count, the "
                    "DNN's and RNN's do not"),
)

QUICK = derive(
    CPU,
    epochs=not_stated({"dnn": 1, "cnn": 1, "rnn": 1}, "tests"),
    trials=stand_in(2, "3 trials", "tests: two, so the paired test has pairs"),
    train_cap=not_stated(400, "tests"),
    test_cap=not_stated(200, "tests"),
    jobs=not_stated(1, "tests: one process (a worker's start costs more than these trials)"),
)

RECIPES = {"paper": PAPER, "cpu": CPU, "quick": QUICK}

FIXED = {
    "loss": paper("beta * CE + (1 - beta) * numeric loss (Algorithm 1)", "section 3, eq. (1)",
                  "L = \\beta L_1 + (1 - \\beta)L_2"),
    "baseline loss": paper("categorical cross-entropy", "section 4", "We also adopted a "
                           "baseline model with categorical cross entropy as the loss "
                           "function."),
    "framework": paper("Keras", "section 4", "The implementation was done using Python and "
                       "Keras"),
    "optimiser": not_stated("Adam", "the paper names no optimiser"),
    "claim criterion": paper("mean over trials lower (the paper); beside it a one-sided "
                             "paired t-test (ours)", "section 5.2", "the numerical error per "
                             "image of MNIST and Dig-MNIST is smaller for the proposed model "
                             "than the baseline"),
}
