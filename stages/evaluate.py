"""Stage ``evaluate``: mIoU of one cell's segmenter on its protocol's test sets (and on the same
sets' validation splits, for tuning).

Reads   params ``base.device``, ``study.fit_seeds``, ``study.source``, ``study.target``, ``evaluate``, ``<protocol>``,
        ``<normalizer>.apply``;
        models/seg/<protocol>/<normalizer>/seed<seed>; the protocol's test and val images, raw or
        normalized (``mixed``: the raw target, the normalized source and, with evaluate.source_raw, the raw source;
        ``source_only``: raw target and raw source); unified labels; split lists.
Writes  metrics/eval/<protocol>/<normalizer>-seed<seed>.json (test mIoU per set, with ``mixed``
        pooled and average too; per-class IoU; pixel accuracy; ``val``: the same on the validation
        split), data/eval/<protocol>/<normalizer>/seed<seed>/ (confusion matrices, per-image
        intersections and unions, a few colourised predictions).
Run     python -m stages.evaluate <protocol> <normalizer> <seed>
"""
from __future__ import annotations

from stylenorm import components
from stylenorm.cli import run_stage
from stylenorm.evaluation import evaluate_cell


def evaluate(protocol_name: str, name: str, seed: int, params) -> dict:
    protocol = params.protocol(protocol_name)
    if name not in params.normalizers:
        params.normalizer(name)  # the error naming the known sections
    fit_seed = params.study.fit_seed(seed)
    # Images deliberately left at the network's size may be scored by resizing the prediction; anything
    # else whose prediction misses its label's size is a misalignment, and an error.
    # (read from the raw section: loading the normalizer's module here would make every evaluation
    # depend on its code, which only fit and normalize run)
    resize = (params.normalizers[name].get("apply") or {}).get("upsample") == "none"
    return evaluate_cell(protocol_name, name, seed, protocol.test_sets(name, fit_seed, extra=params.evaluate.source_raw),
                         protocol.test_sets(name, fit_seed, split="val"), params, pooled=protocol.pooled,
                         resize_predictions=resize)


def main() -> None:
    run_stage(__doc__, evaluate, ("protocol", str), ("normalizer", str), ("seed", int), load=components.load_params)

if __name__ == "__main__":
    main()
