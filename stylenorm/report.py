"""The study's Table 1 over the grid, with intervals, and the figures around it.

Inputs are the evaluate stages' per-cell outputs (``metrics/eval/<protocol>/<normalizer>-seed<k>.json``
and ``data/eval/<protocol>/<normalizer>/seed<k>/``, the oracle's under ``oracle/<domain>``);
``stages/report.py`` writes what these functions return. One table per protocol: rows are
normalizers (``identity`` = raw images, the baseline) and, where the protocol has one, the oracle;
columns are the protocol's (the first study's Cityscapes / GTA5 / Average for ``mixed``), each cell
mean ± CI over training seeds; each row is compared with ``identity`` seed by seed (paired). With a
single seed, intervals and p-values come from a paired test-set bootstrap instead
(``stylenorm.statistics``).
"""
from __future__ import annotations

import functools
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
ORACLE = paths.ORACLE  # the row of a protocol's target-trained upper bound (named as its cell folder)
LABEL = {"identity": "identity (raw; the study's baseline)", "unit": "UNIT", "cyclegan": "CycleGAN", "fda": "FDA",
         "histmatch": "histogram matching", "reinhard": "Reinhard",
         ORACLE: "oracle (trained on the target)"}  # display names; a missing one shows the module name
SOURCE_ONLY_LABEL = {"identity": "identity (raw source: source-only)"}  # where the baseline is the second study's


def rows(protocol_name: str, protocol, normalizers, oracles) -> dict[str, tuple[str, str]]:
    """Table row -> the cell folders it reads, (protocol, normalizer) or (paths.ORACLE, domain): every
    normalizer, then the protocol's oracle when its domain is in ``study.oracles``."""
    out = {n: (protocol_name, n) for n in normalizers}
    domain = protocol.oracle_domain()
    if domain is not None and domain in oracles:
        out[ORACLE] = (paths.ORACLE, domain)
    return out


def load_cells(table_rows: dict[str, tuple[str, str]], seeds) -> dict[str, dict[int, dict]]:
    """row -> seed -> that cell's metrics; a missing cell is an error naming its file and stage."""
    cells = {}
    for row, (group, name) in table_rows.items():
        cells[row] = {}
        for s in seeds:
            path = paths.eval_metrics_path(group, name, s)
            if not path.exists():
                stage = f"evaluate_oracle@{name}-{s}" if group == paths.ORACLE else f"evaluate@{group}-{name}-{s}"
                raise FileNotFoundError(f"{path}: missing (run {stage})")
            cells[row][s] = json.loads(path.read_text())
    return cells


def _per_image(where: tuple[str, str], s: int, test_set: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(paths.eval_dir(*where, s) / f"per_image_{test_set}.npz") as z:
        return z["intersection"], z["union"]


def set_domains(protocol, normalizers, fit_seed: int) -> dict[str, str]:
    """Test set -> the domain whose test images it holds (every optional set included)."""
    return {k: ts.domain for n in normalizers for k, ts in protocol.test_sets(n, fit_seed, extra=True).items()}


def grid_table(cells: dict[str, dict[int, dict]], table_rows: dict[str, tuple[str, str]], protocol, *,
               domains: dict[str, str], confidence: float, resamples: int, boot_seed: int) -> dict:
    """{row: {column: {mean, ci_low, ci_high, n[, delta_vs_identity, delta_ci_low, delta_ci_high,
    p_value, n_up, n_down]}}}: one protocol's part of metrics/table.json. ``domains``: test set ->
    domain (``set_domains``), which the single-seed bootstrap resamples by."""
    seeds = sorted(next(iter(cells.values())))
    single = len(seeds) == 1
    columns = dict(protocol.columns())
    for name, key in protocol.extra_columns().items():
        if all(key in c["mIoU"] for n, per in cells.items() if n not in (BASELINE, ORACLE) for c in per.values()) and \
                any(n not in (BASELINE, ORACLE) for n in cells):
            columns[name] = key

    @functools.cache
    def draws(n: str, key: str) -> np.ndarray:
        """mIoU of each resample, computed once per row and set (identity's serve every other row as
        baseline; ``average`` reuses its sets'). ``idx`` holds one resample of each *domain's* test
        images, shared by every model and every set of that domain, so any two draws are paired."""
        if key == "average":
            return sum(draws(n, k) for k in protocol.pooled) / len(protocol.pooled)
        inter, union = _per_image(table_rows[n], seeds[0], key)
        return bootstrap_miou(inter, union, idx[domains[key]])

    idx = {}
    if single:  # one resample of each domain's test images, shared by every model: a paired bootstrap
        first = next(iter(cells))
        for k, domain in enumerate(("cityscapes", "gta5")):
            key = next((key for key, d in domains.items() if d == domain and key in cells[first][seeds[0]]["mIoU"]), None)
            if key is not None:
                idx[domain] = bootstrap_indices(len(_per_image(table_rows[first], seeds[0], key)[0]), resamples,
                                                boot_seed + k)
    table: dict = {}
    for n, per in cells.items():
        table[n] = {}
        for col, key in columns.items():
            if key not in per[seeds[0]]["mIoU"]:
                continue  # e.g. identity has no separate raw-GTA5 set: its GTA5 column is raw
            values = [per[s]["mIoU"][key] for s in seeds]
            if single:
                ci = percentile_interval(values[0], draws(n, key), confidence)
            else:
                ci = mean_ci(values, confidence)
            row = ci.to_dict()
            if n != BASELINE and BASELINE in cells:
                base_key = protocol.baseline_key(key)
                base = [cells[BASELINE][s]["mIoU"][base_key] for s in seeds]
                if single:
                    d_draws = draws(n, key) - draws(BASELINE, base_key)
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


def _label(protocol, name: str) -> str:
    if protocol.oracle_domain() is not None and name in SOURCE_ONLY_LABEL:
        return SOURCE_ONLY_LABEL[name]
    return LABEL.get(name, name)


def markdown(table: dict, protocol, *, seeds, fit_seeds, confidence: float) -> str:
    """One protocol's table, its paired differences against identity, and a source study's
    reported values when the protocol has them."""
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
    caption = protocol.caption() + ("; GTA5 raw = untranslated GTA5 test images" if "GTA5 raw" in columns else "")
    lines = [f"{protocol.title()}, {how}; {refit}.", caption + ".", "",
             "| Normalizer | " + " | ".join(columns) + " | n |", "|---" * (len(columns) + 2) + "|"]
    for name, row in table.items():
        cells = [_fmt(row[c]) if c in row else "" for c in columns]
        lines.append(f"| {_label(protocol, name)} | " + " | ".join(cells) + f" | {next(iter(row.values()))['n']} |")
    if any(name != BASELINE for name in table):
        lines += ["", f"Paired difference against identity (row − identity, same seed): mean "
                  f"[{confidence:.0%} CI], {'paired t-test' if n > 1 else 'paired test-set bootstrap'} p-value, "
                  "seeds up ↑ / down ↓.", "",
                  "| Normalizer − identity | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for name, row in table.items():
            if name != BASELINE:
                lines.append(f"| {_label(protocol, name)} | " + " | ".join(_fmt_delta(row[c]) if c in row else ""
                                                                             for c in columns) + " |")
    if protocol.oracle_domain() is not None and ORACLE not in table:
        lines += ["", f"No oracle row: add {protocol.oracle_domain()} to study.oracles to train the target-trained "
                  "upper bound."]
    if protocol.reported:
        study = [f"{LABEL.get(v, v)} {' / '.join(f'{x:.2f}' for x in values)}" for v, values in protocol.reported.items()]
        lines += ["", f"The study reported ({' / '.join(protocol.columns())}, one run each): " + "; ".join(study) + "."]
    return "\n".join(lines) + "\n"


PLOT_COLUMNS = ["protocol", "normalizer", "column", "mean", "ci_low", "ci_high", "source"]


def grid_plot_rows(tables: dict[str, dict], protocols: dict) -> pd.DataFrame:
    """Rows for the CI-bar plot: ours per cell, and a source study's reported values beside them."""
    rows = []
    for p, table in tables.items():
        columns = list(protocols[p].columns())
        rows += [{"protocol": p, "normalizer": n, "column": c, "mean": r["mean"], "ci_low": r["ci_low"],
                  "ci_high": r["ci_high"], "source": "ours"} for n, row in table.items() for c, r in row.items()
                 if c in columns]
        for n, values in protocols[p].reported.items():
            if n in table:
                rows += [{"protocol": p, "normalizer": n, "column": c, "mean": v, "ci_low": v, "ci_high": v,
                          "source": "study (reported)"} for c, v in zip(columns, values)]
    return pd.DataFrame(rows, columns=PLOT_COLUMNS)


def delta_plot_rows(tables: dict[str, dict]) -> pd.DataFrame:
    rows = [{"protocol": p, "normalizer": n, "column": c, "delta": r["delta_vs_identity"], "ci_low": r["delta_ci_low"],
             "ci_high": r["delta_ci_high"]} for p, table in tables.items() for n, row in table.items()
            for c, r in row.items() if "delta_vs_identity" in r]
    return pd.DataFrame(rows, columns=["protocol", "normalizer", "column", "delta", "ci_low", "ci_high"])


def ci_figure(tables: dict[str, dict], protocols: dict, path: Path) -> None:
    """The tables as a picture, one row of panels per protocol and one panel per column: each row's
    mean with its CI bar, and a source study's reported value (one run, no interval) beside it as an
    open marker."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    width = max(len(protocols[p].columns()) for p in tables)
    fig, axes = plt.subplots(len(tables), width, figsize=(3.2 * width, 3.4 * len(tables)), squeeze=False)
    for ax_row, (p, table) in zip(axes, tables.items()):
        protocol = protocols[p]
        columns = list(protocol.columns())
        names = list(table)
        for ax in ax_row[len(columns):]:
            ax.axis("off")
        for ax, col in zip(ax_row, columns):
            for i, n in enumerate(names):
                r = table[n].get(col)
                if r is None:
                    continue
                lo = r["ci_low"] if not math.isnan(r["ci_low"]) else r["mean"]
                hi = r["ci_high"] if not math.isnan(r["ci_high"]) else r["mean"]
                ax.errorbar([i - 0.12], [r["mean"]], yerr=[[r["mean"] - lo], [hi - r["mean"]]], fmt="o", capsize=4,
                            color="C0", label="ours: mean, 95% CI" if i == 0 else None)
                if n in protocol.reported:
                    ax.plot([i + 0.12], [protocol.reported[n][columns.index(col)]], "s", mfc="none", color="C3",
                            label="the study (reported)" if i == 0 else None)
            ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
            ax.set_title(col if len(tables) == 1 else f"{p}: {col}", fontsize=9)
            ax.grid(axis="y", alpha=0.3)
        ax_row[0].set_ylabel("test mIoU")
        ax_row[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def per_class_tables(cells: dict[str, dict[int, dict]], test_sets) -> dict[str, pd.DataFrame]:
    """``<row>_<set>`` -> (class, IoU mean over seeds) for each of ``test_sets`` a row was scored on;
    classes with no IoU are left out."""
    out = {}
    for n, per in cells.items():
        for test_set in test_sets:
            if test_set not in next(iter(per.values()))["IoU"]:
                continue
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


def qualitative_grid(table_rows: dict[str, tuple[str, str]], sets: dict[str, dict], seed: int,
                     ids: dict[str, list[str]], height: int = 128) -> np.ndarray:
    """Rows per test image of each set; columns: the raw image, its ground truth, then per table row
    its prediction (segmenter ``seed``), preceded, for a normalizer row of a protocol that scores
    normalized images, by the image that row's segmenter saw (so every image row has the same columns). ``sets``: table row -> its test sets (``TestSet`` by name);
    ``ids``: set -> the image ids drawn (those evaluate saved predictions of)."""
    def cell(path: Path, nearest: bool = False) -> np.ndarray:
        img = Image.open(path).convert("RGB")
        w = round(img.size[0] * height / img.size[1])
        return np.asarray(img.resize((w, height), Image.NEAREST if nearest else Image.BILINEAR))

    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: labels.NUM_CLASSES] = labels.PALETTE
    raw_dirs = {d: paths.sampled_dir(d) / paths.IMAGES for d in ("cityscapes", "gta5")}
    # One layout for every image row: a normalizer row whose protocol normalizes any test set shows the
    # image it saw before its prediction (the raw one where that set is raw), other rows their prediction.
    shows_input = {n: n != BASELINE and any(ts.images_dir != raw_dirs[ts.domain] for ts in sets[n].values())
                   for n in table_rows}
    out = []
    for set_name, set_ids in ids.items():
        for i in set_ids:
            domain = next(s[set_name].domain for s in sets.values() if set_name in s)
            gt = Image.fromarray(palette[np.asarray(Image.open(paths.unified_dir(domain) / paths.LABELS / f"{i}.png"))])
            w = round(gt.size[0] * height / gt.size[1])
            cells = [cell(raw_dirs[domain] / f"{i}.png"), np.asarray(gt.convert("RGB").resize((w, height), Image.NEAREST))]
            for n, where in table_rows.items():
                if set_name not in sets[n]:
                    continue
                if shows_input[n]:
                    cells.append(cell(sets[n][set_name].images_dir / f"{i}.png"))
                cells.append(cell(paths.eval_dir(*where, seed) / "pred" / set_name / f"{i}.png", nearest=True))
            width = min(c.shape[1] for c in cells)
            out.append(np.concatenate([c[:, :width] for c in cells], axis=1))
    width = min(r.shape[1] for r in out)
    return np.concatenate([r[:, :width] for r in out], axis=0)
