"""The normalizer contract and its registry.

A *normalizer* maps images of one domain into another domain's style. Learned ones (UNIT,
CycleGAN) train in ``fit``; training-free ones (identity, FDA, histogram matching, Reinhard)
have an empty ``fit`` and do their work in ``apply``. Each is one package whose class subclasses
``Normalizer`` and registers itself with ``@register``; shared code asks the registry by name
(``stylenorm.normalizers.get("unit")``), the way MMSeg builds a dataset from its registered name.

A normalizer's params.yaml section has two subsections, ``fit`` and ``apply``, loaded into the
class's ``Fit`` and ``Apply`` dataclasses (strictly: unknown keys and wrong types fail by name).
They are separate so that DVC re-runs only the apply step when an apply value changes.

Stages (see dvc.yaml):
    fit@<name>-<seed>        Normalizer.fit(ctx, out_dir)                 -> models/normalizers/<source>-<target>/<name>/seed<seed>/
    normalize@<name>-<seed>  Normalizer.apply(ctx, fit_dir, sources, dests) -> data/normalized/<source>-<target>/<name>/seed<seed>/<domain>/images/
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from stylenorm.components import NORMALIZERS as REGISTRY
from stylenorm.config import NoParams  # an empty ``fit:`` or ``apply:`` subsection (``{}`` in params.yaml)


@dataclass(frozen=True)
class Context:
    """What a normalizer is told about the study. Only *training*-split images are ever given as
    references or training data: validation and test images never leak into a normalizer."""

    source_domain: str  # the domain whose images are mapped (e.g. gta5)
    target_domain: str  # the domain whose style they take (e.g. cityscapes)
    seed: int  # the normalizer's seed: every random draw of fit and apply derives from it
    train_images: dict[str, list[Path]] = field(default_factory=dict)  # domain -> training-split image paths
    device: str = "cpu"  # [auto | cpu | cuda]
    num_workers: int = 1  # processes a normalizer may use for per-image work
    work_dir: Path | None = None  # fit: a folder kept between runs (resume points, logs in progress)
    pair: tuple[str, ...] = ()  # the study's (source, target) whichever way this maps: a translator's A and B


class Normalizer:
    """Base class. Subclasses set ``name``, ``display_name``, ``learned``, ``Fit`` and ``Apply`` and implement ``apply``
    (and ``fit`` when learned). ``self.fit_cfg`` / ``self.apply_cfg`` hold the loaded subsections."""

    name: ClassVar[str]
    display_name: ClassVar[str | None] = None  # the report's row label; None: the name
    learned: ClassVar[bool] = False
    Fit: ClassVar[type] = NoParams
    Apply: ClassVar[type] = NoParams

    def __init__(self, fit_cfg: Any, apply_cfg: Any):
        self.fit_cfg, self.apply_cfg = fit_cfg, apply_cfg

    def fit(self, ctx: Context, out_dir: Path) -> dict:
        """Write into ``out_dir`` (an empty, existing folder) whatever ``apply`` needs; return a
        JSON-able summary. Training-free normalizers need nothing: the default writes nothing."""
        return {}

    def apply(self, ctx: Context, fit_dir: Path, sources: list[Path], dests: list[Path]) -> dict:
        """Write each ``sources[i]`` (RGB PNG of ``ctx.source_domain``), in ``ctx.target_domain``'s
        style and at the source's own size, to ``dests[i]`` (PNG; parent folders exist). Returns a
        JSON-able summary (e.g. images, seconds, images_per_second)."""
        raise NotImplementedError

    def resolved(self) -> dict:
        return {"name": self.name, "fit": dataclasses.asdict(self.fit_cfg), "apply": dataclasses.asdict(self.apply_cfg)}


def register(cls: type[Normalizer]) -> type[Normalizer]:
    """Class decorator: make ``cls`` buildable by its ``name``."""
    return REGISTRY.register(cls)
