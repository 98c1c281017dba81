"""Stage ``report``: one table per protocol over the grid, with intervals and paired tests, and its figures.

Reads   params ``study``, ``report``, each listed protocol's section; the listed normalizers' modules (display
        names); metrics/eval/<protocol>/<normalizer>-seed<seed>.json
        and data/eval/<protocol>/<normalizer>/seed<seed>/ of every cell in study.protocols x
        study.normalizers x study.seeds, and of the oracles (metrics/eval/oracle/<domain>-seed<seed>.json,
        data/eval/oracle/...) a protocol shows; the FCN scores of every listed normalizer for each
        domain in study.oracles (metrics/eval/fcn/<target>/<normalizer>-seed<seed>.json); data/normalized/<source>-<target>
        (the qualitative grid's inputs), data/sampled, data/unified.
Writes  metrics/table.md (one table per protocol: mean and CI per cell, with a column of mIoU over each
        class subset a domain of the pair declares (SYNTHIA's 16 and 13), the classes each row's cells
        learned; per row the paired difference against identity, per pair of normalizers the same,
        each with its p-value, Holm-adjusted over the protocol's comparisons, and the seeds 80% power
        needs; then, per listed oracle, the FCN score of each normalizer) and metrics/table.json (the
        same, by protocol, as flat keys, and ``fcn_score`` by direction; docs/statistics.md),
        plots/grid_miou.csv and plots/delta_vs_identity.csv (CI-bar plots for dvc plots),
        metrics/summary/ (the declared metrics: per row each column's mean mIoU and paired difference from
        identity, and per cell its mIoU: stylenorm.report.summary_metrics),
        plots/per_class_delta.csv (each row's per-class IoU minus identity's, mean and CI over seeds),
        plots/fcn_vs_gain.csv (FCN score against the gain over identity on the target column),
        plots/grid_miou.png (the same as a figure), plots/per_class_iou/<protocol>/<row>_<set>.csv,
        plots/confusion/<protocol>/<row>_<set>.png, plots/qualitative/<protocol>.png.
Run     python -m stages.report
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PIL import Image

from stylenorm import components, domains, paths
from stylenorm.cli import run_stage
from stylenorm.fcn import GAIN_PLOT, direction_key, fcn_table, gain_rows
from stylenorm.io import remove_outputs, write_csv, write_json, write_text_atomic
from stylenorm.report import (CLASS_DELTA_PLOT, ci_figure, class_delta_rows, classes_learned, confusion_figure,
                              delta_plot_rows, display_name, fcn_markdown, grid_plot_rows, grid_table, load_cells,
                              markdown, pair_subsets, per_class_tables, qualitative_grid, rows, set_domains,
                              summary_metrics)
from stylenorm.protocols.base import oracle_test_sets
from stylenorm.study import other_domain


def _finite(obj):
    """NaN (an interval that one seed cannot have) as null: JSON has no NaN."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return None if isinstance(obj, float) and math.isnan(obj) else obj


def report(params) -> dict:
    st, rep = params.study, params.report
    outputs = (paths.TABLE_MD, paths.TABLE_JSON, paths.SUMMARY_DIR, paths.GRID_PLOT, paths.GRID_FIGURE, paths.DELTA_PLOT, paths.PER_CLASS_IOU_DIR,
               paths.CONFUSION_PLOT_DIR, paths.QUALITATIVE_DIR, CLASS_DELTA_PLOT, GAIN_PLOT)
    domain_labels = {d: domains.label(d) for d in st.domains}
    protocols = {p: params.protocol(p, labels=domain_labels) for p in st.protocols}
    fit_seed = st.fit_seed(st.seeds[0])
    subsets = pair_subsets(st.pair)
    tables, sections, class_deltas, summaries = {}, [], [], {}
    remove_outputs(*outputs)
    paths.CONFUSION_PLOT_DIR.mkdir(parents=True)
    paths.QUALITATIVE_DIR.mkdir(parents=True)
    for p, protocol in protocols.items():
        table_rows = rows(p, protocol, st.normalizers, st.oracles)
        cells = load_cells(table_rows, st.seeds)
        set_domain = set_domains(protocol, st.normalizers, fit_seed)
        table = grid_table(cells, table_rows, protocol, domains=set_domain, confidence=rep.confidence,
                           resamples=rep.bootstrap_resamples, boot_seed=rep.bootstrap_seed, subsets=subsets)
        tables[p] = table
        summaries.update(summary_metrics(p, table, cells, protocol))
        sections.append(markdown(table, protocol, seeds=st.seeds, fit_seeds=st.fit_seeds, confidence=rep.confidence,
                                 learned=classes_learned(cells, protocol)))
        class_deltas.append(class_delta_rows(p, cells, protocol, confidence=rep.confidence))
        sets = {n: (oracle_test_sets(st.pair) if where[0] == paths.ORACLE else protocol.test_sets(n, fit_seed))
                for n, where in table_rows.items()}
        main_sets = list(protocol.test_sets(st.normalizers[0], fit_seed))
        for name, frame in per_class_tables(cells, main_sets).items():
            write_csv(paths.PER_CLASS_IOU_DIR / p / f"{name}.csv", frame)
        (paths.CONFUSION_PLOT_DIR / p).mkdir()
        for n, where in table_rows.items():
            for test_set in main_sets:
                if test_set not in sets[n]:
                    continue
                conf = sum(np.load(paths.eval_dir(*where, s) / f"confusion_{test_set}.npy") for s in st.seeds)
                confusion_figure(conf, f"{n} ({p}) on {test_set} test, {len(st.seeds)} seeds summed "
                                 "(row-normalised)", paths.CONFUSION_PLOT_DIR / p / f"{n}_{test_set}.png")
        first = paths.eval_dir(*table_rows[st.normalizers[0]], st.seeds[0]) / "pred"
        ids = {s: sorted(x.stem for x in (first / s).glob("*.png")) for s in main_sets}
        if all(ids.values()):
            grid = qualitative_grid(table_rows, sets, st.seeds[0], ids)
            Image.fromarray(grid).save(paths.QUALITATIVE_DIR / f"{p}.png")
        else:  # evaluate.qualitative: 0 -> an empty placeholder keeps the figure's place
            Image.new("RGB", (1, 1)).save(paths.QUALITATIVE_DIR / f"{p}.png")
    fcn = {}  # translation quality, per direction whose target has an oracle
    for target in st.oracles:
        source = other_domain(target, st.pair)
        fcn[direction_key(source, target)] = table = fcn_table(target, st.normalizers, st.seeds, confidence=rep.confidence)
        sections.append(fcn_markdown(table, source, target, seeds=st.seeds, confidence=rep.confidence,
                                     display_name=display_name, domain_labels=domain_labels))
    write_text_atomic(paths.TABLE_MD, "\n".join(sections))
    write_json(paths.TABLE_JSON, _finite({**tables, **({"fcn_score": fcn} if fcn else {})}))
    for path, summary in summaries.items():
        write_json(path, _finite(summary))
    write_csv(GAIN_PLOT, gain_rows(tables, fcn, protocols, fit_seed))
    write_csv(paths.GRID_PLOT, grid_plot_rows(tables, protocols))
    write_csv(paths.DELTA_PLOT, delta_plot_rows(tables))
    write_csv(CLASS_DELTA_PLOT, pd.concat(class_deltas, ignore_index=True))
    ci_figure(tables, protocols, paths.GRID_FIGURE)
    return {p: {n: {c: round(r["mean"], 4) for c, r in row.items()} for n, row in table.items()}
            for p, table in tables.items()}


def main() -> None:
    run_stage(__doc__, report, load=components.load_params)

if __name__ == "__main__":
    main()
