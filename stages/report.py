"""Stage ``report``: the study's Table 1 and its figures.

Reads   metrics/baseline.json, metrics/unit_mapped.json, data/eval/<variant>/.
Writes  metrics/table.md and metrics/table.json (Table 1),
        plots/per_class_iou/<variant>_<set>.csv, plots/confusion/<variant>_<set>.png, plots/qualitative.png (the Fig.-2-style grid:
        input | UNIT-mapped input | ground truth | baseline | UNIT-mapped, both domains).
Run     python -m stages.report
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.io import remove_outputs, write_csv, write_json, write_text_atomic
from stylenorm.report import ROWS, confusion_figure, load_results, per_class_tables, qualitative_grid, table


def report(params=None) -> dict:
    results = load_results()
    remove_outputs(paths.CONFUSION_PLOT_DIR, paths.PER_CLASS_IOU_DIR, paths.QUALITATIVE_PLOT)
    markdown, data = table(results)
    write_text_atomic(paths.TABLE_MD, markdown)
    write_json(paths.TABLE_JSON, data)
    for name, frame in per_class_tables(results).items():
        write_csv(paths.PER_CLASS_IOU_DIR / f"{name}.csv", frame)
    paths.CONFUSION_PLOT_DIR.mkdir(parents=True)
    for variant in ROWS:
        for npy in sorted(paths.eval_dir(variant).glob("confusion_*.npy")):
            name = npy.stem.removeprefix("confusion_")
            confusion_figure(np.load(npy), f"{ROWS[variant]} on {name} test (row-normalised)",
                             paths.CONFUSION_PLOT_DIR / f"{variant}_{name}.png")
    ids = {d: sorted(p.stem for p in (paths.eval_dir("baseline") / "pred" / d).glob("*.png")) for d in ("cityscapes", "gta5")}
    if all(ids.values()):
        Image.fromarray(qualitative_grid(ids)).save(paths.QUALITATIVE_PLOT)
    else:  # evaluate.qualitative: 0 -> an empty placeholder keeps the declared output
        Image.new("RGB", (1, 1)).save(paths.QUALITATIVE_PLOT)
    return data


def main() -> None:
    run_stage(__doc__, report)

if __name__ == "__main__":
    main()
