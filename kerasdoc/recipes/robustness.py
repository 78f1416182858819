"""Recipes of ``robustness``: Gutierrez & Sze, "How Deep Can We Go? A Case Study on Image
Classification" (Tables 1-2, Figures 2, 5, 6, the SVHN comparison).

The paper states the breakouts (1,500 MNIST-C test images each), the denoiser's corruptions and
its 50 epochs, and the SVHN settings. Its classifier was downloaded, not trained (vit-base-mnist,
PyTorch): ours are trained here, with settings of our own.
"""

from __future__ import annotations

from kerasdoc.recipes import Field, derive, not_stated, optional, paper, per_key, stand_in

DOCUMENT = ("Gutierrez & Sze, How Deep Can We Go? A Case Study on Image Classification "
            "(seeds/003_9443245c6430e0d4.txt)")
SEED = "003_9443245c6430e0d4.txt"

FIELDS = {
    "data": Field("kannada, hoda (both from ../shared/data or --train), mnist (TensorFlow "
                  "Datasets, with MNIST-C and SVHN), digits (scikit-learn, embedded)", str,
                  choices=("kannada", "hoda", "mnist", "digits", "sklearn")),
    "classifier": Field("comma-separated: vit (digits_vit), cnn (robust_cnn); one table each",
                        str),
    "classifier_epochs": Field("classifier epochs: one number, or vit=N,cnn=N",
                               per_key(("vit", "cnn"))),
    "lr": Field("classifiers' Adam rate", float),
    "vit_kwargs": Field("digits_vit builder arguments (JSON object), or none", optional(str)),
    "cnn_width": Field("robust_cnn width (none: the registered default)", optional(int)),
    "detector_epochs": Field("distortion detector epochs", int),
    "detector_width": Field("distortion detector width (none: the registered default)",
                            optional(int)),
    "denoiser_epochs": Field("denoising autoencoder epochs", int),
    "denoiser_output": Field("the denoiser's output layer: linear (clipped to [0, 1] at "
                             "inference) or sigmoid", str, choices=("linear", "sigmoid")),
    "denoiser_corruptions": Field("what the denoiser learns to undo", str),
    "train_size": Field("training images (seeded subsample; none: all)", optional(int)),
    "test_fraction": Field("kannada / digits: seeded stratified share for the breakout pool",
                           float),
    "val_fraction": Field("share of the training part kept for validation", float),
    "breakout_size": Field("images per breakout", int),
    "threshold": Field("detector flag threshold", float),
    "batch_size": Field("batch size per replica", int),
    "svhn": Field("also run the SVHN comparison (svhn_cnn vs svhn_denoising_cnn)"),
    "svhn_train": Field("SVHN training sample", int),
    "svhn_test": Field("SVHN test sample", int),
    "svhn_epochs": Field("SVHN epochs", int),
    "svhn_batch_size": Field("SVHN batch size", int),
    "trials": Field("SVHN comparison seeds", int),
    "bench_images": Field("images in the corruption throughput benchmark", int),
    "bench_loop": Field("images in its per-image loop", int),
    "seed": Field("base random seed", int),
}

_SVHN = "section 4.2"
_CLF = ("vit-base-mnist, a PyTorch ViT-Base/16 fine-tuned on MNIST and downloaded (section "
        "3.2.1)")

PAPER = {
    "data": paper("mnist", "section 4.1.1", "We worked with a corrupted MNIST dataset from "
                  "Tensorflow Datasets"),
    "classifier": stand_in("vit", _CLF, "it cannot be downloaded here (nor run in Keras): a "
                           "small Keras ViT (digits_vit) trained on the clean digits"),
    "classifier_epochs": stand_in({"vit": 12, "cnn": 8}, _CLF, "the paper trained no "
                                  "classifier; ours level off by these epochs"),
    "lr": not_stated(1e-3, "the paper trains no classifier; Adam at its default rate"),
    "vit_kwargs": not_stated(None, "digits_vit's registered size"),
    "cnn_width": not_stated(None, "robust_cnn's registered width"),
    "detector_epochs": not_stated(6, "the paper does not describe how its distortion "
                                  "classifier was trained"),
    "detector_width": not_stated(None, "distortion_detector's registered width"),
    "denoiser_epochs": paper(50, "section 4.1.1, Figure 6", "Figure 6 shows the model loss, "
                             "which converges at 0.1365 after 50 epochs"),
    "denoiser_output": not_stated("linear", "the paper does not give the output layer; a "
                                  "sigmoid output with MSE collapses to black images on digit "
                                  "strokes, so linear, clipped to [0, 1] at inference"),
    "denoiser_corruptions": paper("motion_blur,shot_noise", "section 4.1.1", "the noisy "
                                  "dataset included images corrupted by either motion blur or "
                                  "shot noise"),
    "train_size": not_stated(None, "the paper does not say how many images trained the "
                             "denoiser; all training images"),
    "test_fraction": not_stated(0.3, "MNIST has its own test set; for kannada / digits a "
                                "seeded 70/30 split"),
    "val_fraction": not_stated(0.1, "a validation slice of the training part, never the "
                               "breakout pool"),
    "breakout_size": paper(1500, "section 3.1.1", "each breakout contains 1,500 images"),
    "threshold": not_stated(0.5, "the paper's pipeline is not gated by a detector threshold; "
                            "0.5 is the even split"),
    "batch_size": not_stated(64, "the paper gives no batch size for the MNIST models"),
    "svhn": paper(True, _SVHN, "For the SVHN dataset, we first set a baseline score"),
    "svhn_train": paper(10000, _SVHN, "we randomly sampled 10,000 images for training and "
                        "2,000 images for testing"),
    "svhn_test": paper(2000, _SVHN, "we randomly sampled 10,000 images for training and "
                       "2,000 images for testing"),
    "svhn_epochs": paper(15, _SVHN, "epochs = 15"),
    "svhn_batch_size": paper(16, _SVHN, "batch_size = 16"),
    "trials": not_stated(3, "the paper reports one run; 3 seeds give a spread"),
    "bench_images": not_stated(1000, "our throughput benchmark (not in the paper)"),
    "bench_loop": not_stated(64, "our throughput benchmark (not in the paper)"),
    "seed": not_stated(0, "the paper gives no seed"),
}

_CPU = "two CPU cores: about 10 CPU-minutes per data set"
CPU = derive(
    PAPER,
    data=stand_in("kannada", "MNIST and MNIST-C (TensorFlow Datasets)", "they cannot be "
                  "downloaded here: Kannada-MNIST (../shared/data) with kerasdoc's MNIST-C "
                  "corruptions"),
    classifier=stand_in("vit,cnn", _CLF, "a small Keras ViT and a CNN, one table each"),
    train_size=stand_in(7000, "all training images", _CPU),
    denoiser_epochs=stand_in(15, "50 epochs (Figure 6)", _CPU),
    svhn=stand_in(False, "the SVHN comparison (section 4.2)", "SVHN cannot be downloaded "
                  "here; --svhn runs it on the digits as 32x32x3 stand-ins"),
)

QUICK = derive(
    CPU,
    data=stand_in("digits", "MNIST", "tests: scikit-learn's embedded digits"),
    classifier=stand_in("cnn", _CLF, "tests: the CNN only"),
    classifier_epochs=stand_in({"vit": 3, "cnn": 4}, _CLF, "tests"),
    vit_kwargs=not_stated('{"dim": 32, "depth": 1, "heads": 2, "mlp_dim": 64}', "tests"),
    cnn_width=not_stated(8, "tests"),
    detector_epochs=not_stated(3, "tests"),
    detector_width=not_stated(8, "tests"),
    denoiser_epochs=stand_in(3, "50 epochs", "tests"),
    train_size=stand_in(600, "all training images", "tests"),
    breakout_size=stand_in(150, "1,500 images per breakout", "tests"),
    batch_size=not_stated(32, "tests"),
    svhn_train=stand_in(300, "10,000", "tests"),
    svhn_test=stand_in(100, "2,000", "tests"),
    svhn_epochs=stand_in(1, "15 epochs", "tests"),
    trials=not_stated(1, "tests"),
    bench_images=not_stated(200, "tests"),
    bench_loop=not_stated(16, "tests"),
)

RECIPES = {"paper": PAPER, "cpu": CPU, "quick": QUICK}

FIXED = {
    "svhn validation_split": paper(0.2, _SVHN, "validation_split = 0.2"),
    "denoiser loss": paper("MSE", "section 3.2.2", "minimize the reconstruction MSE error"),
    "breakouts": paper("clean; 50/50 shot noise, motion blur, fog; 25% each", "Table 1",
                       "25% clean, 25% shot noise, 25% motion blur, 25% fog"),
}

REFERENCES = {
    "Table 1 mixed breakout (%)": paper(82.06, "Table 1", "82.06%"),
    "Table 2 mixed breakout (%)": paper(82.86, "Table 2", "82.86%"),
    "SVHN CNN (%)": paper(77.0, _SVHN, "accuracy score of 77.0%"),
    "SVHN denoising-autoencoder CNN (%)": paper(79.5, _SVHN, "We achieved a 79.5%"),
}
