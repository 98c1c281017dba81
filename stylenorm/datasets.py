"""Reading a dataset in its native layout, from a directory or the original zips.

A *tree* is a read-only view of relative POSIX paths -> bytes. ``open_tree``
returns one for an extracted dataset directory, a single zip, or a directory of
the original archives (members are read straight from the zips, never extracted
whole). Each domain module (``stylenorm/domains/``) finds its image/label pairs in
a tree (``Domain.find_pairs``) as an ``Inventory``.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path


class DatasetError(ValueError):
    """The dataset on disk is not what its layout promises."""


class DirTree:
    """Files under ``root``. ``shown_as`` replaces the root in origins (manifests), e.g. for a
    temporary folder whose random name would otherwise make every run's manifest differ."""

    def __init__(self, root: Path, shown_as: str | None = None):
        self.root = Path(root)
        self.shown_as = shown_as

    def list(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def origin(self, rel: str) -> str:
        return f"{self.shown_as}/{rel}" if self.shown_as else str(self.root / rel)


def _open_local(archive) -> object:
    return open(archive, "rb")


class ZipTree:
    """Members of one or more zip archives, merged into one namespace.

    ``opener(archive)`` returns a binary file for an archive (a local file by default), or an
    archive object with ``infolist()``, ``read(name)`` and ``prefetch(names)`` such as
    ``stylenorm.remote.RemoteZip``, through which only the central directory and the members
    read travel over the network. Each member's CRC-32 is checked as it is read.
    """

    def __init__(self, archives: list, opener=_open_local):
        self.archives, self.opener = list(archives), opener
        self._where: dict[str, object] = {}
        self._open: dict[object, object] = {}
        for archive in self.archives:
            zf = self._archive(archive)
            for info in zf.infolist():
                if not info.is_dir():
                    self._where[info.filename] = archive

    def _archive(self, archive):
        if archive not in self._open:
            try:
                handle = self.opener(archive)
                self._open[archive] = handle if hasattr(handle, "infolist") else zipfile.ZipFile(handle)
            except zipfile.BadZipFile as err:
                raise DatasetError(f"{archive}: not a readable zip archive ({err})") from None
            except OSError as err:  # unreadable file, or a server that stayed away (the message says which)
                raise DatasetError(f"{archive}: {err}" if str(archive) not in str(err) else str(err)) from None
        return self._open[archive]

    def __getstate__(self):  # picklable for worker processes: reopen archives lazily there
        return {"archives": self.archives, "opener": self.opener, "_where": self._where, "_open": {}}

    def list(self) -> list[str]:
        return sorted(self._where)

    def read(self, rel: str) -> bytes:
        archive = self._where[rel]
        try:
            return self._archive(archive).read(rel)  # raises on a CRC mismatch
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise DatasetError(f"{archive}::{rel}: {err}") from None

    def prefetch(self, rels) -> None:
        """Tell archives that batch their requests which members will be read (a no-op for local zips)."""
        by_archive: dict[object, list[str]] = {}
        for rel in rels:
            by_archive.setdefault(self._where[rel], []).append(rel)
        for archive, names in by_archive.items():
            zf = self._archive(archive)
            if hasattr(zf, "prefetch"):
                try:
                    zf.prefetch(names)
                except OSError as err:
                    raise DatasetError(str(err) if str(archive) in str(err) else f"{archive}: {err}") from None

    def origin(self, rel: str) -> str:
        if rel not in self._where:
            return " + ".join(map(str, self.archives))
        return f"{self._where[rel]}::{rel}"


def open_tree(path: str | Path):
    """A tree over an extracted directory, one zip, or a directory holding the original zips."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    if path.is_file() and path.suffix.lower() in (".rar", ".7z", ".tar", ".gz", ".tgz"):
        raise DatasetError(f"{path}: a {path.suffix} archive is read only once extracted (e.g. unrar x, 7z x, "
                           "tar xf); point local_path at the extracted folder")
    if path.is_file():
        return ZipTree([path])
    zips = sorted(path.glob("*.zip"))
    has_tree = any(p.is_dir() for p in path.iterdir())
    if zips and not has_tree:
        return ZipTree(zips)
    return DirTree(path)


@dataclass
class Pair:
    id: str
    image: str  # relative path in the tree
    label: str


@dataclass
class Inventory:
    """What a scan of a tree found: usable pairs plus the quirks it skipped."""

    pairs: list[Pair]
    images_without_label: list[str] = field(default_factory=list)
    labels_without_image: list[str] = field(default_factory=list)
    missing_ids: int = 0  # GTA5: gaps in the numbered sequence
