"""Recipes of ``invoice``: Wang et al., "Lightweight Deep Learning Model for Invoice Image
Classification" (Table 1).

The paper states the models, grayscale input with normalisation, one-hot labels, the 840 / 360
split of 1,200 images and the kinds of augmentation (section 3.1). It states no input size,
optimiser, learning rate, epochs, batch size or augmentation strengths: those are our choices,
marked ``not stated``. The paper's own settings fit two CPU cores, so ``cpu`` is ``paper``.
"""

from __future__ import annotations

from kerasdoc.constants import COLOR_MODES
from kerasdoc.recipes import Field, derive, not_stated, pair, paper, stand_in

DOCUMENT = ("Wang et al., Lightweight Deep Learning Model for Invoice Image Classification "
            "(seeds/000_99c34549b611ce48.txt)")
SEED = "000_99c34549b611ce48.txt"
MODELS = "alexnet,zfnet,vgg16,resnet18,invoice_resnet"

FIELDS = {
    "models": Field("comma-separated Table 1 models", str),
    "image_size": Field("square input side in pixels", int),
    "color_mode": Field("input colour mode", str, choices=COLOR_MODES),
    "resize_mode": Field("aspect handling when resizing (training and serving)", str,
                         choices=("stretch", "pad", "crop")),
    "val_fraction": Field("validation share per class", float),
    "optimizer": Field("optimiser", str, choices=("adam", "sgd")),
    "lr": Field("learning rate", float),
    "epochs": Field("training epochs", int),
    "batch_size": Field("batch size per replica", int),
    "rotation": Field("augmentation: rotation range in degrees", float),
    "zoom": Field("augmentation: zoom range (factors 1 - z .. 1 + z)", float),
    "shift": Field("augmentation: width / height shift as a share of the side", float),
    "flips": Field("augmentation: horizontal and vertical flips"),
    "brightness": Field("augmentation: brightness factors LOW,HIGH, or none", pair),
    "contrast": Field("augmentation: contrast factors LOW,HIGH, or none", pair),
    "noise": Field("augmentation: Gaussian noise std on the 0-255 scale", float),
    "cache": Field("keep the decoded training images in memory after the first epoch "
                   "(augmented every epoch)"),
    "trials": Field("repeated trials with seeds seed, seed+1, ...", int),
    "refit_all": Field("choose each model's epochs on the validation split, then train the "
                       "final model on all training images for that many epochs (needs a "
                       "test set)"),
    "demo_per_class": Field("generated demo invoices per class (without --data)", int),
    "demo_test_per_class": Field("generated demo test invoices per class (without --data)",
                                 int),
    "seed": Field("base random seed", int),
}

_AUG = ("Data augmentation is achieved by rotating, flipping, scaling, color jittering and "
        "adding noise to the train image")
_NOSTR = "section 3.1 names the transform, not its strength; "

PAPER = {
    "models": paper(MODELS, "Table 1", "AlexNet ZFNet VGG-16 ResNet-18 Ours"),
    "image_size": not_stated(64, "no input size in the paper; at 64x64 our models reproduce "
                             "Table 1's parameter counts (ZFNet's exactly with 3 channels), so "
                             "the counts point to it"),
    "color_mode": paper("grayscale", "section 3.1", "we first carry out the grayscale "
                        "processing"),
    "resize_mode": not_stated("stretch", "the paper does not say how the photos were resized; "
                              "stretching uses the whole page"),
    "val_fraction": paper(0.3, "section 3.1", "840 of which are used for training and 360 for "
                          "verification", "the paper re-splits within each epoch; we keep one "
                          "seeded split so that the validation images are never trained on"),
    "optimizer": not_stated("adam", "the paper names no optimiser; Adam is the usual choice "
                            "for small image sets"),
    "lr": not_stated(1e-3, "the paper gives no learning rate; Adam's default"),
    "epochs": not_stated(40, "the paper gives no epochs; 40 lets every model level off on "
                         "the 82 real receipts"),
    "batch_size": not_stated(16, "the paper gives no batch size; 16 keeps several steps per "
                             "epoch on small sets"),
    "rotation": not_stated(15.0, _NOSTR + "phone photos of invoices lean by a few degrees"),
    "zoom": not_stated(0.1, _NOSTR + "'scaling' by up to 10%"),
    "shift": not_stated(0.05, "the paper names no translation; small shifts stand for the "
                        "framing of phone photos"),
    "flips": paper(True, "section 3.1", _AUG, "horizontal and vertical: the paper does not "
                   "say which flips"),
    "brightness": not_stated((0.8, 1.2), _NOSTR + "'color jittering' on grayscale images is "
                             "brightness and contrast"),
    "contrast": not_stated((0.8, 1.2), _NOSTR + "'color jittering' on grayscale images is "
                           "brightness and contrast"),
    "noise": not_stated(8.0, _NOSTR + "'adding noise': Gaussian, std 8 of 255"),
    "cache": not_stated(True, "the paper says nothing of its input pipeline; our choice: each "
                        "photo is decoded and resized once (memory: images x side x side "
                        "bytes, 82 x 64 x 64 = 336 KB for the real receipts), and epoch k "
                        "still shuffles and augments by (seed, k), as without the cache"),
    "trials": not_stated(1, "the paper reports one run per model"),
    "refit_all": not_stated(False, "the paper trains once on its 840 images"),
    "demo_per_class": not_stated(60, "generated invoices, only without --data"),
    "demo_test_per_class": not_stated(14, "generated test invoices (the paper's 42 test "
                                      "images are 14 per class), only without --data"),
    "seed": not_stated(0, "the paper gives no seed"),
}

#: The paper's settings fit two CPU cores: the measured CPU recipe is the paper's.
CPU = derive(PAPER)

QUICK = derive(
    CPU,
    image_size=stand_in(32, "64 px (our reading of Table 1's counts)", "tests: seconds"),
    epochs=not_stated(2, "tests"),
    demo_per_class=not_stated(8, "tests"),
    demo_test_per_class=not_stated(3, "tests"),
)

RECIPES = {"paper": PAPER, "cpu": CPU, "quick": QUICK}

FIXED = {
    "normalisation": paper("rescale 1/255", "section 3.1", "finally carry out the "
                           "normalization processing", "the paper does not say how; we scale "
                           "to [0, 1]"),
    "labels": paper("one-hot, categorical cross-entropy", "section 3.1",
                    "each kind of picture needs to be labeled as \"one hot\""),
}

REFERENCES = {
    "Table 1 accuracy (%)": paper("85.71, 90.84, 33.33, 88.09, 97.61", "Table 1, on its 42 "
                                  "test invoices", "Accuracy 85.71 90.84 33.33 88.09 97.61"),
}
