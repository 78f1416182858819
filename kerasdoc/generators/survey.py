"""Image-size survey: width / height distribution per split, as numbers and a histogram PNG.

Paper: the RVL-CDIP blog (seed 001) starts by plotting the width distribution of 100 images per
split ("a lot of variance in the width ... so resizing images will be an important part").
Sizes are read from the file headers (PIL, no decoding), so a survey of thousands of pages
takes seconds.

Example:
    >>> import os, tempfile, numpy as np, cv2
    >>> d = tempfile.mkdtemp()
    >>> for i, w in enumerate((10, 20, 30)):
    ...     _ = cv2.imwrite(os.path.join(d, f"{i}.png"), np.zeros((5, w), np.uint8))
    >>> s = image_size_survey({"train": [os.path.join(d, f"{i}.png") for i in range(3)]})
    >>> s["train"]["width"]["mean"], s["train"]["height"]["max"]
    (20.0, 5)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kerasdoc.generators.files import image_size
from kerasdoc.generators.label_files import parse_label_file, resolve_under


def _stats(v: np.ndarray) -> dict:
    return {"min": int(v.min()), "max": int(v.max()), "mean": round(float(v.mean()), 2),
            "median": float(np.median(v)), "std": round(float(v.std()), 2),
            "p5": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95))}


def image_size_survey(splits: dict[str, Sequence[str]], *, sample: int | None = None,
                      seed: int = 0, png: str | Path | None = None) -> dict:
    """Width / height / aspect statistics per split, and optionally a histogram PNG.

    Args:
        splits: dict. Split name -> image paths.
        sample: int or None. Survey at most this many images per split (seeded sample), as the
            blog's 100; None: all.
        seed: int. Seed of the sample.
        png: str, Path or None. Where to write the histogram figure (width and height panels,
            one colour per split).

    Returns:
        ``{split: {"count", "width": stats, "height": stats, "aspect": stats}}`` with stats
        ``min, max, mean, median, std, p5, p95``; aspect is height / width.

    Raises:
        ValueError: an empty split; FileNotFoundError / ValueError naming an unreadable file.
    """
    rng = np.random.default_rng(seed)
    out, sizes = {}, {}
    for name, paths in splits.items():
        paths = list(paths)
        if not paths:
            raise ValueError(f"split {name!r} has no images")
        if sample is not None and len(paths) > sample:
            paths = [paths[i] for i in sorted(rng.choice(len(paths), sample, replace=False))]
        hw = np.asarray([image_size(p) for p in paths], np.int64)
        sizes[name] = hw
        out[name] = {"count": len(paths), "width": _stats(hw[:, 1]), "height": _stats(hw[:, 0]),
                     "aspect": {k: round(v, 3) if isinstance(v, float) else v for k, v in
                                _stats(hw[:, 0] / hw[:, 1]).items() if k != "min"
                                and k != "max"}}
    if png is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for ax, col, label in ((axes[0], 1, "width"), (axes[1], 0, "height")):
            for name, hw in sizes.items():
                ax.hist(hw[:, col], bins=30, alpha=0.55, label=f"{name} (n={len(hw)})")
            ax.set_xlabel(f"{label} (pixels)")
            ax.set_ylabel("images")
            ax.set_title(f"image {label} per split")
            ax.legend()
        fig.tight_layout()
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png, dpi=100)
        plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> dict:
    """``python -m generators.survey --root DIR --labels a.txt b.txt [--sample N] --out DIR``:
    survey the images of RVL-CDIP-style label files; writes ``survey.json`` and ``survey.png``.
    """
    p = argparse.ArgumentParser(prog="python -m generators.survey", description=main.__doc__)
    p.add_argument("--root", required=True, help="folder the label files' paths are under")
    p.add_argument("--labels", nargs="+", required=True, help="label files, one per split")
    p.add_argument("--sample", type=int, default=None, help="images per split (default: all)")
    p.add_argument("--out", default="results/survey", help="output folder")
    args = p.parse_args(argv)
    splits = {}
    for lf in args.labels:
        rel, _ = parse_label_file(lf, root=args.root)
        splits[Path(lf).stem] = [str(resolve_under(args.root, r)) for r in rel]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = image_size_survey(splits, sample=args.sample, png=out / "survey.png")
    (out / "survey.json").write_text(json.dumps(result, indent=1))
    for name, r in result.items():
        print(f"{name:>8}: n={r['count']:5d}  width {r['width']['min']}-{r['width']['max']} "
              f"(median {r['width']['median']:.0f})  height {r['height']['min']}-"
              f"{r['height']['max']} (median {r['height']['median']:.0f})")
    print(f"wrote {out / 'survey.json'} and {out / 'survey.png'}")
    return result


if __name__ == "__main__":
    main()
