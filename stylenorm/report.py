"""The study's Table 1 over the grid, with intervals, and the figures around it.

Inputs are the evaluate stage's per-cell outputs (``metrics/eval/<normalizer>-seed<k>.json`` and
``data/eval/<normalizer>/seed<k>/``); ``stages/report.py`` writes what these functions return.
Rows are normalizers (``identity`` = raw images, the study's baseline), columns the study's
Cityscapes / GTA5 / Average, each cell mean ± CI over training seeds; each normalizer is compared
with ``identity`` seed by seed (paired). With a single seed, intervals and p-values come from a
paired test-set bootstrap instead (``stylenorm.statistics``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy import stats

from stylenorm import labels, paths
from stylenorm.statistics import bootstrap_indices, bootstrap_miou, mean_ci, paired, percentile_interval

BASELINE = "identity"
COLUMNS = {"Cityscapes": "cityscapes", "GTA5": "gta5_normalized", "Average": "average"}  # column -> mIoU key
EXTRA_COLUMNS = {"GTA5 raw": "gta5_raw"}  # shown when evaluate scored it
STUDY = {"identity": (0.48, 0.46, 0.47), "unit": (0.51, 0.41, 0.46)}  # as reported (Cityscapes, GTA5, Average)
LABEL = {"identity": "identity (raw; the study's baseline)", "unit": "UNIT", "cyclegan": "CycleGAN", "fda": "FDA",
         "histmatch": "histogram matching", "reinhard": "Reinhard"}  # display names; a missing one shows the module name


def load_cells(normalizers, seeds) -> dict[str, dict[int, dict]]:
    """normalizer -> seed -> that cell's metrics; a missing cell is an error naming its file."""
    cells = {}
    for n in normalizers:
        cells[n] = {}
        for s in seeds:
            path = paths.eval_metrics_path(n, s)
            if not path.exists():
                raise FileNotFoundError(f"{path}: missing (run evaluate@{n}-{s})")
            cells[n][s] = json.loads(path.read_text())
    return cells


def _per_image(n: str, s: int, test_set: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(paths.eval_dir(n, s) / f"per_image_{test_set}.npz") as z:
        return z["intersection"], z["union"]


_SET_DOMAIN = {"cityscapes": "cityscapes", "gta5_normalized": "gta5", "gta5_raw": "gta5"}  # whose test images


def _bootstrap_draws(n: str, s: int, column_key: str, idx: dict[str, np.ndarray]) -> np.ndarray:
    """mIoU of each resample; ``idx`` holds one resample of each *domain's* test images, shared by every
    model and every set of that domain, so any two draws are paired."""
    if column_key == "average":
        return (_bootstrap_draws(n, s, "cityscapes", idx) + _bootstrap_draws(n, s, "gta5_normalized", idx)) / 2
    inter, union = _per_image(n, s, column_key)
    return bootstrap_miou(inter, union, idx[_SET_DOMAIN[column_key]])


def grid_table(cells: dict[str, dict[int, dict]], *, confidence: float, resamples: int, boot_seed: int) -> dict:
    """{normalizer: {column: {mean, ci_low, ci_high, n[, delta_vs_identity, delta_ci_low, delta_ci_high,
    p_value, n_up, n_down]}}}: the content of metrics/table.json."""
    seeds = sorted(next(iter(cells.values())))
    single = len(seeds) == 1
    columns = dict(COLUMNS)
    for name, key in EXTRA_COLUMNS.items():
        if all(key in c["mIoU"] for n, per in cells.items() if n != BASELINE for c in per.values()) and \
                any(n != BASELINE for n in cells):
            columns[name] = key
    idx = {}
    if single:  # one resample of each domain's test images, shared by every model: a paired bootstrap
        first = next(iter(cells))
        for k, (domain, key) in enumerate((("cityscapes", "cityscapes"), ("gta5", "gta5_normalized"))):
            idx[domain] = bootstrap_indices(len(_per_image(first, seeds[0], key)[0]), resamples, boot_seed + k)
    table: dict = {}
    for n, per in cells.items():
        table[n] = {}
        for col, key in columns.items():
            if key not in per[seeds[0]]["mIoU"]:
                continue  # identity has no separate raw-GTA5 set: its GTA5 column is raw
            values = [per[s]["mIoU"][key] for s in seeds]
            if single:
                ci = percentile_interval(values[0], _bootstrap_draws(n, seeds[0], key, idx), confidence)
            else:
                ci = mean_ci(values, confidence)
            row = ci.to_dict()
            if n != BASELINE and BASELINE in cells:
                base_key = "gta5_normalized" if key == "gta5_raw" else key
                base = [cells[BASELINE][s]["mIoU"][base_key] for s in seeds]
                if single:
                    d_draws = _bootstrap_draws(n, seeds[0], key, idx) - _bootstrap_draws(BASELINE, seeds[0], base_key, idx)
                    d = percentile_interval(values[0] - base[0], d_draws, confidence)
                    p = float(min(1.0, 2 * min((d_draws <= 0).mean(), (d_draws >= 0).mean())))
                    up, down = int(values[0] > base[0]), int(values[0] < base[0])
                else:
                    pr = paired(base, values, confidence)
                    d, p, up, down = pr.delta, pr.p_value, pr.n_up, pr.n_down
                row.update(delta_vs_identity=d.mean, delta_ci_low=d.ci_low, delta_ci_high=d.ci_high, p_value=p,
                           n_up=up, n_down=down)
            table[n][col] = row
    return table


def _fmt(iv: dict, digits: int = 2) -> str:
    if math.isnan(iv["ci_low"]):
        return f"{iv['mean']:.{digits}f}"
    half = (iv["ci_high"] - iv["ci_low"]) / 2
    return f"{iv['mean']:.{digits}f} ± {half:.{digits}f}"


def _fmt_p(p: float) -> str:
    """Two decimals, but never "p = 0.00": below 0.01 one significant digit more, below 0.001 a bound."""
    return f"p = {p:.2f}" if p >= 0.01 else f"p = {p:.3f}" if p >= 0.001 else "p < 0.001"


def _fmt_delta(row: dict) -> str:
    if "delta_vs_identity" not in row:
        return ""
    p = "" if math.isnan(row["p_value"]) else f", {_fmt_p(row['p_value'])}"
    ci = "" if math.isnan(row["delta_ci_low"]) else f" [{row['delta_ci_low']:+.3f}, {row['delta_ci_high']:+.3f}]"
    return f"{row['delta_vs_identity']:+.3f}{ci}{p} ({row['n_up']}↑ {row['n_down']}↓)"


def markdown(table: dict, *, seeds, fit_seeds, confidence: float) -> str:
    columns = list(dict.fromkeys(c for row in table.values() for c in row))
    n = len(seeds)
    if n > 1:
        how = (f"mean ± half-width of the {confidence:.0%} Student-t interval over n = {n} segmenter training seeds "
               f"{list(seeds)} (t({0.5 + confidence / 2:.3f}, {n - 1}) = "
               f"{stats.t.ppf(0.5 + confidence / 2, n - 1):.2f})")
    else:
        how = f"one training seed {list(seeds)}; ± is half the {confidence:.0%} test-set bootstrap interval"
    refit = ("each normalizer was fitted once (fit seed "
             f"{fit_seeds[0]}), so intervals cover segmenter variance, not the normalizer's"
             if len(fit_seeds) == 1 else "each seed re-fitted its normalizer, so intervals cover normalizer and segmenter variance")
    lines = ["Table 1: test mIoU (19 classes) of each normalizer's segmenter, " + how + "; " + refit + ".",
             "Columns: Cityscapes = raw Cityscapes test images; GTA5 = GTA5 test images after the row's normalizer "
             "(as the study scored its UNIT-mapped model; raw for identity)"
             + ("; GTA5 raw = untranslated GTA5 test images" if "GTA5 raw" in columns else "")
             + "; Average = mean of Cityscapes and GTA5.", "",
             "| Normalizer | " + " | ".join(columns) + " | n |", "|---" * (len(columns) + 2) + "|"]
    for name, row in table.items():
        cells = [_fmt(row[c]) if c in row else "" for c in columns]
        lines.append(f"| {LABEL.get(name, name)} | " + " | ".join(cells) + f" | {next(iter(row.values()))['n']} |")
    if any(name != BASELINE for name in table):
        lines += ["", f"Paired difference against identity (normalizer − identity, same seed): mean "
                  f"[{confidence:.0%} CI], {'paired t-test' if n > 1 else 'paired test-set bootstrap'} p-value, "
                  "seeds up ↑ / down ↓.", "",
                  "| Normalizer − identity | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for name, row in table.items():
            if name != BASELINE:
                lines.append(f"| {LABEL.get(name, name)} | " + " | ".join(_fmt_delta(row[c]) if c in row else ""
                                                                          for c in columns) + " |")
    study = [f"{LABEL.get(v, v)} {c:.2f} / {g:.2f} / {a:.2f}" for v, (c, g, a) in STUDY.items()]
    lines += ["", "The study reported (Cityscapes / GTA5 / Average, one run each): " + "; ".join(study) + "."]
    return "\n".join(lines) + "\n"


def grid_plot_rows(table: dict) -> pd.DataFrame:
    """Rows for the CI-bar plot: ours per cell, and the study's reported values beside them."""
    rows = [{"normalizer": n, "column": c, "mean": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
             "source": "ours"} for n, row in table.items() for c, r in row.items() if c in COLUMNS]
    for n, values in STUDY.items():
        if n in table:
            rows += [{"normalizer": n, "column": c, "mean": v, "ci_low": v, "ci_high": v, "source": "study (reported)"}
                     for c, v in zip(COLUMNS, values)]
    return pd.DataFrame(rows, columns=["normalizer", "column", "mean", "ci_low", "ci_high", "source"])


def delta_plot_rows(table: dict) -> pd.DataFrame:
    rows = [{"normalizer": n, "column": c, "delta": r["delta_vs_identity"], "ci_low": r["delta_ci_low"],
             "ci_high": r["delta_ci_high"]} for n, row in table.items() for c, r in row.items()
            if "delta_vs_identity" in r]
    return pd.DataFrame(rows, columns=["normalizer", "column", "delta", "ci_low", "ci_high"])


def ci_figure(table: dict, path: Path) -> None:
    """Table 1 as a picture: per column, each normalizer's mean with its CI bar, and the study's
    reported value (one run, no interval) beside it as an open marker."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(table)
    fig, axes = plt.subplots(1, len(COLUMNS), figsize=(3.2 * len(COLUMNS), 3.4), sharey=True)
    for ax, col in zip(axes, COLUMNS):
        for i, n in enumerate(names):
            r = table[n].get(col)
            if r is None:
                continue
            lo = r["ci_low"] if not math.isnan(r["ci_low"]) else r["mean"]
            hi = r["ci_high"] if not math.isnan(r["ci_high"]) else r["mean"]
            ax.errorbar([i - 0.12], [r["mean"]], yerr=[[r["mean"] - lo], [hi - r["mean"]]], fmt="o", capsize=4,
                        color="C0", label="ours: mean, 95% CI" if i == 0 else None)
            if n in STUDY:
                ax.plot([i + 0.12], [STUDY[n][list(COLUMNS).index(col)]], "s", mfc="none", color="C3",
                        label="the study (reported)" if i == 0 else None)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_title(col)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("test mIoU")
    axes[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def per_class_tables(cells: dict[str, dict[int, dict]]) -> dict[str, pd.DataFrame]:
    """``<normalizer>_<set>`` -> (class, IoU mean over seeds); classes with no IoU are left out."""
    out = {}
    for n, per in cells.items():
        for test_set in ("cityscapes", "gta5_normalized"):
            rows = []
            for name in labels.CLASSES:
                values = [c["IoU"][test_set][name] for c in per.values() if c["IoU"][test_set][name] is not None]
                if values:
                    rows.append({"class": name, "IoU": float(np.mean(values))})
            out[f"{n}_{test_set}"] = pd.DataFrame(rows, columns=["class", "IoU"])
    return out


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


def qualitative_grid(normalizers: list[str], seed: int, fit_seed: int, ids: dict[str, list[str]],
                     height: int = 128) -> np.ndarray:
    """Rows per test image; columns: input, ground truth, then per normalizer its input (normalized
    GTA5; Cityscapes is raw for all) and its prediction (segmenter ``seed``)."""
    def cell(path: Path, nearest: bool = False) -> np.ndarray:
        img = Image.open(path).convert("RGB")
        w = round(img.size[0] * height / img.size[1])
        return np.asarray(img.resize((w, height), Image.NEAREST if nearest else Image.BILINEAR))

    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: labels.NUM_CLASSES] = labels.PALETTE
    rows = []
    sets = {"cityscapes": "cityscapes", "gta5": "gta5_normalized"}
    for domain, domain_ids in ids.items():
        for i in domain_ids:
            gt = Image.fromarray(palette[np.asarray(Image.open(paths.unified_dir(domain) / paths.LABELS / f"{i}.png"))])
            w = round(gt.size[0] * height / gt.size[1])
            cells = [cell(paths.sampled_dir(domain) / paths.IMAGES / f"{i}.png"),
                     np.asarray(gt.convert("RGB").resize((w, height), Image.NEAREST))]
            for n in normalizers:
                if n != BASELINE:  # the normalizer's input: normalized GTA5; Cityscapes is raw for every model
                    src = paths.normalized_dir(n, fit_seed, domain) if domain == "gta5" else paths.sampled_dir(domain)
                    cells.append(cell(src / paths.IMAGES / f"{i}.png"))
                cells.append(cell(paths.eval_dir(n, seed) / "pred" / sets[domain] / f"{i}.png", nearest=True))
            width = min(c.shape[1] for c in cells)
            rows.append(np.concatenate([c[:, :width] for c in cells], axis=1))
    width = min(r.shape[1] for r in rows)
    return np.concatenate([r[:, :width] for r in rows], axis=0)
