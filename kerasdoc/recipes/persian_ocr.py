"""Recipes of ``persian-ocr``: Kendal (2019), MSc report, deep learning for Persian OCR (fastai v1).

The ``paper`` recipe follows the report's appendix notebooks cell by cell: ``create_cnn(data,
models.resnet34)`` at ``size=224`` with ``get_transforms(do_flip=False)``, ``fit_one_cycle(4)``
with the body frozen (In [13]), ``lr_find()`` (In [26]), ``unfreeze()`` and
``fit_one_cycle(5, max_lr=slice(1e-6,1e-4))`` (In [28]), then the second notebook's
``get_data(352,bs)`` and ``fit_one_cycle(2, max_lr=slice(1e-6,1e-4))`` (In [65]-[66]). Values the
cells leave to fastai v1 are fastai v1's defaults, looked up in its source (github
fastai/fastai1): ``get_transforms`` (fastai/vision/transform.py), ``fit_one_cycle`` and
``OneCycleScheduler`` (fastai/train.py, fastai/callbacks/one_cycle.py), ``defaults.lr =
slice(3e-3)`` and ``defaults.wd = 1e-2`` (fastai/basic_train.py), ``bs=64``
(fastai/basic_data.py), ``ResizeMethod.CROP`` for an int size (fastai/vision/image.py).
"""

from __future__ import annotations

from kerasdoc.recipes import (
    Field,
    derive,
    float_or_pair,
    not_stated,
    optional,
    pair,
    paper,
    stand_in,
)
from kerasdoc.training.rates import parse_lr

DOCUMENT = "Kendal (2019), MSc report, Persian OCR with fastai (seeds/004_e655ca137db8da10.txt)"
SEED = "004_e655ca137db8da10.txt"
KANNADA = ("../shared/data/kannada-mnist/kannada-images-idx3-ubyte.gz",
           "../shared/data/kannada-mnist/kannada-labels-idx1-ubyte.gz")

FIELDS = {
    "model": Field("registered model (kerasdoc list)", str),
    "weights": Field("source weights: 'imagenet' (resnet50 only), a .weights.h5 file of the "
                     "same model, a .keras model (transferred by layer name), or none",
                     optional(str)),
    "image_size": Field("square input side in pixels (stages 1-2)", int),
    "color_mode": Field("input colour mode", str, choices=("rgb", "grayscale")),
    "resize_mode": Field("aspect handling of the varying-size images (training and serving)",
                         str, choices=("stretch", "pad", "crop")),
    "augment": Field("augment the training images (the transforms below)"),
    "rotation": Field("augmentation: rotation range in degrees", float),
    "zoom": Field("augmentation: zoom range Z (factors 1 - Z .. 1 + Z) or factors LOW,HIGH "
                  "(below 1 zooms in)", float_or_pair),
    "shift": Field("augmentation: width / height shift as a share of the side", float),
    "brightness": Field("augmentation: brightness factors LOW,HIGH, or none", pair),
    "contrast": Field("augmentation: contrast factors LOW,HIGH, or none", pair),
    "batch_size": Field("batch size per replica", int),
    "one_cycle": Field("one-cycle defaults: kerasdoc (pct_start 0.25, final div 1e4) or "
                       "fastai-v1 (pct_start 0.3, final div 2.5e5)", str,
                       choices=("kerasdoc", "fastai-v1")),
    "epochs1": Field("stage 1 epochs, body frozen", int),
    "lr1": Field("stage 1 max LR: a number or slice(START, END)", parse_lr),
    "lr_find_iters": Field("LR finder iterations (after stage 1, on the unfrozen model)", int),
    "epochs2": Field("stage 2 epochs, unfrozen", int),
    "lr2": Field("stage 2 max LR, e.g. slice(1e-6, 1e-4); none: END = the LR finder's "
                 "--lr2-from suggestion (clipped to [1e-5, lr1]), START = END/100",
                 optional(parse_lr)),
    "lr2_from": Field("LR finder suggestion that sets stage 2's END when --lr2 is none", str,
                      choices=("valley", "steepest", "minimum")),
    "resize_to": Field("progressive resizing: stage 3 at this size (0: no stage 3)", int),
    "epochs3": Field("stage 3 epochs, resized", int),
    "lr3": Field("stage 3 max LR; none: stage 2's rates / --lr3-div", optional(parse_lr)),
    "lr3_div": Field("with --lr3 none: stage 3 uses stage 2's rates divided by this", float),
    "train_fraction": Field("stratified share of the training folder used", float),
    "holdout_fraction": Field("without --test: seeded stratified share of the validation "
                              "folder held out as the test set", float),
    "source_idx": Field("make the source weights: train the same model on these MNIST idx "
                        "files first, then transfer by layer name (none: no source model)",
                        optional(str), nargs="+", metavar="PATH"),
    "source_epochs": Field("epochs of source training", int),
    "stats_batches": Field("training batches read for the normalisation statistics", int),
    "demo_train": Field("generated demo images for training (without --data)", int),
    "demo_valid": Field("generated demo images for validation (without --data)", int),
    "seed": Field("base random seed", int),
}

_TFMS = "tfms = get_transforms(do_flip=False)"
_GT = ("appendix cell In [7], get_transforms(do_flip=False); fastai v1 default "
       "(fastai/vision/transform.py: {})")
_S2 = "learn.fit_one_cycle(5, max_lr=slice(1e-6,1e-4))"
_S3 = "In [66]: learn.fit_one_cycle(2, max_lr=slice(1e-6,1e-4))"

PAPER = {
    "model": paper("resnet34", "section 3.4 and appendix cell In [12]",
                   "learn = create_cnn(data, models.resnet34, metrics=error_rate)"),
    "weights": stand_in(None, "ImageNet-pretrained PyTorch ResNet-34 (section 3.4: \"Pytorch "
                        "provides downloadable Resnet models that are pretrained\")",
                        "Keras ships no ImageNet ResNet-34; the model starts from scratch "
                        "unless --weights names a file (stage 1 then trains the head on a "
                        "random frozen body)"),
    "image_size": paper(224, "appendix cell In [8]",
                        "ImageDataBunch.from_folder(path, ds_tfms=tfms, size=224,).normalize()"),
    "color_mode": paper("rgb", "section 3.3",
                        "the images exist in three colour channels, red, green and blue"),
    "resize_mode": paper("crop", "appendix cell In [8] (size=224)",
                         "It was necessary to specify the size of the images",
                         "fastai v1 resizes to an int size with ResizeMethod.CROP "
                         "(fastai/vision/image.py: default_rsz); its crop position is random "
                         "in training (rand_crop), ours central"),
    "augment": paper(True, "appendix cell In [7]", _TFMS),
    "rotation": paper(10.0, _GT.format("max_rotate:float=10."), _TFMS,
                      "fastai rotates with probability p_affine=0.75, ours every image"),
    "zoom": paper((0.9091, 1.0), _GT.format("max_zoom:float=1.1 -> rand_zoom(scale=(1.,"
                                             "max_zoom))"), _TFMS,
                  "fastai zooms in by 1 to 1.1; kerasdoc's factors map output to input, so "
                  "zooming in by 1.1 is 1/1.1 = 0.9091; probability 0.75 in fastai"),
    "shift": paper(0.0, _GT.format("no translation among its transforms"), _TFMS),
    "brightness": stand_in((0.8, 1.2), "fastai v1 get_transforms max_lighting=0.2: "
                           "brightness(change=(0.4, 0.6)) on the logit of the pixel, "
                           "p_lighting=0.75 (appendix cell In [7])",
                           "kerasdoc's brightness multiplies the pixels: 0.8-1.2 moves a "
                           "mid-grey pixel as far as fastai's change 0.4-0.6 (0.5 -> 0.4-0.6)"),
    "contrast": stand_in((0.8, 1.25), "fastai v1 get_transforms max_lighting=0.2: "
                         "contrast(scale=(0.8, 1/0.8)) multiplying the logit, p_lighting=0.75 "
                         "(appendix cell In [7])",
                         "kerasdoc's contrast scales the deviation from the image mean by "
                         "the same factors"),
    "batch_size": paper(64, "appendix cell In [8] passes no bs: fastai v1's ImageDataBunch "
                        "default bs=64 (fastai/basic_data.py)",
                        "ImageDataBunch.from_folder(path, ds_tfms=tfms, size=224,)"),
    "one_cycle": paper("fastai-v1", "section 3.4; every training cell; fastai v1's "
                       "fit_one_cycle defaults pct_start=0.3, div_factor=25., final_div = "
                       "div_factor*1e4 (fastai/train.py, fastai/callbacks/one_cycle.py)",
                       "I used the `fit_one_cycle` function"),
    "epochs1": paper(4, "section 3.5.1 and appendix cell In [13]",
                     "In [13]: learn.fit_one_cycle(4)"),
    "lr1": paper(3e-3, "section 3.5.2; cell In [13] passes no max_lr: fastai v1 defaults.lr = "
                 "slice(3e-3) (fastai/basic_train.py)", "The default learning rate is 0.003.",
                 "slice(3e-3) gives the frozen body 3e-4 and the head 3e-3; with the body "
                 "frozen only the head's rate matters"),
    "lr_find_iters": paper(100, "appendix cell In [26]; fastai v1 lr_find num_it=100 "
                           "(fastai/train.py)", "In [26]: learn.lr_find()"),
    "epochs2": paper(5, "section 3.5.2 and appendix cell In [28] (after lr_find)", _S2,
                     "the report's first unfrozen run (In [21], fit_one_cycle(5) at the "
                     "default rate) reached the same 0.003228 error; In [28] is the run with "
                     "the rates read off the LR finder, which section 3.5.2 describes"),
    "lr2": paper(slice(1e-6, 1e-4), "appendix cell In [28]", _S2,
                 "the first of the four ranges section 3.5.2 tried; all four ended at 0.3228%"),
    "lr2_from": not_stated("valley", "used only when lr2 is none (not in this recipe)"),
    "resize_to": paper(352, "the second appendix notebook, cell In [65]",
                       "In [65]: data = get_data(352,bs)",
                       "that notebook trained at 224 px first (In [60]: get_data(224,bs))"),
    "epochs3": paper(2, "the second appendix notebook, cell In [66]", _S3),
    "lr3": paper(slice(1e-6, 1e-4), "the second appendix notebook, cell In [66]", _S3),
    "lr3_div": not_stated(10.0, "used only when lr3 is none (not in this recipe)"),
    "train_fraction": not_stated(1.0, "the report trains on its whole training folder"),
    "holdout_fraction": not_stated(0.5, "the report reports error rates on the validation "
                                   "folder it also chose on; we hold a seeded half out as the "
                                   "test set (with --test, the test folder instead)"),
    "source_idx": not_stated(None, "no source model: the report starts from ImageNet weights "
                             "(see weights)"),
    "source_epochs": not_stated(3, "used only with source_idx (not in this recipe)"),
    "stats_batches": not_stated(20, "the report's .normalize() takes the statistics of one "
                                "batch; 20 batches give steadier ones"),
    "demo_train": not_stated(3000, "generated digits, only without --data"),
    "demo_valid": not_stated(600, "generated digits, only without --data"),
    "seed": not_stated(0, "the first notebook's split is its folders; seed 0 seeds ours"),
}

_CPU = "two CPU cores: measured recipe, chosen on the Hoda validation folder only"
CPU = derive(
    PAPER,
    model=stand_in("resnet_small", "ResNet-34 (appendix cell In [12])",
                   "two CPU cores: 3x3 stem, widths 32-64-128, one block per stage, 344 k "
                   "parameters"),
    weights=stand_in(None, "ImageNet-pretrained PyTorch ResNet-34",
                     "no ImageNet weights here: a source model trained on the Kannada-MNIST "
                     "digits (source_idx) is transferred by layer name instead"),
    image_size=stand_in(32, "224 px (appendix cell In [8])", f"{_CPU}; the Hoda digits are "
                        "about 10-60 px a side"),
    color_mode=stand_in("grayscale", "three colour channels (section 3.3)",
                        "resnet_small reads one channel; the Hoda digits are binary images"),
    resize_mode=not_stated("pad", "padding keeps the digits' aspect; chosen on the "
                           "validation folder"),
    zoom=not_stated(0.1, f"{_CPU} (0.9-1.1)"),
    shift=not_stated(0.08, _CPU),
    brightness=not_stated(None, "the Hoda digits are binary: no lighting changes"),
    contrast=not_stated(None, "the Hoda digits are binary: no lighting changes"),
    one_cycle=not_stated("kerasdoc", "kerasdoc's defaults (pct_start 0.25, final div 1e4), "
                         "with which the CPU recipe was measured"),
    epochs1=stand_in(1, "4 epochs (cell In [13])", f"{_CPU}; the body was pretrained on "
                     "digits, so one frozen epoch fits the head"),
    epochs2=stand_in(12, "5 epochs (cell In [28])", f"{_CPU}; 12 unfrozen epochs "
                     "(candidates 7 and 10 were worse)"),
    lr2=stand_in(slice(5e-4, 3e-3), "slice(1e-6, 1e-4) (cell In [28])",
                 f"{_CPU}; a model trained on 10,000 digits, not ImageNet, needs larger rates"),
    resize_to=stand_in(0, "352 px (cells In [65]-[66])", f"{_CPU}; no resizing stage"),
    lr3=not_stated(None, "no stage 3 in this recipe"),
    source_idx=stand_in(KANNADA, "ImageNet pretraining (section 3.4)",
                        "ImageNet weights cannot be downloaded here; the 10,000 Kannada-MNIST "
                        "digits (../shared/data) pretrain the body instead"),
    source_epochs=not_stated(2, _CPU),
)

QUICK = derive(
    CPU,
    model=stand_in("resnet_quick", "ResNet-34", "tests: a tiny ResNet"),
    image_size=stand_in(24, "224 px", "tests: seconds per stage"),
    color_mode=stand_in("rgb", "three colour channels", "resnet_quick reads three"),
    source_idx=not_stated(None, "tests: no source model"),
    batch_size=stand_in(32, "bs=64", "tests: 160 generated images"),
    epochs1=stand_in(1, "4 epochs (cell In [13])", "tests"),
    epochs2=stand_in(1, "5 epochs", "tests"),
    lr2=not_stated(None, "tests: the LR finder's suggestion, as a user without a recipe "
                   "would take it"),
    lr_find_iters=stand_in(12, "num_it=100", "tests"),
    resize_to=stand_in(32, "352 px", "tests: the resizing stage runs, at 32 px"),
    epochs3=stand_in(1, "2 epochs", "tests"),
    lr3=not_stated(None, "tests: stage 2's rates / lr3_div"),
    stats_batches=not_stated(5, "tests"),
    demo_train=not_stated(160, "tests"),
    demo_valid=not_stated(80, "tests"),
)

RECIPES = {"paper": PAPER, "cpu": CPU, "quick": QUICK}

#: What the report's fastai v1 did that kerasdoc fixes (not a flag).
FIXED = {
    "warp": stand_in(0.0, "get_transforms max_warp=0.2: symmetric_warp(magnitude=(-0.2, 0.2), "
                     "p=0.75) (fastai/vision/transform.py; appendix cell In [7])",
                     "kerasdoc's augmentation has no perspective warp"),
    "transform probabilities": stand_in(1.0, "p_affine=0.75, p_lighting=0.75 "
                                        "(get_transforms defaults)",
                                        "kerasdoc's augmentation applies each transform to "
                                        "every image, at a random strength"),
    "normalisation": paper("mean / std of the training images", "section 3.3 and appendix "
                           "cell In [8] (.normalize())", "Each channel was normalised to have "
                           "a mean of zero and standard deviation of one."),
    "optimiser": paper("AdamW, weight decay 1e-2, momentum cycled 0.95 -> 0.85",
                       "fastai v1 Learner(opt_func=AdamW, wd=defaults.wd=1e-2, true_wd=True), "
                       "fit_one_cycle(moms=(0.95,0.85)); kerasdoc.training.schedule's "
                       "fit_one_cycle has the same defaults", "I used the `fit_one_cycle` "
                       "function"),
    "head": paper("concat pool + BN + dropout + linear (registered model)", "the model "
                  "summary in the appendix", "(ap): AdaptiveAvgPool2d(output_size=1)"),
}

#: The report's ResNet-34 error rates (its 18 classes), each with its cell.
REFERENCES = {
    "stage 1 error rate": paper(0.025282, "appendix cell In [13], epoch 4", "0.025282"),
    "stage 2 error rate": paper(0.003228, "appendix cell In [28], epoch 5", "0.003228"),
}
