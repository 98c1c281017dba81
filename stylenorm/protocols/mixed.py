"""``mixed``: the first study's protocol (Table 1). Segmenters train on raw Cityscapes + GTA5
after the row's normalizer (GTA5 into the Cityscapes style; raw for ``identity``, the study's
baseline) and are scored on raw Cityscapes test images and on GTA5 test images after the same
normalizer, as the study scored its UNIT-mapped model; ``average`` is the mean of the two."""
from __future__ import annotations

from stylenorm.protocols.base import Protocol, TestSet, normalized, raw, register


@register
class Mixed(Protocol):
    name = "mixed"
    pooled = ("cityscapes", "gta5_normalized")
    reported = {"identity": (0.48, 0.46, 0.47), "unit": (0.51, 0.41, 0.46)}  # Table 1 (Cityscapes, GTA5, Average)

    def train_sets(self, normalizer: str, fit_seed: int, split: str) -> list[TestSet]:
        return [raw("cityscapes", split), normalized(normalizer, fit_seed, "gta5", split)]

    def test_sets(self, normalizer: str, fit_seed: int, split: str = "test", extra: bool = False) -> dict[str, TestSet]:
        sets = {"cityscapes": raw("cityscapes", split), "gta5_normalized": normalized(normalizer, fit_seed, "gta5", split)}
        if extra and normalizer != "identity":
            sets["gta5_raw"] = raw("gta5", split)
        return sets

    def columns(self) -> dict[str, str]:
        return {self.label("cityscapes"): "cityscapes", self.label("gta5"): "gta5_normalized", "Average": "average"}

    def extra_columns(self) -> dict[str, str]:
        return {f"{self.label('gta5')} raw": "gta5_raw"}

    def baseline_key(self, key: str) -> str:
        return "gta5_normalized" if key == "gta5_raw" else key  # identity's GTA5 images are raw

    def title(self) -> str:
        return "Table 1 (protocol `mixed`): test mIoU (19 classes) of Cityscapes + normalized GTA5 segmenters"

    def caption(self) -> str:
        return ("Columns: Cityscapes = raw Cityscapes test images; GTA5 = GTA5 test images after the row's "
                "normalizer (as the study scored its UNIT-mapped model; raw for identity); Average = mean of "
                "Cityscapes and GTA5")
