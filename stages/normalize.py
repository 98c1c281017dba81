"""Stage ``normalize``: every sampled image of one domain (train, val and test) in the style of the pair's other.

Both directions of the pair (``study.source``, ``study.target``) are written for every normalizer: the
source's (into the target's style: the ``mixed`` protocol and the literature's ``source_only``
direction; GTA5 into Cityscapes by default) and the target's (into the source's style: the second
study's direction). Learned translators are bidirectional (no new training);
training-free ones take their references from the other domain's training split.

Reads   params ``base.device``, ``base.num_workers``, ``study.source``, ``study.target``, ``<normalizer>.apply``;
        models/normalizers/<source>-<target>/<normalizer>/seed<seed>/; data/sampled/<domain>/images; the other
        domain's training split (the only images a training-free normalizer may use as references).
Writes  data/normalized/<source>-<target>/<normalizer>/seed<seed>/<domain>/images/<id>.png at each source's size
        (labels are untouched: data/unified/<domain> still applies);
        metrics/normalize/<normalizer>-seed<seed>-<domain>.json.
Run     python -m stages.normalize <normalizer> <seed> <domain>
"""
from __future__ import annotations

from stylenorm import components, paths
from stylenorm.cli import run_stage
from stylenorm.io import atomic_dir, remove_outputs, write_json
from stylenorm.sampling import read_manifest
from stylenorm.study import normalizer_context


def normalize(name: str, seed: int, domain: str, params) -> dict:
    params.study.in_pair(domain)
    normalizer = params.normalizer(name).build()
    ctx = normalizer_context(name, seed, params, source_domain=domain)
    ids = read_manifest(paths.sampled_dir(domain)).id
    out_dir, report_path = paths.normalized_dir(name, params.study.pair, seed, domain), paths.normalize_report_path(name, seed, domain)
    remove_outputs(out_dir, report_path)
    with atomic_dir(out_dir) as tmp:
        images = tmp / paths.IMAGES
        images.mkdir(parents=True)
        report = normalizer.apply(ctx, paths.fit_dir(name, params.study.pair, seed),
                                  [paths.sampled_dir(domain) / paths.IMAGES / f"{i}.png" for i in ids],
                                  [images / f"{i}.png" for i in ids])
    write_json(report_path, {"normalizer": name, "seed": seed, "domain": domain, "target": ctx.target_domain, **report})
    return report


def main() -> None:
    run_stage(__doc__, normalize, ("normalizer", str), ("seed", int), ("domain", str), load=components.load_params)

if __name__ == "__main__":
    main()
