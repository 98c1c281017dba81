"""Stage ``fetch``: sample ``data.n_per_domain`` image/label pairs of one domain.

Reads   params ``base``, ``data.n_per_domain``, ``data.synthetic``, ``data.<domain>``; the source
        named by ``data.<domain>.source``: ``synthetic`` (the domain module writes the embedded
        native tree in a temporary folder), ``local`` (``data.<domain>.local_path``: an extracted
        tree, one zip, or a folder of the original zips) or ``download`` (the domain's
        ``open_download``, whose docstring says how: by HTTP range requests of the sampled members
        only, or with an account; what it fetched is kept in ~/.cache/stylenorm/downloads so that a
        re-run fetches only what it lacks).
Writes  data/sampled/<domain>/{images,labels}/<id>.png + manifest.csv,
        metrics/fetch_<domain>.json (pool size and the quirks skipped).
Run     python -m stages.fetch <domain>   (a module of stylenorm/domains/)
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from tqdm import tqdm

from stylenorm import datasets, domains, paths, remote
from stylenorm.cli import run_stage
from stylenorm.config import ConfigError
from stylenorm.io import atomic_dir, remove_outputs, write_json
from stylenorm.sampling import candidate_order, write_sample


class DownloadBar:
    """The download's progress bar: bytes received, and what a retry is waiting for while it waits."""

    def __init__(self, bar: tqdm):
        self.bar, self.waiting = bar, False

    def on_bytes(self, n: int) -> None:
        if self.waiting:
            self.bar.set_postfix_str("", refresh=False)
            self.waiting = False
        self.bar.update(n)

    def on_wait(self, message: str) -> None:
        self.waiting = True
        self.bar.set_postfix_str(f"waiting: {message}")


def open_download(domain, bar) -> datasets.ZipTree:
    progress = DownloadBar(bar)
    try:
        return domain.open_download(remote.download_cache_dir() / domain.name, progress.on_bytes, progress.on_wait)
    except PermissionError as err:
        raise ConfigError(f"data.{domain.name}.source: download: {err}") from None


def fetch(name: str, params) -> dict:
    domain = domains.get(name).from_params(params)
    source = domain.cfg
    out_dir, report_path = paths.sampled_dir(name), paths.fetch_report_path(name)
    remove_outputs(out_dir, report_path)
    bar = tqdm(desc=f"download {name}", unit="B", unit_scale=True, unit_divisor=1024, disable=source.source != "download")
    with tempfile.TemporaryDirectory(prefix=f"stylenorm-{name}-") as tmp:
        if source.source == "synthetic":
            syn = params.data.synthetic
            with tqdm(total=syn.pool_size, desc=f"generate {name}", unit="scene") as gen:
                domain.write_synthetic(Path(tmp), n=syn.pool_size, seed=params.base.data_seed, synthetic=syn,
                                       workers=params.base.num_workers, progress=gen.update)
            tree = datasets.DirTree(Path(tmp), shown_as=f"synthetic:{name}")
        elif source.source == "local":
            tree = datasets.open_tree(source.local_path)
        else:
            tree = open_download(domain, bar)
        inventory = domain.find_pairs(tree)
        candidates = candidate_order(inventory, params.data.n_per_domain, params.base.data_seed, domain.stream, name)
        if source.source == "download":
            # One batch, so that neighbouring members travel in one range (blank images' replacements come later).
            tree.prefetch([rel for pair in candidates[: params.data.n_per_domain] for rel in (pair.image, pair.label)])
        workers = 1 if source.source == "download" else params.base.num_workers  # one HTTP stream, one progress bar
        with atomic_dir(out_dir) as tmp_out:
            manifest, blanks = write_sample(candidates, params.data.n_per_domain, tree, tmp_out, workers=workers,
                                            desc=f"fetch {name}")
    bar.close()
    mismatched = int(((manifest.width != manifest.label_width) | (manifest.height != manifest.label_height)).sum())
    report = {
        "source": source.source,
        "pool_pairs": len(inventory.pairs),
        "sampled": len(manifest),
        "missing_ids": inventory.missing_ids,
        "images_without_label": len(inventory.images_without_label),
        "labels_without_image": len(inventory.labels_without_image),
        "blank_images_skipped": len(blanks),
        "sampled_label_size_mismatch": mismatched,
    }
    write_json(report_path, report)
    return report


def main() -> None:
    run_stage(__doc__, fetch, ("domain", domains.available()))

if __name__ == "__main__":
    main()
