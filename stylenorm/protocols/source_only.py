"""``source_only``: the second study's protocol. Segmenters train on the labelled *source* domain
only, raw (``identity``: source-only) or after the row's normalizer (source in the target's style),
and are scored on the *target* domain's raw test images, and on the source's raw test images for
reference. No target image or label is ever trained on (their validation loss, too, is on source
images); the target-trained upper bound is the ``oracle`` row (``study.oracles``).

The second study's direction is Cityscapes -> GTA5; the literature's usual one GTA5 -> Cityscapes."""
from __future__ import annotations

from dataclasses import dataclass

from stylenorm import domains
from stylenorm.protocols.base import Protocol, TestSet, normalized, raw, register


@dataclass(frozen=True)
class Direction:
    source: str  # labelled training domain [study.source | study.target]
    target: str  # scored domain, never trained on: the pair's other domain

    def __post_init__(self):
        for key in ("source", "target"):
            if getattr(self, key) not in domains.available():
                raise ValueError(f"{key}: {getattr(self, key)!r} is no domain (one of {', '.join(domains.available())})")


@register
class SourceOnly(Protocol):
    name = "source_only"
    Params = Direction

    def __init__(self, cfg: Direction, labels=None, **kw):
        if cfg.source == cfg.target:
            raise ValueError(f"source_only: source and target are both {cfg.source!r}")
        super().__init__(cfg, labels, **kw)
        if {cfg.source, cfg.target} != set(self.pair):
            raise ValueError(f"source and target ({cfg.source}, {cfg.target}) must be the study's pair "
                             f"(study.source {self.pair[0]}, study.target {self.pair[1]}), either way round")

    def train_sets(self, normalizer: str, fit_seed: int, split: str) -> list[TestSet]:
        return [normalized(normalizer, fit_seed, self.cfg.source, split, self.pair)]

    def test_sets(self, normalizer: str, fit_seed: int, split: str = "test", extra: bool = False) -> dict[str, TestSet]:
        return {self.cfg.target: raw(self.cfg.target, split), self.cfg.source: raw(self.cfg.source, split)}

    def columns(self) -> dict[str, str]:
        return {f"{self.label(self.cfg.target)} (target)": self.cfg.target,
                f"{self.label(self.cfg.source)} (source)": self.cfg.source}

    def oracle_domain(self) -> str | None:
        return self.cfg.target

    def title(self) -> str:
        s, t = self.label(self.cfg.source), self.label(self.cfg.target)
        return f"Protocol `source_only` ({s} -> {t}): test mIoU (19 classes) of segmenters trained on {s} only"

    def caption(self) -> str:
        s, t = self.label(self.cfg.source), self.label(self.cfg.target)
        return (f"Rows: identity = {s} images as they are (source-only); a normalizer = {s} images in the {t} "
                f"style; oracle = trained on {t}'s own training split (the upper bound). Columns: raw {t} test "
                f"images (the target), raw {s} test images (the source, for reference). Both domains are scored "
                f"in the 19 Cityscapes train classes, the label space of both source studies (the second "
                f"mapped GTA5's labels by their colours, as unify_labels does for colour-coded labels)")
