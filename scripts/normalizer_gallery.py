"""Render one GTA5-like source image under each training-free normalizer, beside the Cityscapes-like
training image it is paired with, from the embedded generator; writes docs/normalizers.png.

Builds a small embedded dataset (``stylenorm/synthetic.py``, native layouts, ``--scale`` of the
native sizes) in a temporary folder, pairs the source with a Cityscapes *training* image as the
pipeline does (seed, image id), and runs every setting through ``Normalizer.apply``. UNIT joins
the grid only with ``--unit-model DIR`` (a fitted ``unit`` folder, models/normalizers/<source>-<target>/unit/seed<k>),
its apply settings read from ``--params``.

Run: python scripts/normalizer_gallery.py [--source-index 3] [--seed 0] [--unit-model DIR] [--out docs/normalizers.png]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from stylenorm.components import load_params  # noqa: E402
from stylenorm.config import from_dict  # noqa: E402
from stylenorm.normalizers import Context, get  # noqa: E402
from stylenorm.normalizers import _references as refs  # noqa: E402
from stylenorm.domains import cityscapes, gta5  # noqa: E402

SETTINGS = [("fda", {"beta": 0.01}, "FDA β=0.01"), ("fda", {"beta": 0.05}, "FDA β=0.05"),
            ("fda", {"beta": 0.09}, "FDA β=0.09"), ("histmatch", {"reference": "pair"}, "histogram matching, paired"),
            ("histmatch", {"reference": "pooled"}, "histogram matching, pooled"),
            ("reinhard", {"reference": "pair"}, "Reinhard (Lab), paired"),
            ("reinhard", {"reference": "pooled"}, "Reinhard (Lab), pooled")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.25, help="fraction of the native sizes (the embedded default: 0.25)")
    parser.add_argument("--seed", type=int, default=0, help="data seed and normalizer seed (pairing)")
    parser.add_argument("--source-index", type=int, default=3, help="which GTA5-like scene (id) to show")
    parser.add_argument("--cityscapes-pool", type=int, default=40, help="Cityscapes-like scenes generated (training ones are references)")
    parser.add_argument("--unit-model", type=Path, default=None, help="a fitted UNIT folder; omitted: no UNIT panel")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="where UNIT's apply settings are read")
    parser.add_argument("--out", type=Path, default=Path("docs/normalizers.png"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gta5.write_tree(tmp / "gta5", n=args.source_index, seed=args.seed, scale=args.scale, missing_rate=0, mismatch_rate=0)
        cityscapes.write_tree(tmp / "cityscapes", n=args.cityscapes_pool, seed=args.seed, scale=args.scale)
        source = tmp / "gta5" / "images" / f"{args.source_index:05d}.png"
        train = sorted((tmp / "cityscapes" / "leftImg8bit" / "train").glob("*/*.png"))
        ctx = Context("gta5", "cityscapes", seed=args.seed, train_images={"cityscapes": train}, pair=("gta5", "cityscapes"))
        paired = refs.paired_references([source], refs.target_references(ctx), ctx.seed)[0]

        panels = [(refs.read_rgb(source), f"source (GTA5-like) {source.stem}"),
                  (refs.read_rgb(paired), f"paired target (Cityscapes-like train)\n{paired.stem.removesuffix('_leftImg8bit')}")]
        builds = []
        for name, apply, title in SETTINGS:
            cls = get(name)
            builds.append((cls(cls.Fit(), from_dict(cls.Apply, apply, f"{name}.apply")), title, tmp / "nofit"))
        if args.unit_model is not None:
            builds.append((load_params(args.params).normalizer("unit").build(), "UNIT", args.unit_model))
        for k, (normalizer, title, fit_dir) in enumerate(builds):
            dest = tmp / "out" / f"{k}.png"
            dest.parent.mkdir(exist_ok=True)
            normalizer.apply(ctx, fit_dir, [source], [dest])
            panels.append((refs.read_rgb(dest), title))

    cols = 3
    rows = -(-len(panels) // cols)
    height, width = panels[0][0].shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 4.2, rows * 4.2 * height / width + rows * 0.5))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, (image, title) in zip(np.ravel(axes), panels):
        ax.imshow(image)
        ax.set_title(title, fontsize=10)
    fig.suptitle("Training-free normalizers on the embedded default (scale 0.25): one GTA5-like image in Cityscapes style",
                 fontsize=11)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
