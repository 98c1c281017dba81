"""The study's Table 1 and the figures around it, from the evaluate stage's outputs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from stylenorm import labels, paths

ROWS = {"baseline": "Baseline", "unit_mapped": "UNIT-Mapped"}
STUDY = {"baseline": (0.48, 0.46, 0.47), "unit_mapped": (0.51, 0.41, 0.46)}  # as reported (Cityscapes, GTA5, Average)


def table(results: dict[str, dict]) -> tuple[str, dict]:
    """Markdown and JSON of Table 1: rows Baseline / UNIT-Mapped, columns Cityscapes / GTA5 / Average."""
    data = {ROWS[v]: {"Cityscapes": r["mIoU"]["cityscapes"], "GTA5": r["mIoU"]["gta5"], "Average": r["mIoU"]["average"]}
            for v, r in results.items()}
    lines = ["Table 1: mIoU (19 classes) of each model on each domain's test split.", "",
             "| Model | Cityscapes | GTA5 | Average |", "|---|---|---|---|"]
    for name, row in data.items():
        lines.append(f"| {name} | {row['Cityscapes']:.2f} | {row['GTA5']:.2f} | {row['Average']:.2f} |")
    extra = {v: r["mIoU"]["gta5_raw"] for v, r in results.items() if "gta5_raw" in r["mIoU"]}
    for v, value in extra.items():
        lines.append(f"\n{ROWS[v]} on untranslated GTA5 test images: {value:.2f}")
    lines += ["", "The study reported (same layout): " + "; ".join(
        f"{ROWS[v]} {c:.2f} / {g:.2f} / {a:.2f}" for v, (c, g, a) in STUDY.items()) + "."]
    return "\n".join(lines) + "\n", data


def per_class_tables(results: dict[str, dict]) -> dict[str, pd.DataFrame]:
    """``<variant>_<set>`` -> (class, IoU) rows; classes with no IoU (absent everywhere) are left out."""
    return {f"{variant}_{test_set}": pd.DataFrame([{"class": name, "IoU": iou} for name, iou in r["IoU"][test_set].items()
                                                    if iou is not None], columns=["class", "IoU"])
            for variant, r in results.items() for test_set in ("cityscapes", "gta5")}


def confusion_figure(conf: np.ndarray, title: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    norm = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1)  # rows: ground truth, normalised
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(norm, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(labels.NUM_CLASSES), labels.CLASSES, rotation=90, fontsize=7)
    ax.set_yticks(range(labels.NUM_CLASSES), labels.CLASSES, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def qualitative_grid(ids_per_domain: dict[str, list[str]], height: int = 128) -> np.ndarray:
    """Rows per test image; columns: input, UNIT-mapped input, ground truth, baseline, UNIT-mapped prediction."""
    def cell(path: Path) -> np.ndarray:
        img = Image.open(path).convert("RGB")
        w = round(img.size[0] * height / img.size[1])
        return np.asarray(img.resize((w, height), Image.NEAREST if path.parent.name != paths.IMAGES else Image.BILINEAR))

    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: labels.NUM_CLASSES] = labels.PALETTE
    rows = []
    for domain, ids in ids_per_domain.items():
        mapped_dir = paths.gta5_images_dir("unit_mapped") if domain == "gta5" else paths.sampled_dir(domain) / paths.IMAGES
        for i in ids:
            gt = Image.fromarray(palette[np.asarray(Image.open(paths.unified_dir(domain) / paths.LABELS / f"{i}.png"))])
            w = round(gt.size[0] * height / gt.size[1])
            cells = [cell(paths.sampled_dir(domain) / paths.IMAGES / f"{i}.png"), cell(mapped_dir / f"{i}.png"),
                     np.asarray(gt.resize((w, height), Image.NEAREST)),
                     cell(paths.eval_dir("baseline") / "pred" / domain / f"{i}.png"),
                     cell(paths.eval_dir("unit_mapped") / "pred" / domain / f"{i}.png")]
            width = min(c.shape[1] for c in cells)
            rows.append(np.concatenate([c[:, :width] for c in cells], axis=1))
    width = min(r.shape[1] for r in rows)
    return np.concatenate([r[:, :width] for r in rows], axis=0)


def load_results() -> dict[str, dict]:
    return {v: json.loads(paths.variant_metrics_path(v).read_text()) for v in ROWS}
