"""``mixed``: the first study's protocol (Table 1). Segmenters train on the raw target domain + the
source domain after the row's normalizer (``study.target`` and ``study.source``: Cityscapes + GTA5
in the target's style; raw for ``identity``, the study's baseline) and are scored on raw target test
images and on source test images after the same normalizer, as the study scored its UNIT-mapped
model; ``average`` is the mean of the two."""
from __future__ import annotations

from stylenorm.protocols.base import Protocol, TestSet, normalized, raw, register


@register
class Mixed(Protocol):
    name = "mixed"
    # Table 1 (Cityscapes, GTA5, Average), shown when the study's pair is the first study's
    reported = {"identity": (0.48, 0.46, 0.47), "unit": (0.51, 0.41, 0.46)}
    reported_pair = ("gta5", "cityscapes")

    def __init__(self, cfg=None, labels=None, **kw):
        super().__init__(cfg, labels, **kw)
        source, target = self.pair
        self.pooled = (target, f"{source}_normalized")
        if self.pair != self.reported_pair:
            self.reported = {}

    def train_sets(self, normalizer: str, fit_seed: int, split: str) -> list[TestSet]:
        source, target = self.pair
        return [raw(target, split), normalized(normalizer, fit_seed, source, split, self.pair)]

    def test_sets(self, normalizer: str, fit_seed: int, split: str = "test", extra: bool = False) -> dict[str, TestSet]:
        source, target = self.pair
        sets = {target: raw(target, split), f"{source}_normalized": normalized(normalizer, fit_seed, source, split, self.pair)}
        if extra and normalizer != "identity":
            sets[f"{source}_raw"] = raw(source, split)
        return sets

    def columns(self) -> dict[str, str]:
        source, target = self.pair
        return {self.label(target): target, self.label(source): f"{source}_normalized", "Average": "average"}

    def extra_columns(self) -> dict[str, str]:
        source = self.pair[0]
        return {f"{self.label(source)} raw": f"{source}_raw"}

    def baseline_key(self, key: str) -> str:
        source = self.pair[0]
        return f"{source}_normalized" if key == f"{source}_raw" else key  # identity's source images are raw

    def title(self) -> str:
        s, t = (self.label(d) for d in self.pair)
        return f"Table 1 (protocol `mixed`): test mIoU (19 classes) of {t} + normalized {s} segmenters"

    def caption(self) -> str:
        s, t = (self.label(d) for d in self.pair)
        return (f"Columns: {t} = raw {t} test images; {s} = {s} test images after the row's "
                f"normalizer (as the study scored its UNIT-mapped model; raw for identity); Average = mean of "
                f"{t} and {s}")
