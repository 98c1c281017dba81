"""Stage ``normalize``: every sampled GTA5 image (train, val and test) in the Cityscapes style.

Reads   params ``base.device``, ``base.num_workers``, ``<normalizer>.apply``;
        models/normalizers/<normalizer>/seed<seed>/; data/sampled/gta5/images; the Cityscapes
        training split (the only target images a training-free normalizer may use as references).
Writes  data/normalized/<normalizer>/seed<seed>/gta5/images/<id>.png at each source's size (labels
        are untouched: data/unified/gta5 still applies); metrics/normalize/<normalizer>-seed<seed>.json.
Run     python -m stages.normalize <normalizer> <seed>
"""
from __future__ import annotations

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.io import atomic_dir, remove_outputs, write_json
from stylenorm.sampling import read_manifest
from stylenorm.study import normalizer_context


def normalize(name: str, seed: int, params) -> dict:
    normalizer = params.normalizer(name).build()
    ctx = normalizer_context(name, seed, params)
    domain = ctx.source_domain
    ids = read_manifest(paths.sampled_dir(domain)).id
    out_root, report_path = paths.normalized_root(name, seed), paths.normalize_report_path(name, seed)
    remove_outputs(out_root, report_path)
    with atomic_dir(out_root) as tmp:
        images = tmp / domain / paths.IMAGES
        images.mkdir(parents=True)
        report = normalizer.apply(ctx, paths.fit_dir(name, seed),
                                  [paths.sampled_dir(domain) / paths.IMAGES / f"{i}.png" for i in ids],
                                  [images / f"{i}.png" for i in ids])
    write_json(report_path, {"normalizer": name, "seed": seed, "domain": domain, **report})
    return report


def main() -> None:
    run_stage(__doc__, normalize, ("normalizer", str), ("seed", int))

if __name__ == "__main__":
    main()
