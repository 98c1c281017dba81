"""Stage ``evaluate_oracle``: mIoU of a domain's oracle (trained on that domain alone) on both domains'
raw test images (and validation images, for tuning).

Reads   params ``base.device``, ``study.source``, ``study.target``, ``evaluate``; models/seg/oracle/<domain>/seed<seed>;
        raw test and val images of both domains of the study's pair; unified labels; split lists.
Writes  metrics/eval/oracle/<domain>-seed<seed>.json (test mIoU per set, named by domain: ``cityscapes``, ``gta5``),
        data/eval/oracle/<domain>/seed<seed>/ (as evaluate).
Run     python -m stages.evaluate_oracle <domain> <seed>
"""
from __future__ import annotations

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.evaluation import evaluate_cell
from stylenorm.protocols.base import oracle_test_sets


def evaluate_oracle(domain: str, seed: int, params) -> dict:
    pair = params.study.pair
    params.study.in_pair(domain)
    return evaluate_cell(paths.ORACLE, domain, seed, oracle_test_sets(pair, "test"), oracle_test_sets(pair, "val"), params)


def main() -> None:
    run_stage(__doc__, evaluate_oracle, ("domain", str), ("seed", int))

if __name__ == "__main__":
    main()
