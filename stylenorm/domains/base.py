"""The domain contract and its registry.

A *domain* is one dataset of street scenes in its native form: where its files lie and how an image
finds its label (``find_pairs``), how a label file encodes classes (``decode_label``, to the 19
Cityscapes train ids, 255 = ignore), its native size and display name, the class subsets the
literature scores it on, how the embedded default writes it (``write_synthetic``, from the shared
scene model in ``stylenorm.synthetic``) and how it is downloaded (``open_download``). Its params
section ``data.<name>`` loads into its ``Params`` dataclass (``Source`` or a subclass).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal

import numpy as np

from stylenorm import labels
from stylenorm.config import ConfigError, from_dict
from stylenorm.datasets import Inventory
from stylenorm.domains import REGISTRY


@dataclass(frozen=True)
class Source:
    """Where a domain's data comes from: the ``data.<domain>`` section."""
    source: Literal["synthetic", "local", "download"]  # embedded data, a copy on disk, or the official server
    local_path: str  # with `local`: the extracted tree, one zip, or a folder of the original zips

    def __post_init__(self):
        if self.source == "local" and not self.local_path:
            raise ValueError("local_path: required when source is local")


class Domain:
    """Base class. Subclasses set the class attributes and implement ``find_pairs`` and
    ``write_synthetic`` (and ``open_download`` where a download exists); ``self.cfg`` holds the
    loaded ``data.<name>`` section."""

    name: ClassVar[str]
    display_name: ClassVar[str]  # in table titles and column names
    native_size: ClassVar[tuple[int, int]]  # (width, height) of the real dataset's images
    # RNG stream of this domain's draws: the sample is drawn with [base.data_seed, stream], the
    # train/val/test split with [base.data_seed, stream + 10]. Distinct per domain, except where two
    # domains hold the same frames and must be sampled and split alike.
    stream: ClassVar[int]
    # Class subsets it is also scored on beyond the 19 (name -> Cityscapes train class names), e.g.
    # SYNTHIA's 16 and 13 classes.
    class_subsets: ClassVar[dict[str, tuple[str, ...]]] = {}
    Params: ClassVar[type] = Source

    def __init__(self, cfg: Any):
        self.cfg = cfg

    @classmethod
    def from_params(cls, params) -> "Domain":
        """This domain with its ``data.<name>`` section loaded; a bad or missing key is a clear error."""
        key = f"data.{cls.name}"
        raw = params.data.domains.get(cls.name)
        if raw is None:
            raise ConfigError(f"{key}: missing (every domain in study.domains needs its data section)")
        try:
            return cls(from_dict(cls.Params, raw, key))
        except ValueError as err:
            if isinstance(err, ConfigError):
                raise
            field, sep, rest = str(err).partition(": ")  # a check names its field: "archives: must be ..."
            named = sep and field in {f.name for f in dataclasses.fields(cls.Params)}
            raise ConfigError(f"{key}.{field}: {rest}" if named else f"{key}: {err}") from None

    def find_pairs(self, tree) -> Inventory:
        """The image/label pairs of a tree in this domain's native layout, and the quirks skipped."""
        raise NotImplementedError

    def decode_label(self, data: bytes, origin: str, unknown_to_ignore: bool = False) -> tuple[np.ndarray, str, dict[str, int]]:
        """(train ids H x W uint8, encoding name, {value outside the table: pixels set to 255}) of one
        label file; by default the Cityscapes encodings (label ids, GTA5's palette, colours)."""
        return labels.decode_label(data, origin, unknown_to_ignore)

    def write_synthetic(self, root: Path, *, n: int, seed: int, synthetic, workers: int = 1,
                        progress: Callable[[int], None] | None = None) -> int:
        """Write the embedded default's pool of ``n`` scenes under ``root`` in the native layout;
        ``synthetic`` is the ``data.synthetic`` section. Returns the pairs written."""
        raise NotImplementedError

    def open_download(self, cache: Path, on_bytes: Callable[[int], None], on_wait: Callable[[str], None]):
        """A tree over the official data (downloading into ``cache`` what it needs)."""
        raise ConfigError(f"data.{self.name}.source: download is not offered for {self.display_name} "
                          "(use local with local_path)")


def register(cls: type[Domain]) -> type[Domain]:
    """Class decorator: make ``cls`` buildable by its ``name``."""
    return REGISTRY.register(cls)

