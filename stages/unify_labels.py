"""Stage ``unify_labels``: one domain's labels to the 19 Cityscapes train ids (255 = ignore), read in
the domain's own encoding (``Domain.decode_label``).

Reads   params ``base.num_workers``, ``unify_labels``; data/sampled/<domain>/.
Writes  data/unified/<domain>/labels/<id>.png (grayscale train ids) + index.csv (the
        kept ids), metrics/unify_<domain>.json (encodings, size mismatches, and the values
        outside the Cityscapes table that ``unknown_to_ignore`` set to 255: files and pixels
        per value), metrics/class_freq_<domain>.json and
        plots/class_freq_<domain>.csv (per-class pixel frequency, for ``dvc plots``).
Run     python -m stages.unify_labels <domain>
"""
from __future__ import annotations

import pandas as pd

from stylenorm import domains, paths
from stylenorm.cli import run_stage
from stylenorm.io import atomic_dir, remove_outputs, write_csv, write_json
from stylenorm.sampling import read_manifest
from stylenorm.unify import class_frequencies, unify_domain


def unify_labels(domain: str, params) -> dict:
    cfg = params.unify_labels
    decode = domains.get(domain).from_params(params).decode_label
    out_dir = paths.unified_dir(domain)
    outputs = (out_dir, paths.unify_report_path(domain), paths.class_freq_json_path(domain),
               paths.class_freq_plot_path(domain))
    remove_outputs(*outputs)
    manifest = read_manifest(paths.sampled_dir(domain))
    with atomic_dir(out_dir) as tmp:
        index, report, counts = unify_domain(paths.sampled_dir(domain), manifest, tmp, policy=cfg.size_mismatch,
                                             unknown_to_ignore=cfg.unknown_to_ignore,
                                             workers=params.base.num_workers, desc=f"unify {domain}", decode=decode)
        write_csv(tmp / paths.INDEX, index)
    freq = class_frequencies(counts)
    write_json(paths.unify_report_path(domain), report)
    write_json(paths.class_freq_json_path(domain), freq)
    write_csv(paths.class_freq_plot_path(domain),
              pd.DataFrame({"class": list(freq), "frequency": list(freq.values())}))
    return report


def main() -> None:
    run_stage(__doc__, unify_labels, ("domain", domains.available()))

if __name__ == "__main__":
    main()
