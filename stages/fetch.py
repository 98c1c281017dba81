"""Stage ``fetch``: sample ``data.n_per_domain`` image/label pairs of one domain.

Reads   params ``base``, ``data``; the source named by ``data.<domain>.source``:
        ``synthetic`` (generates the embedded native tree in a temporary folder),
        ``local`` (``data.<domain>.local_path``: an extracted tree, one zip, or a
        folder of the original zips) or ``download`` (GTA5: only the sampled members,
        by HTTP range requests, kept in ~/.cache/stylenorm/downloads so that a re-run fetches
        only what it lacks; a server that goes away is waited for up to ``patience_s``;
        Cityscapes: the two archives, with credentials from CITYSCAPES_USERNAME /
        CITYSCAPES_PASSWORD, cached there too).
Writes  data/sampled/<domain>/{images,labels}/<id>.png + manifest.csv,
        metrics/fetch_<domain>.json (pool size and the quirks skipped).
Run     python -m stages.fetch <cityscapes|gta5>
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from tqdm import tqdm

from stylenorm import datasets, paths, remote, synthetic
from stylenorm.cli import run_stage
from stylenorm.config import ConfigError
from stylenorm.domains import DOMAINS
from stylenorm.io import atomic_dir, remove_outputs, write_json
from stylenorm.sampling import candidate_order, write_sample


def generate_synthetic(domain: str, root: Path, params) -> None:
    syn = params.data.synthetic
    with tqdm(total=syn.pool_size, desc=f"generate {domain}", unit="scene") as bar:
        if domain == "gta5":
            synthetic.write_gta5_tree(root, n=syn.pool_size, seed=params.base.data_seed, scale=syn.scale,
                                      missing_rate=syn.missing_id_rate, mismatch_rate=syn.label_size_mismatch_rate,
                                      workers=params.base.num_workers, progress=bar.update)
        else:
            synthetic.write_cityscapes_tree(root, n=syn.pool_size, seed=params.base.data_seed, scale=syn.scale,
                                            workers=params.base.num_workers, progress=bar.update)


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


def open_download(domain: str, source, bar) -> datasets.ZipTree:
    cache = remote.download_cache_dir() / domain
    if domain == "gta5":
        progress = DownloadBar(bar)
        return datasets.ZipTree(remote.gta5_archive_urls(source.base_url, source.archives),
                                opener=remote.RemoteOpener(cache, on_bytes=progress.on_bytes,
                                                           on_wait=progress.on_wait, patience_s=source.patience_s))
    try:
        return datasets.ZipTree(remote.download_cityscapes(cache, source.base_url))
    except PermissionError as err:
        raise ConfigError(f"data.cityscapes.source: download: {err}") from None


def fetch(domain: str, params) -> dict:
    source = params.data.domain(domain)
    out_dir, report_path = paths.sampled_dir(domain), paths.fetch_report_path(domain)
    remove_outputs(out_dir, report_path)
    bar = tqdm(desc=f"download {domain}", unit="B", unit_scale=True, unit_divisor=1024, disable=source.source != "download")
    with tempfile.TemporaryDirectory(prefix=f"stylenorm-{domain}-") as tmp:
        if source.source == "synthetic":
            generate_synthetic(domain, Path(tmp), params)
            tree = datasets.DirTree(Path(tmp), shown_as=f"synthetic:{domain}")
        elif source.source == "local":
            tree = datasets.open_tree(source.local_path)
        else:
            tree = open_download(domain, source, bar)
        inventory = datasets.find_pairs(domain, tree)
        candidates = candidate_order(inventory, params.data.n_per_domain, params.base.data_seed, domain)
        if source.source == "download":
            # One batch, so that neighbouring members travel in one range (blank images' replacements come later).
            tree.prefetch([rel for pair in candidates[: params.data.n_per_domain] for rel in (pair.image, pair.label)])
        workers = 1 if source.source == "download" else params.base.num_workers  # one HTTP stream, one progress bar
        with atomic_dir(out_dir) as tmp_out:
            manifest, blanks = write_sample(candidates, params.data.n_per_domain, tree, tmp_out, workers=workers,
                                            desc=f"fetch {domain}")
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
    run_stage(__doc__, fetch, ("domain", DOMAINS))

if __name__ == "__main__":
    main()
