"""``identity``: raw images, unchanged (the study's *baseline* row). Apply copies the bytes."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from stylenorm.normalizers.base import Context, Normalizer, register


@register
class Identity(Normalizer):
    name = "identity"
    display_name = "identity (raw; the study's baseline)"

    def apply(self, ctx: Context, fit_dir: Path, sources: list[Path], dests: list[Path]) -> dict:
        start = time.perf_counter()
        for src, dest in zip(sources, dests):
            shutil.copyfile(src, dest)
        return {"images": len(sources), "seconds": round(time.perf_counter() - start, 2)}
