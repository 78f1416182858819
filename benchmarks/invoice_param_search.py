"""Search the ResNet-18-shaped configurations whose parameter count is the invoice paper's 701,283.

Wang et al., "Lightweight Deep Learning Model for Invoice Image Classification" (seeds/000) give
only the count (701,283 for 3 classes) and the changes to ResNet-18: kernel sizes and widths
changed, BatchNormalization after every convolution and on the shortcut. This script enumerates
ResNet-18 topologies (stem conv, 4 stages x 2 basic blocks, global average pooling, dense 3) on a
grayscale input, with

- stem filters 8..64 (step 8) and stem kernel 3, 5 or 7,
- stage widths 8..256 (step 8, non-decreasing) and a kernel size 3, 5 or 7 per stage,

under four counting conventions: convolutions with or without bias, and parameters counted as
Keras ``count_params()`` (BN moving mean/variance included: 4 per channel) or as trainable ones
(2 per channel, also PyTorch's count). The last width is solved exactly from a quadratic, so the
whole search takes seconds.

The convention is not free: the paper's own ResNet-18 figure, 11,174,787, is reproduced exactly
only by a ResNet-18 on 1-channel input with biased convolutions, BN after each convolution, NO BN
on the projection shortcut, counted as trainable parameters (``resnet18(paper_layout=True)``).
The lightweight model adds "BN on the shortcut" to that network, so the search's main convention
is the same one: biased convolutions, BN on every shortcut (identity ones too), trainable count.

Hits are ranked by how little they change ResNet-18: first the number of kernel sizes changed
(stem 7, blocks 3), then how far the widths are from doubling per stage (sum of |log2(w[i+1]/w[i])
- 1|), then the total width.

Usage:
    python -m benchmarks.invoice_param_search            # the paper's convention, top 10
    python -m benchmarks.invoice_param_search --all-conventions --top 5
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Sequence

PAPER_COUNT = 701_283
RESNET18_BLOCKS = (2, 2, 2, 2)


def resnet_param_count(
    *,
    in_channels: int = 1,
    stem_filters: int = 64,
    stem_kernel: int = 7,
    widths: Sequence[int] = (64, 128, 256, 512),
    kernel_sizes: Sequence[int] = (3, 3, 3, 3),
    blocks: Sequence[int] = RESNET18_BLOCKS,
    num_classes: int = 3,
    conv_bias: bool = False,
    bn_on_identity: bool = False,
    bn_on_projection: bool = True,
    trainable_only: bool = False,
) -> int:
    """Parameter count of a basic-block ResNet, from its configuration alone.

    Paper: seeds/000 (the count search for the invoice model); the network is the one
    :func:`kerasdoc.models.invoice.build_resnet_variant` builds.

    Args:
        in_channels: int. Input channels. Defaults to 1.
        stem_filters: int. Filters of the stem convolution. Defaults to 64.
        stem_kernel: int. Kernel size of the stem convolution. Defaults to 7.
        widths: sequence of int. Channels of each stage. Defaults to ResNet-18's.
        kernel_sizes: sequence of int. Kernel size of each stage's convolutions.
        blocks: sequence of int. Basic blocks per stage. Defaults to (2, 2, 2, 2).
        num_classes: int. Output classes. Defaults to 3.
        conv_bias: bool. Convolutions carry a bias. Defaults to False.
        bn_on_identity: bool. BN on identity shortcuts. Defaults to False.
        bn_on_projection: bool. BN after the 1x1 projection shortcut. Defaults to True.
        trainable_only: bool. Count BN as 2 per channel (gamma, beta) instead of Keras' 4.

    Returns:
        The number of parameters.

    Example:
        >>> resnet_param_count(conv_bias=True, bn_on_projection=False, trainable_only=True)
        11174787
    """
    bn = 2 if trainable_only else 4

    def conv(k: int, cin: int, cout: int) -> int:
        return k * k * cin * cout + (cout if conv_bias else 0)

    total = conv(stem_kernel, in_channels, stem_filters) + bn * stem_filters
    c = stem_filters
    for s, (w, k, n) in enumerate(zip(widths, kernel_sizes, blocks)):
        for b in range(n):
            stride = 2 if (b == 0 and s > 0) else 1
            total += conv(k, c, w) + bn * w + conv(k, w, w) + bn * w
            if stride != 1 or c != w:
                total += conv(1, c, w) + (bn * w if bn_on_projection else 0)
            elif bn_on_identity:
                total += bn * c
            c = w
    return total + c * num_classes + num_classes


def search(target: int = PAPER_COUNT, *, conv_bias: bool = True, trainable_only: bool = True,
           bn_on_identity: bool = True, step: int = 8, max_width: int = 256,
           kernels: Sequence[int] = (3, 5, 7)) -> list[dict]:
    """All configurations (see the module docstring) whose count equals ``target``, ranked.

    Args:
        target: int. The parameter count to reach. Defaults to 701,283.
        conv_bias: bool. Convolutions with bias. Defaults to True (the paper's ResNet-18).
        trainable_only: bool. Count trainable parameters (True) or Keras' count_params() (False).
        bn_on_identity: bool. BN on identity shortcuts too. Defaults to True.
        step: int. Width granularity. Defaults to 8.
        max_width: int. Largest stage width. Defaults to 256.
        kernels: sequence of int. Kernel sizes tried per stage and for the stem.

    Returns:
        A list of dicts (``stem_filters``, ``stem_kernel``, ``widths``, ``kernel_sizes``,
        ``score``), best first.

    Example:
        >>> hits = search(max_width=128, kernels=(3,))
        >>> all(h["count"] == 701283 for h in hits)
        True
    """
    widths = range(step, max_width + 1, step)
    hits = []
    for stem_filters in range(8, 65, 8):
        for stem_kernel in kernels:
            for ks in itertools.product(kernels, repeat=4):
                base = dict(stem_filters=stem_filters, stem_kernel=stem_kernel, kernel_sizes=ks,
                            conv_bias=conv_bias, trainable_only=trainable_only,
                            bn_on_identity=bn_on_identity)
                for w1, w2, w3 in itertools.combinations_with_replacement(widths, 3):
                    cfg = {**base, "_first3": (w1, w2, w3)}
                    w4 = _solve_last_width_cfg(cfg, target, w3, max_width, step)
                    if w4 is None:
                        continue
                    ws = (w1, w2, w3, w4)
                    count = resnet_param_count(**base, widths=ws)
                    assert count == target
                    changed = (stem_kernel != 7) + sum(k != 3 for k in ks)
                    doubling = sum(abs(math.log2(b / a) - 1) for a, b in zip(ws, ws[1:]))
                    hits.append({"stem_filters": stem_filters, "stem_kernel": stem_kernel,
                                 "widths": ws, "kernel_sizes": ks, "count": count,
                                 "score": (changed, round(doubling, 3), sum(ws))})
    hits.sort(key=lambda h: h["score"])
    return hits


def _solve_last_width_cfg(cfg: dict, target: int, lo: int, hi: int, step: int) -> int | None:
    first3 = cfg["_first3"]
    base = {k: v for k, v in cfg.items() if k != "_first3"}
    f = [resnet_param_count(**base, widths=(*first3, w)) for w in (0, 1, 2)]
    a = (f[2] - 2 * f[1] + f[0]) // 2
    b = f[1] - f[0] - a
    c = f[0] - target
    disc = b * b - 4 * a * c
    if a <= 0 or disc < 0:
        return None
    r = math.isqrt(disc)
    if r * r != disc or (r - b) % (2 * a):
        return None
    w = (r - b) // (2 * a)
    return w if lo <= w <= hi and w % step == 0 else None


def main(argv: Sequence[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", type=int, default=PAPER_COUNT)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--all-conventions", action="store_true",
                   help="also search bias-free convolutions and Keras' count_params()")
    args = p.parse_args(argv)
    conventions = [(True, True)]
    if args.all_conventions:
        conventions = list(itertools.product((True, False), (True, False)))
    found = {}
    for conv_bias, trainable in conventions:
        hits = search(args.target, conv_bias=conv_bias, trainable_only=trainable)
        key = (f"conv_bias={conv_bias}, count={'trainable' if trainable else 'keras'}, "
               f"bn_on_identity=True")
        found[key] = hits
        print(f"{key}: {len(hits)} exact configurations; best {min(args.top, len(hits))}:")
        for h in hits[: args.top]:
            print(f"  stem {h['stem_filters']}@{h['stem_kernel']}x{h['stem_kernel']}  "
                  f"widths {h['widths']}  kernels {h['kernel_sizes']}  score {h['score']}")
    return found


if __name__ == "__main__":
    main()
