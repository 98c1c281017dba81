"""The label space: Cityscapes' 34 label ids and their 19 train ids.

Every table here is derived from ``cityscapesscripts.helpers.labels``, the
reference definition, never typed by hand. Three encodings of a label map are
mapped to train ids (255 = ignore):

* ``ids``     -- grayscale ``*_gtFine_labelIds.png``: the pixel value is the label id.
* ``palette`` -- GTA5's palette PNGs: the palette *index* is the Cityscapes label id.
* ``rgb``     -- colour-coded maps (``*_gtFine_color.png``; some GTA5 copies): the
  exact Cityscapes colour. Colours shared by several labels map to the one label
  that is evaluated: (0, 0, 142) is ``car`` (not ``license plate``) and
  (153, 153, 153) is ``pole`` (not ``polegroup``).
"""
from __future__ import annotations

import io

import numpy as np
from cityscapesscripts.helpers.labels import labels as _CS_LABELS
from PIL import Image, UnidentifiedImageError

from stylenorm.datasets import DatasetError

IGNORE_INDEX = 255
UNKNOWN = 254  # lookup-table marker for a value outside the table (never a train id)
NUM_CLASSES = 19

# Labels with a real id (license plate has id -1 and exists only in instance annotations).
LABELS = tuple(label for label in _CS_LABELS if label.id >= 0)
NUM_LABEL_IDS = max(label.id for label in LABELS) + 1  # 34

_TRAIN = sorted((label for label in LABELS if 0 <= label.trainId < IGNORE_INDEX), key=lambda label: label.trainId)
CLASSES = tuple(label.name for label in _TRAIN)  # 19 names, index = train id
PALETTE = tuple(tuple(label.color) for label in _TRAIN)  # 19 RGB colours, index = train id
assert len(CLASSES) == NUM_CLASSES and [label.trainId for label in _TRAIN] == list(range(NUM_CLASSES))

LABEL_ID = {label.name: label.id for label in LABELS}  # e.g. LABEL_ID["road"] == 7
TRAIN_ID = {label.name: (label.trainId if 0 <= label.trainId < IGNORE_INDEX else IGNORE_INDEX) for label in LABELS}
COLOR_OF_ID = {label.id: tuple(label.color) for label in LABELS}


def id_to_train_id_lut(unknown: int | None = None) -> np.ndarray:
    """A 256-entry lookup table from label id (or palette index) to train id.

    Entries outside the Cityscapes table hold ``unknown``; ``None`` marks them
    with ``UNKNOWN`` so that the caller can report them.
    """
    lut = np.full(256, UNKNOWN if unknown is None else unknown, dtype=np.uint8)
    for label in LABELS:
        lut[label.id] = TRAIN_ID[label.name]
    return lut


def colour_table() -> dict[tuple[int, int, int], int]:
    """Exact Cityscapes colour -> train id, resolving shared colours as the module says."""
    by_colour: dict[tuple[int, int, int], set[int]] = {}
    for label in LABELS:
        by_colour.setdefault(tuple(label.color), set()).add(TRAIN_ID[label.name])
    table = {}
    for colour, train_ids in by_colour.items():
        evaluated = train_ids - {IGNORE_INDEX}
        if len(evaluated) > 1:  # would make the colour encoding ambiguous; not the case for Cityscapes
            raise ValueError(f"colour {colour} is shared by train ids {sorted(evaluated)}")
        table[colour] = evaluated.pop() if evaluated else IGNORE_INDEX
    return table


def colour_to_train_id_lut(unknown: int | None = None) -> np.ndarray:
    """A 2**24-entry lookup table indexed by ``(r << 16) | (g << 8) | b`` (``UNKNOWN`` or ``unknown`` elsewhere)."""
    lut = np.full(1 << 24, UNKNOWN if unknown is None else unknown, dtype=np.uint8)
    for (r, g, b), train_id in colour_table().items():
        lut[(r << 16) | (g << 8) | b] = train_id
    return lut


def cityscapes_palette_bytes() -> list[int]:
    """A flat 768-value PIL palette: index = label id, colour = its Cityscapes colour (as GTA5 ships it)."""
    flat = [0] * 768
    for label_id, colour in COLOR_OF_ID.items():
        flat[3 * label_id : 3 * label_id + 3] = colour
    return flat


def train_id_palette_bytes() -> list[int]:
    """A flat 768-value PIL palette for train-id maps (ignore is black), for viewing unified labels."""
    flat = [0] * 768
    for train_id, colour in enumerate(PALETTE):
        flat[3 * train_id : 3 * train_id + 3] = colour
    return flat


# ----------------------------------------------------------------------------- decoding
_ID_LUT = id_to_train_id_lut(None)  # values outside the table -> UNKNOWN, reported or set to 255
_COLOUR_LUT: list[np.ndarray] = []  # 16 MiB, built on first use per process


def _colour_lut() -> np.ndarray:
    if not _COLOUR_LUT:
        _COLOUR_LUT.append(colour_to_train_id_lut(None))
    return _COLOUR_LUT[0]


def decode_label(data: bytes, origin: str, unknown_to_ignore: bool = False) -> tuple[np.ndarray, str, dict[str, int]]:
    """(train ids H x W uint8, encoding name, {value outside the table: pixels set to 255}) of one label file."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DatasetError(f"{origin}: not a readable label image ({err})") from None
    if img.mode in ("P", "L", "I", "I;16"):
        values = np.asarray(img)
        encoding = "palette" if img.mode == "P" else "ids"
        if values.dtype != np.uint8:
            if values.min() < 0 or values.max() > 255:
                bad = np.unique(values[(values < 0) | (values > 255)])[:10].tolist()
                raise DatasetError(f"{origin}: label ids outside the Cityscapes table: {bad}")
            values = values.astype(np.uint8)
        mapped = np.take(_ID_LUT, values)
    elif img.mode in ("RGB", "RGBA"):
        rgb = np.asarray(img.convert("RGB") if img.mode == "RGBA" else img).astype(np.int32)
        key = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        mapped = np.take(_colour_lut(), key)
        encoding, values = "rgb", key
    else:
        raise DatasetError(f"{origin}: unsupported label PNG mode {img.mode!r} (expected P, L, I or RGB)")
    if encoding == "rgb":
        what, show = "colours", lambda v: ((v >> 16) & 255, (v >> 8) & 255, v & 255)
    else:
        what, show = ("ids" if encoding == "ids" else "palette indices"), None
    mapped, unknown = map_unknown(mapped, values, origin, unknown_to_ignore, f"{what} outside the Cityscapes table", show)
    return mapped, encoding, unknown


def map_unknown(mapped: np.ndarray, values: np.ndarray, origin: str, unknown_to_ignore: bool, what: str,
                show=None) -> tuple[np.ndarray, dict[str, int]]:
    """Train ids ``mapped`` from a label's raw ``values`` by a lookup table whose misses are ``UNKNOWN``, and
    {missed value: its pixels}: every domain's decoder ends here. A miss is an error naming the file and the
    first values (``what`` they are, e.g. "ids outside the Cityscapes table"; ``show``: how to print one),
    or with ``unknown_to_ignore`` those pixels become 255."""
    unknown = mapped == UNKNOWN
    if not unknown.any():
        return mapped, {}
    bad, pixels = np.unique(values[unknown], return_counts=True)
    shown = [show(int(v)) if show else int(v) for v in bad]
    if not unknown_to_ignore:
        raise DatasetError(f"{origin}: {what}: {shown[:10]} (set unify_labels.unknown_to_ignore: true to map them to 255)")
    mapped[unknown] = IGNORE_INDEX
    return mapped, {str(v): int(n) for v, n in zip(shown, pixels)}
