"""Stage ``train_oracle``: the upper bound of a domain: a segmenter trained on that domain's own
training split alone (the row every domain-adaptation table ends with), once per training seed.

Reads   params ``base``, ``seg``; the config ``seg.config``; raw <domain> train and val images
        (data/sampled/<domain>), unified labels, split lists; nothing of the other domain.
Writes  models/seg/oracle/<domain>/seed<seed>/, models/seg_live/oracle/<domain>/seed<seed>/,
        models/seg_work/oracle/<domain>/seed<seed>/ (as train_seg; the domain's whatever the pair).
Run     python -m stages.train_oracle <domain> <seed>
"""
from __future__ import annotations

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.cells import train_cell
from stylenorm.protocols.base import as_sources, oracle_sets


def train_oracle(domain: str, seed: int, params) -> dict:
    model = train_cell(paths.ORACLE, domain, seed, as_sources(oracle_sets(domain, "train")),
                       as_sources(oracle_sets(domain, "val")), params)
    return {"model": model}


def main() -> None:
    run_stage(__doc__, train_oracle, ("domain", str), ("seed", int))

if __name__ == "__main__":
    main()
