"""Stage ``report``: the study's Table 1 over the grid, with intervals and paired tests, and its figures.

Reads   params ``study``, ``report``; metrics/eval/<normalizer>-seed<seed>.json and
        data/eval/<normalizer>/seed<seed>/ of every cell in study.normalizers x study.seeds;
        data/normalized (the qualitative grid's inputs), data/sampled, data/unified.
Writes  metrics/table.md and metrics/table.json (Table 1: mean and CI per cell; per normalizer the
        paired difference against identity, its CI and p-value), plots/grid_miou.csv and
        plots/delta_vs_identity.csv (CI-bar plots for dvc plots), plots/grid_miou.png (the same as a figure), plots/per_class_iou/<normalizer>_<set>.csv,
        plots/confusion/<normalizer>_<set>.png, plots/qualitative.png.
Run     python -m stages.report
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.io import remove_outputs, write_csv, write_json, write_text_atomic
from stylenorm.report import (LABEL, ci_figure, confusion_figure, delta_plot_rows, grid_plot_rows, grid_table, load_cells,
                              markdown, per_class_tables, qualitative_grid)


def _finite(obj):
    """NaN (an interval that one seed cannot have) as null: JSON has no NaN."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return None if isinstance(obj, float) and math.isnan(obj) else obj


def report(params) -> dict:
    st, rep = params.study, params.report
    cells = load_cells(st.normalizers, st.seeds)
    outputs = (paths.TABLE_MD, paths.TABLE_JSON, paths.GRID_PLOT, paths.GRID_FIGURE, paths.DELTA_PLOT, paths.PER_CLASS_IOU_DIR,
               paths.CONFUSION_PLOT_DIR, paths.QUALITATIVE_PLOT)
    remove_outputs(*outputs)
    table = grid_table(cells, confidence=rep.confidence, resamples=rep.bootstrap_resamples, boot_seed=rep.bootstrap_seed)
    write_text_atomic(paths.TABLE_MD, markdown(table, seeds=st.seeds, fit_seeds=st.fit_seeds, confidence=rep.confidence))
    write_json(paths.TABLE_JSON, _finite(table))
    write_csv(paths.GRID_PLOT, grid_plot_rows(table))
    write_csv(paths.DELTA_PLOT, delta_plot_rows(table))
    ci_figure(table, paths.GRID_FIGURE)
    for name, frame in per_class_tables(cells).items():
        write_csv(paths.PER_CLASS_IOU_DIR / f"{name}.csv", frame)
    paths.CONFUSION_PLOT_DIR.mkdir(parents=True)
    for n in st.normalizers:
        for test_set in ("cityscapes", "gta5_normalized"):
            conf = sum(np.load(paths.eval_dir(n, s) / f"confusion_{test_set}.npy") for s in st.seeds)
            confusion_figure(conf, f"{LABEL.get(n, n)} on {test_set} test, {len(st.seeds)} seeds summed (row-normalised)",
                             paths.CONFUSION_PLOT_DIR / f"{n}_{test_set}.png")
    first = paths.eval_dir(st.normalizers[0], st.seeds[0]) / "pred"
    ids = {d: sorted(p.stem for p in (first / s).glob("*.png")) for d, s in (("cityscapes", "cityscapes"),
                                                                              ("gta5", "gta5_normalized"))}
    if all(ids.values()):
        grid = qualitative_grid(list(st.normalizers), st.seeds[0], st.fit_seed(st.seeds[0]), ids)
        Image.fromarray(grid).save(paths.QUALITATIVE_PLOT)
    else:  # evaluate.qualitative: 0 -> an empty placeholder keeps the declared output
        Image.new("RGB", (1, 1)).save(paths.QUALITATIVE_PLOT)
    return {n: {c: round(r["mean"], 4) for c, r in row.items()} for n, row in table.items()}


def main() -> None:
    run_stage(__doc__, report)

if __name__ == "__main__":
    main()
