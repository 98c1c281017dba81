"""Stage ``fcn_score``: translation quality, the FCN score of one normalizer in one direction: the
oracle of ``target`` (trained on that domain alone, segmenter seed ``seed``) segments the other
domain's test images after ``normalizer``, scored against that domain's labels; ``identity`` (raw
images) is the floor. Runs only for the domains in ``study.oracles`` (dvc.yaml's matrix is empty
otherwise).

Reads   params ``base.device``, ``study.fit_seeds``, ``study.source``, ``study.target``, ``<normalizer>.apply``;
        models/seg/oracle/<target>/seed<seed>; data/normalized/<source>-<target>/<normalizer>/seed<f>/<source>/images
        (f: the fit seed segmenter seed ``seed`` uses); the source's unified labels and test list.
Writes  metrics/eval/fcn/<target>/<normalizer>-seed<seed>.json (mIoU, pixel accuracy, per-class IoU),
        data/eval/fcn/<target>/<normalizer>/seed<seed>/ (confusion matrix, per-image intersections and unions).
Run     python -m stages.fcn_score <normalizer> <target> <seed>
"""
from __future__ import annotations

from stylenorm import components
from stylenorm.cli import run_stage
from stylenorm.fcn import fcn_score_cell
from stylenorm.study import other_domain


def fcn_score(name: str, target: str, seed: int, params) -> dict:
    if name not in params.normalizers:
        params.normalizer(name)  # the error naming the known sections
    # As evaluate: a normalizer that leaves images at the network's size is scored by resizing the prediction.
    resize = (params.normalizers[name].get("apply") or {}).get("upsample") == "none"
    source = other_domain(params.study.in_pair(target), params.study.pair)
    return fcn_score_cell(name, params.study.fit_seed(seed), source, target, seed, params,
                          resize_predictions=resize)


def main() -> None:
    run_stage(__doc__, fcn_score, ("normalizer", str), ("target", str), ("seed", int), load=components.load_params)

if __name__ == "__main__":
    main()
