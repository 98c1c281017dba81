"""Stage ``fetch``: sample ``data.n_per_domain`` image/label pairs of one domain.

Reads   params ``base``, ``data``; the source named by ``data.<domain>.source``:
        ``synthetic`` (generates the embedded native tree in a temporary folder) or
        ``local`` (``data.<domain>.local_path``: an extracted tree, one zip, or a
        folder of the original zips).
Writes  data/sampled/<domain>/{images,labels}/<id>.png + manifest.csv,
        metrics/fetch_<domain>.json (pool size and the quirks skipped).
Run     python -m stages.fetch <cityscapes|gta5>
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from tqdm import tqdm

from stylenorm import datasets, paths, synthetic
from stylenorm.cli import run_domain_stage
from stylenorm.config import ConfigError
from stylenorm.io import atomic_dir, remove_outputs, write_json
from stylenorm.sampling import sample_pairs, write_sample


def generate_synthetic(domain: str, root: Path, params) -> None:
    syn = params.data.synthetic
    with tqdm(total=syn.pool_size, desc=f"generate {domain}", unit="scene") as bar:
        if domain == "gta5":
            synthetic.write_gta5_tree(root, n=syn.pool_size, seed=params.base.seed, scale=syn.scale,
                                      missing_rate=syn.missing_id_rate, mismatch_rate=syn.label_size_mismatch_rate,
                                      workers=params.base.num_workers, progress=bar.update)
        else:
            synthetic.write_cityscapes_tree(root, n=syn.pool_size, seed=params.base.seed, scale=syn.scale,
                                            workers=params.base.num_workers, progress=bar.update)


def fetch(domain: str, params) -> dict:
    source = params.data.domain(domain)
    out_dir, report_path = paths.sampled_dir(domain), paths.fetch_report_path(domain)
    remove_outputs(out_dir, report_path)
    with tempfile.TemporaryDirectory(prefix=f"stylenorm-{domain}-") as tmp:
        if source.source == "synthetic":
            generate_synthetic(domain, Path(tmp), params)
            tree = datasets.open_tree(tmp)
        elif source.source == "local":
            tree = datasets.open_tree(source.local_path)
        else:
            raise ConfigError(f"data.{domain}.source: 'download' is not available yet; use synthetic or local")
        inventory = datasets.find_pairs(domain, tree)
        pairs = sample_pairs(inventory, params.data.n_per_domain, params.base.seed, domain)
        with atomic_dir(out_dir) as tmp_out:
            manifest = write_sample(pairs, tree, tmp_out, workers=params.base.num_workers, desc=f"fetch {domain}")
    mismatched = int(((manifest.width != manifest.label_width) | (manifest.height != manifest.label_height)).sum())
    report = {
        "source": source.source,
        "pool_pairs": len(inventory.pairs),
        "sampled": len(manifest),
        "missing_ids": inventory.missing_ids,
        "images_without_label": len(inventory.images_without_label),
        "labels_without_image": len(inventory.labels_without_image),
        "sampled_label_size_mismatch": mismatched,
    }
    write_json(report_path, report)
    return report


def main() -> None:
    run_domain_stage(__doc__, fetch)


if __name__ == "__main__":
    main()
