"""The protocol contract and its registry.

A *protocol* says what each cell of the grid trains its segmenter on and what it is scored on.
The grid is protocols x normalizers x seeds (``study.protocols``, ``study.normalizers``,
``study.seeds``); a normalizer enters a protocol only through the images it writes
(``data/normalized/<source>-<target>/<normalizer>/seed<s>/<domain>``), and ``identity`` (raw images, copied) is every
protocol's baseline row. A protocol named ``x`` is ``stylenorm/protocols/x.py`` registering a
``Protocol`` subclass with ``@register``, a params.yaml section ``x:`` (loaded strictly into its
``Params`` dataclass) and an entry in ``study.protocols``.

A protocol is told the study's domain pair (``study.source``, ``study.target``; GTA5 and Cityscapes by
default) as ``self.pair``. Test sets are named by the images they hold, so a metrics key never changes
meaning with a parameter: ``<domain>`` (``cityscapes``, ``gta5``) is a domain's raw test images,
``<source>_normalized`` the source's after the cell's normalizer.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

from stylenorm import paths
from stylenorm.components import PROTOCOLS as REGISTRY
from stylenorm.config import NoParams


DEFAULT_PAIR = ("gta5", "cityscapes")  # params.yaml's study.source / study.target: a protocol built outside a stage


@dataclass(frozen=True)
class TestSet:
    domain: str  # whose labels and split list
    split: str  # [test | val]
    images_dir: Path  # where its images are read from


def image_source(domain: str, split: str, images_dir: Path) -> dict:
    """One entry of a segmentation dataset's ``sources``: a split list and where its images are read from."""
    return dict(domain=domain, split=split, images=Path(images_dir).as_posix())


def raw(domain: str, split: str) -> TestSet:
    """A domain's split as sampled (untouched images)."""
    return TestSet(domain, split, paths.sampled_dir(domain) / paths.IMAGES)


def normalized(normalizer: str, fit_seed: int, domain: str, split: str, pair: tuple[str, str]) -> TestSet:
    """A domain's split after ``normalizer`` (fitted on ``pair``, fit seed ``fit_seed``), in the pair's other
    domain's style."""
    return TestSet(domain, split, paths.normalized_dir(normalizer, pair, fit_seed, domain) / paths.IMAGES)


def oracle_sets(domain: str, split: str) -> list[TestSet]:
    """What the oracle of ``domain`` trains on: that domain's own raw images, nothing else."""
    return [raw(domain, split)]


def oracle_test_sets(pair: tuple[str, str], split: str = "test") -> dict[str, TestSet]:
    """Every oracle is scored on both domains' raw test images, target first (named by domain, as the
    ``source_only`` protocol's sets, so its table can show the oracle as a row)."""
    source, target = pair
    return {d: raw(d, split) for d in (target, source)}


def as_sources(sets: list[TestSet]) -> list[dict]:
    return [image_source(s.domain, s.split, s.images_dir) for s in sets]


class Protocol:
    """Base class. Subclasses set ``name`` and (optionally) ``Params``, and implement
    ``train_sets``, ``test_sets`` and ``columns``; ``self.cfg`` holds the loaded params section.
    ``labels`` (domain -> display name, given by the report, which imports the domain modules) name
    the domains in titles and columns; without them a domain shows as its name. ``pair``: the study's
    (source, target)."""

    name: ClassVar[str]
    Params: ClassVar[type] = NoParams
    # Sets whose confusion matrices add up into ``pooled`` and whose mIoU mean is ``average``.
    pooled: ClassVar[tuple[str, ...]] = ()
    # Reported values of a source study: row -> one value per column of ``columns()``.
    reported: ClassVar[dict[str, tuple[float, ...]]] = {}

    def __init__(self, cfg: Any = None, labels: Mapping[str, str] | None = None, pair: tuple[str, str] = DEFAULT_PAIR):
        self.cfg = cfg if cfg is not None else self.Params()
        self.labels = dict(labels or {})
        self.pair = tuple(pair)

    def label(self, domain: str) -> str:
        return self.labels.get(domain, domain)

    def train_sets(self, normalizer: str, fit_seed: int, split: str) -> list[TestSet]:
        """What a segmenter of ``normalizer``'s row trains on (``split="train"``) and computes its
        validation loss on (``"val"``): image folders and split lists."""
        raise NotImplementedError

    def test_sets(self, normalizer: str, fit_seed: int, split: str = "test", extra: bool = False) -> dict[str, TestSet]:
        """The sets a cell is scored on, by name; ``extra``: the optional ones too (``evaluate.source_raw``)."""
        raise NotImplementedError

    def columns(self) -> dict[str, str]:
        """Table column -> metrics key (a test set, ``pooled`` or ``average``), in display order."""
        raise NotImplementedError

    def extra_columns(self) -> dict[str, str]:
        """Columns shown only when every non-baseline cell has them (``extra`` sets)."""
        return {}

    def baseline_key(self, key: str) -> str:
        """The identity row's metrics key a row's ``key`` is paired with (the same, unless identity
        has no such set)."""
        return key

    def oracle_domain(self) -> str | None:
        """The domain whose target-trained upper bound (``train_oracle@<domain>-<seed>``) this
        protocol's table shows as its last row, if any."""
        return None

    def title(self) -> str:
        raise NotImplementedError

    def caption(self) -> str:
        """What the columns hold, one sentence."""
        raise NotImplementedError

    def train_sources(self, normalizer: str, fit_seed: int, split: str) -> list[dict]:
        return as_sources(self.train_sets(normalizer, fit_seed, split))

    def resolved(self) -> dict:
        return {"name": self.name, **dataclasses.asdict(self.cfg)}


def register(cls: type[Protocol]) -> type[Protocol]:
    """Class decorator: make ``cls`` buildable by its ``name``."""
    return REGISTRY.register(cls)
