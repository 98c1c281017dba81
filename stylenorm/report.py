"""The study's Table 1 over the grid, with intervals, and the figures around it.

Inputs are the evaluate stages' per-cell outputs (``metrics/eval/<protocol>/<normalizer>-seed<k>.json``
and ``data/eval/<protocol>/<normalizer>/seed<k>/``, the oracle's under ``oracle/<domain>``);
``stages/report.py`` writes what these functions return. One table per protocol: rows are
normalizers (``identity`` = raw images, the baseline) and, where the protocol has one, the oracle;
columns are the protocol's (the first study's Cityscapes / GTA5 / Average for ``mixed``), each cell
mean ± CI over training seeds; each row is compared with ``identity`` seed by seed (paired), and every
normalizer with every other listed before it. The p-values of all the comparisons one protocol's tables
show form one family, Holm-adjusted; each comparison's observed SD of paired differences gives the
seeds a paired t-test would need for 80% power at a difference of 0.01 and 0.02 mIoU. With a single
seed, intervals and p-values come from a paired test-set bootstrap instead (``stylenorm.statistics``),
and there are no seed counts. Display names come from the normalizer modules (``display_name``).
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

from stylenorm import domains, labels, normalizers, paths
from stylenorm.statistics import (bootstrap_indices, bootstrap_miou, holm, mean_ci, paired, percentile_interval,
                                  seeds_needed)

BASELINE = "identity"
ORACLE = paths.ORACLE  # the row of a protocol's target-trained upper bound (named as its cell folder)
LABEL = {ORACLE: "oracle (trained on the target)"}  # rows that are not normalizers; a normalizer names itself
SOURCE_ONLY_LABEL = {"identity": "identity (raw source: source-only)"}  # where the baseline is the second study's
POWER = 0.8  # the power the seed counts plan for
DIFFERENCES = (0.01, 0.02)  # true mIoU differences the seed counts plan for
LEARNED_IOU = 0.05  # a class counts as learned above this test IoU
CLASS_DELTA_PLOT = paths.PLOTS_DIR / "per_class_delta.csv"  # per-class difference against identity (dvc plots)


def display_name(name: str) -> str:
    """A row's name in the tables: the normalizer module's ``display_name``, a non-normalizer row's
    ``LABEL``, else the name itself (so a new normalizer needs no edit here)."""
    if name in LABEL:
        return LABEL[name]
    if name in normalizers.available():
        return getattr(normalizers.get(name), "display_name", None) or name
    return name


def _short(name: str) -> str:
    """A row in a comparison's label ("FDA − identity"): the baseline by its name, others by display name."""
    return BASELINE if name == BASELINE else ORACLE if name == ORACLE else display_name(name)


def _suffix(a: str) -> str:
    """Keys of a comparison against row ``a``: the comparison with identity keeps the original unsuffixed
    names (``p_value``, ``delta_ci_low``, ...); one with another normalizer ends in ``_vs_<a>``."""
    return "" if a == BASELINE else f"_vs_{a}"


def _seeds_key(difference: float) -> str:
    return "seeds_for_" + f"{difference:.2f}".replace(".", "_")  # no dot: DVC joins nested keys with dots


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


def pair_subsets(pair: tuple[str, str]) -> dict[str, tuple[str, ...]]:
    """The class subsets the pair's domains declare (``Domain.class_subsets``; SYNTHIA -> Cityscapes: the
    literature's 16 and 13), scored beside the 19 classes."""
    return {name: classes for d in pair for name, classes in domains.get(d).class_subsets.items()}


def class_subset_columns(cells: dict[str, dict[int, dict]], protocol, subsets: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Columns of mIoU over class subsets (a domain's ``class_subsets``: SYNTHIA -> Cityscapes is scored on 16 and
    13 classes in the literature), beside each column of a test set: ``"<column> mIoU-<subset>"`` -> metrics key
    ``"<set>@<subset>"``, which this adds to every cell's ``mIoU``: the mean IoU of the subset's classes in that
    set, from its per-class IoU (a class absent from both labels and predictions is left out, as in mIoU). A
    set without per-class IoU, or where some cell has none of the subset's classes, gets no such column."""
    columns = {}
    every = [cell for per in cells.values() for cell in per.values()]
    for name, classes in subsets.items():
        for column, key in protocol.columns().items():
            ious = [[cell["IoU"][key][c] for c in classes if cell["IoU"][key].get(c) is not None]
                    if key in cell.get("IoU", {}) else [] for cell in every]
            if all(ious):
                columns[f"{column} mIoU-{name}"] = f"{key}@{name}"
                for cell, values in zip(every, ious):
                    cell["mIoU"][f"{key}@{name}"] = float(np.mean(values))
    return columns


def grid_table(cells: dict[str, dict[int, dict]], table_rows: dict[str, tuple[str, str]], protocol, *,
               domains: dict[str, str], confidence: float, resamples: int, boot_seed: int,
               subsets: dict[str, tuple[str, ...]] | None = None) -> dict:
    """{row: {column: {mean, ci_low, ci_high, n[, comparisons]}}}: one protocol's part of
    metrics/table.json. ``domains``: test set -> domain (``set_domains``), which the single-seed
    bootstrap resamples by.

    Comparisons, as flat keys of the later row: against identity (every other row) ``delta_vs_identity,
    delta_ci_low, delta_ci_high, p_value, n_up, n_down, sd_delta, seeds_for_0_01, seeds_for_0_02,
    p_holm``; against each normalizer ``<a>`` listed before the row, the same keys ending in ``_vs_<a>``
    (``delta_vs_<a>``, ``delta_vs_<a>_ci_low``, ``p_value_vs_<a>``, ``p_holm_vs_<a>``, ...). ``p_holm``:
    Holm-adjusted over every comparison of the protocol (all pairs, all columns). ``subsets``: class subsets
    (name -> classes) whose mIoU columns follow the protocol's (``class_subset_columns``)."""
    seeds = sorted(next(iter(cells.values())))
    single = len(seeds) == 1
    subsets = subsets or {}
    columns = {**protocol.columns(), **class_subset_columns(cells, protocol, subsets)}
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
        key, _, subset = key.partition("@")
        inter, union = _per_image(table_rows[n], seeds[0], key)
        if subset:
            keep = [labels.CLASSES.index(c) for c in subsets[subset]]
            inter, union = inter[:, keep], union[:, keep]
        return bootstrap_miou(inter, union, idx[domains[key]])

    idx = {}
    if single:  # one resample of each domain's test images, shared by every model: a paired bootstrap
        first = next(iter(cells))
        for k, domain in enumerate(reversed(protocol.pair)):  # target, then source
            key = next((key for key, d in domains.items() if d == domain and key in cells[first][seeds[0]]["mIoU"]), None)
            if key is not None:
                idx[domain] = bootstrap_indices(len(_per_image(table_rows[first], seeds[0], key)[0]), resamples,
                                                boot_seed + k)
    def compare(a: str, b: str, key: str) -> dict | None:
        """Row ``b`` minus row ``a`` in the column scored under ``key``, paired by seed (or by resample)."""
        key_a = protocol.baseline_key(key) if a == BASELINE else key
        if key_a not in cells[a][seeds[0]]["mIoU"] or key not in cells[b][seeds[0]]["mIoU"]:
            return None
        va, vb = ([cells[n][s]["mIoU"][k] for s in seeds] for n, k in ((a, key_a), (b, key)))
        if single:
            d_draws = draws(b, key) - draws(a, key_a)
            d = percentile_interval(vb[0] - va[0], d_draws, confidence)
            p = float(min(1.0, 2 * min((d_draws <= 0).mean(), (d_draws >= 0).mean())))
            up, down, sd = int(vb[0] > va[0]), int(vb[0] < va[0]), float("nan")
        else:
            pr = paired(va, vb, confidence)
            d, p, up, down, sd = pr.delta, pr.p_value, pr.n_up, pr.n_down, pr.sd
        return dict(delta=d.mean, ci_low=d.ci_low, ci_high=d.ci_high, p=p, up=up, down=down, sd=sd)

    # Normalizers in table order, the baseline first: each is compared with every one before it.
    order = [n for n in cells if n == BASELINE] + [n for n in cells if n not in (BASELINE, ORACLE)]
    family = []  # (row, column, suffix): every p-value the protocol's tables show
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
            against = ([BASELINE] if BASELINE in cells else []) if n == ORACLE else order[:order.index(n)]
            for a in against:
                c = compare(a, n, key)
                if c is None:
                    continue
                x = _suffix(a)
                row.update({f"delta_vs_{a}": c["delta"], f"delta{x}_ci_low": c["ci_low"], f"delta{x}_ci_high": c["ci_high"],
                            f"p_value{x}": c["p"], f"n_up{x}": c["up"], f"n_down{x}": c["down"], f"sd_delta{x}": c["sd"]})
                row.update({f"{_seeds_key(diff)}{x}": seeds_needed(c["sd"], diff, POWER, 1 - confidence)
                            for diff in DIFFERENCES})
                family.append((n, col, x))
            table[n][col] = row
    adjusted = holm([table[n][col][f"p_value{x}"] for n, col, x in family])
    for (n, col, x), p in zip(family, adjusted):
        table[n][col][f"p_holm{x}"] = float(p)
    return table


def tuning_columns(protocol) -> dict[str, str]:
    """The columns whose validation score may steer tuning (``summary/<protocol>/val/``): sets of the domains
    the protocol's cells train on, and ``average`` / ``pooled`` when all of its pooled sets are such; a
    held-out domain's validation score would be oracle tuning."""
    trained = {s.domain for s in protocol.train_sets("", 0, "val")}
    ok = {k for k, s in protocol.test_sets("", 0, split="val").items() if s.domain in trained}
    combined = ("average", "pooled") if protocol.pooled and set(protocol.pooled) <= ok else ()
    return {c: k for c, k in protocol.columns().items() if k in ok or k in combined}


def summary_metrics(protocol_name: str, table: dict, cells: dict[str, dict[int, dict]], protocol) -> dict[Path, dict]:
    """What `dvc metrics show` and `dvc metrics diff` compare, one small file per row and per cell (so the
    view stays narrow): a row's mean mIoU per column and its paired difference from identity
    (summary/<protocol>/<row>.json), each cell's mIoU per column (summary/<protocol>/cells/<row>-seed<k>.json),
    and, for tuning, a row's mean validation mIoU on the protocol's tuning columns (summary/<protocol>/val/
    <row>.json, under the same keys: rows, not columns). Per-class IoU, intervals and p-values stay in the
    cells' evaluate outputs and in table.json."""
    keys = {**protocol.columns(), **protocol.extra_columns()}
    tuning = tuning_columns(protocol)
    out = {}
    for row, by_col in table.items():
        if row != ORACLE:  # the oracle is an upper bound, not a row anyone tunes
            for s, cell in cells[row].items():
                missing = [f"val.mIoU.{k}" for k in tuning.values() if k not in cell.get("val", {}).get("mIoU", {})]
                if missing:
                    raise ValueError(f"{paths.eval_metrics_path(protocol_name, row, s)}: no {', '.join(missing)} "
                                     "(written by an older evaluate? re-run it)")
            out[paths.SUMMARY_DIR / protocol_name / "val" / f"{row}.json"] = {
                "mIoU": {c: float(np.mean([cell["val"]["mIoU"][k] for cell in cells[row].values()]))
                         for c, k in tuning.items()}}
        summary = {"mIoU": {c: r["mean"] for c, r in by_col.items()}}
        delta = {c: r["delta_vs_identity"] for c, r in by_col.items() if "delta_vs_identity" in r}
        out[paths.SUMMARY_DIR / protocol_name / f"{row}.json"] = {**summary, **({"delta": delta} if delta else {})}
        for s, cell in cells[row].items():
            out[paths.SUMMARY_DIR / protocol_name / "cells" / f"{row}-seed{s}.json"] = {
                "mIoU": {c: cell["mIoU"][keys[c]] for c in by_col if keys.get(c) in cell["mIoU"]}}
    return out


def _fmt(iv: dict, digits: int = 2) -> str:
    if math.isnan(iv["ci_low"]):
        return f"{iv['mean']:.{digits}f}"
    half = (iv["ci_high"] - iv["ci_low"]) / 2
    return f"{iv['mean']:.{digits}f} ± {half:.{digits}f}"


def fcn_markdown(table: dict, source: str, target: str, *, seeds, confidence: float, display_name,
                 domain_labels: dict[str, str]) -> str:
    """The FCN-score table of one direction (``stylenorm.fcn.fcn_table``) as Markdown."""
    s, t = domain_labels.get(source, source), domain_labels.get(target, target)
    how = (f"mean ± half-width of the {confidence:.0%} Student-t interval over n = {len(seeds)} oracle seeds {list(seeds)}"
           if len(seeds) > 1 else f"one oracle seed {list(seeds)}, no interval")
    lines = [f"Translation quality, {s} -> {t} (FCN score): the {t} oracle (trained on {t} alone) segments {s} test "
             f"images after each normalizer, scored against {s}'s labels; {how}. Identity = raw {s} images, the "
             f"floor (the oracle's own cross-domain score). Higher: the images look more like {t} and kept their content.",
             "", "| Normalizer | FCN mIoU | FCN pixel accuracy | n |", "|---|---|---|---|"]
    for n, row in table.items():
        lines.append(f"| {display_name(n)} | {_fmt(row['mIoU'])} | {_fmt(row['aAcc'])} | {row['mIoU']['n']} |")
    return "\n".join(lines) + "\n"


def _fmt_p(p: float) -> str:
    """Two decimals, but never "p = 0.00": below 0.01 one significant digit more, below 0.001 a bound; and
    three where two would round to the 0.05 threshold, so the side of it a p lies on shows."""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 or 0.045 <= p < 0.055 else f"p = {p:.2f}"


def _fmt_delta(row: dict, against: str = BASELINE) -> str:
    """A comparison of ``row`` with row ``against``: mean [CI], p, Holm-adjusted p, seeds up / down."""
    x = _suffix(against)
    if f"delta_vs_{against}" not in row:
        return ""
    p = "" if math.isnan(row[f"p_value{x}"]) else f", {_fmt_p(row[f'p_value{x}'])}"
    holm_p = row.get(f"p_holm{x}", float("nan"))
    p += "" if math.isnan(holm_p) else f", Holm {_fmt_p(holm_p)}"
    lo, hi = row[f"delta{x}_ci_low"], row[f"delta{x}_ci_high"]
    ci = "" if math.isnan(lo) else f" [{lo:+.3f}, {hi:+.3f}]"
    return f"{row[f'delta_vs_{against}']:+.3f}{ci}{p} ({row[f'n_up{x}']}↑ {row[f'n_down{x}']}↓)"


def _fmt_seeds(row: dict, against: str) -> str:
    x = _suffix(against)
    if f"delta_vs_{against}" not in row:
        return ""
    counts = [row[f"{_seeds_key(d)}{x}"] for d in DIFFERENCES]
    return " / ".join("n/a" if math.isnan(c) else str(int(c)) for c in counts)


def _label(protocol, name: str) -> str:
    if protocol.oracle_domain() is not None and name in SOURCE_ONLY_LABEL:
        return SOURCE_ONLY_LABEL[name]
    return display_name(name)


def comparisons(table: dict) -> list[tuple[str, str, str]]:
    """(a, b, column) of every comparison in ``table`` (b − a), in table order: its Holm family."""
    return [(a, b, c) for b, row in table.items() for c, r in row.items() for a in table
            if f"delta_vs_{a}" in r]


def classes_learned(cells: dict[str, dict[int, dict]], protocol) -> dict[str, dict[str, list[int]]]:
    """row -> column -> per seed (in seed order), how many classes reached test IoU > ``LEARNED_IOU``;
    columns with per-class IoU only (not ``average``)."""
    columns = {**protocol.columns(), **protocol.extra_columns()}
    out = {}
    for n, per in cells.items():
        seeds = sorted(per)
        out[n] = {col: [sum(v is not None and v > LEARNED_IOU for v in per[s]["IoU"][key].values()) for s in seeds]
                  for col, key in columns.items() if key in per[seeds[0]].get("IoU", {})}
    return out


def class_delta_rows(protocol_name: str, cells: dict[str, dict[int, dict]], protocol, *,
                     confidence: float) -> pd.DataFrame:
    """Each row's per-class IoU minus identity's, paired by seed: mean and t-interval over the seeds where
    both have the class (a class absent from a test set has no IoU), per column with per-class IoU."""
    out = []
    if BASELINE not in cells:
        return pd.DataFrame(out, columns=CLASS_DELTA_COLUMNS)
    columns = {**protocol.columns(), **protocol.extra_columns()}
    base = cells[BASELINE]
    seeds = sorted(base)
    for n, per in cells.items():
        if n == BASELINE:
            continue
        for col, key in columns.items():
            key_a = protocol.baseline_key(key)
            if key not in per[seeds[0]].get("IoU", {}) or key_a not in base[seeds[0]].get("IoU", {}):
                continue
            for cls in labels.CLASSES:
                pairs = [(base[s]["IoU"][key_a].get(cls), per[s]["IoU"][key].get(cls)) for s in seeds]
                d = [b - a for a, b in pairs if a is not None and b is not None]
                if not d:
                    continue
                iv = mean_ci(d, confidence)
                out.append({"protocol": protocol_name, "normalizer": n,
                            "panel": f"{protocol_name}: {_short(n)} − {BASELINE}", "column": col, "class": cls,
                            "delta": iv.mean, "ci_low": iv.ci_low, "ci_high": iv.ci_high, "n": iv.n})
    return pd.DataFrame(out, columns=CLASS_DELTA_COLUMNS)


CLASS_DELTA_COLUMNS = ["protocol", "normalizer", "panel", "column", "class", "delta", "ci_low", "ci_high", "n"]


def markdown(table: dict, protocol, *, seeds, fit_seeds, confidence: float,
             learned: dict[str, dict[str, list[int]]] | None = None) -> str:
    """One protocol's table, its paired differences against identity, every other pair of normalizers,
    the seeds each comparison would need, what is significant after Holm's adjustment, and a source
    study's reported values when the protocol has them. ``learned``: ``classes_learned``, for the
    caption."""
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
    raw_column = next(iter(protocol.extra_columns()), None)  # e.g. mixed's "GTA5 raw"
    caption = protocol.caption() + (f"; {raw_column} = untranslated {raw_column.removesuffix(' raw')} test images"
                                     if raw_column in columns else "")
    lines = [f"{protocol.title()}, {how}; {refit}.", caption + "."]
    if learned:
        per_row = [f"{_label(protocol, name)}: " + ", ".join(f"{c} {'/'.join(map(str, counts))}"
                                                              for c, counts in learned[name].items())
                   for name in table if learned.get(name)]
        lines.append(f"Classes learned (test IoU > {LEARNED_IOU}, of {labels.NUM_CLASSES}), per seed "
                     f"{'/'.join(map(str, seeds))}: " + "; ".join(per_row) + ".")
    lines += ["", "| Normalizer | " + " | ".join(columns) + " | n |", "|---" * (len(columns) + 2) + "|"]
    for name, row in table.items():
        cells = [_fmt(row[c]) if c in row else "" for c in columns]
        lines.append(f"| {_label(protocol, name)} | " + " | ".join(cells) + f" | {next(iter(row.values()))['n']} |")
    family = comparisons(table)
    test = "paired t-test" if n > 1 else "paired test-set bootstrap"
    alpha = 1 - confidence
    if any(a == BASELINE for a, _, _ in family):
        lines += ["", f"Paired difference against identity (row − identity, same seed): mean "
                  f"[{confidence:.0%} CI], {test} p-value and its Holm adjustment over every comparison of this "
                  "protocol's tables (this one and the pairs below), seeds up ↑ / down ↓.", "",
                  "| Normalizer − identity | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for name, row in table.items():
            if name != BASELINE:
                lines.append(f"| {_label(protocol, name)} | " + " | ".join(_fmt_delta(row[c]) if c in row else ""
                                                                             for c in columns) + " |")
    pairs = list(dict.fromkeys((a, b) for a, b, _ in family))
    others = [(a, b) for a, b in pairs if a != BASELINE]
    if others:
        lines += ["", f"Normalizer against normalizer (row: later − earlier in study.normalizers, same seed): mean "
                  f"[{confidence:.0%} CI], {test} p-value, Holm-adjusted in the same family, seeds up ↑ / down ↓.", "",
                  "| Pair | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for a, b in others:
            lines.append(f"| {_short(b)} − {_short(a)} | " + " | ".join(
                _fmt_delta(table[b][c], a) if c in table[b] else "" for c in columns) + " |")
    if pairs and n > 1:
        lines += ["", f"Seeds a paired t-test needs for {POWER:.0%} power (two-sided, α = {alpha:.2f}) at a true "
                  f"difference of {' / '.join(f'{d:.2f}' for d in DIFFERENCES)} mIoU, if the SD of paired differences "
                  f"is the one observed over these {n} seeds (statsmodels' TTestPower; an SD from {n} seeds is itself "
                  "rough, so read these as an order of magnitude).", "",
                  "| Comparison | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for a, b in pairs:
            lines.append(f"| {_short(b)} − {_short(a)} | " + " | ".join(
                _fmt_seeds(table[b][c], a) if c in table[b] else "" for c in columns) + " |")
    elif pairs:
        lines += ["", "With one seed there is no spread over seeds to plan from: run two or more seeds "
                  "(`-S 'study.seeds=[0,1,2]'`) for the seeds each comparison needs."]
    if family:
        significant = [f"{_short(b)} − {_short(a)} ({c})" for a, b, c in family
                       if table[b][c][f"p_holm{_suffix(a)}"] < alpha]
        tested = sum(math.isfinite(table[b][c][f"p_value{_suffix(a)}"]) for a, b, c in family)
        lines += ["", f"Significant at Holm-adjusted p < {alpha:.2f} over the {tested} comparisons above: "
                  + ("; ".join(significant) if significant else "none") + "."]
    if protocol.oracle_domain() is not None and ORACLE not in table:
        lines += ["", f"No oracle row: add {protocol.oracle_domain()} to study.oracles to train the target-trained "
                  "upper bound."]
    if protocol.reported:
        study = [f"{display_name(v)} {' / '.join(f'{x:.2f}' for x in values)}" for v, values in protocol.reported.items()]
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
    raw_dirs = {ts.domain: paths.sampled_dir(ts.domain) / paths.IMAGES for s in sets.values() for ts in s.values()}
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
