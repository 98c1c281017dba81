"""Reading zip archives over HTTP without downloading them whole.

``HTTPRangeFile`` is a seekable, read-only file over HTTP range requests: ``zipfile`` reads
an archive's central directory from its end and then only the members asked for. A dropped
connection is resumed from the last byte received. A server that ignores ``Range``
(answers 200 with the whole body) raises ``RangesNotSupported``; ``RemoteOpener``
then falls back, with a message, to downloading the whole archive into a cache folder.
Every member read through ``zipfile`` has its CRC-32 checked.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Callable

import requests

CHUNK = 1 << 16


class RangesNotSupported(OSError):
    """The server answered a range request with the whole resource."""


class HTTPRangeFile(io.RawIOBase):
    def __init__(self, url: str, *, session: requests.Session | None = None, block_size: int = 1 << 20,
                 retries: int = 5, timeout: float = 30.0, on_bytes: Callable[[int], None] | None = None):
        self.url, self.block_size, self.retries, self.timeout = url, block_size, retries, timeout
        self.session = session or requests.Session()
        self.on_bytes = on_bytes
        self.pos = 0
        self._block_start, self._block = 0, b""
        head = self._get(0, 0)
        self.size = int(head.headers["Content-Range"].rsplit("/", 1)[1])

    # -- io.RawIOBase
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self.pos
        n = min(n, self.size - self.pos)
        if n <= 0:
            return b""
        end = self.pos + n
        in_block = self._block_start <= self.pos and end <= self._block_start + len(self._block)
        if not in_block:
            # Small reads (zip headers) fetch a block ahead; large ones (members) exactly what is asked.
            fetch_end = min(self.size, max(end, self.pos + self.block_size)) if n < self.block_size else end
            self._block_start, self._block = self.pos, self._fetch(self.pos, fetch_end - 1)
        start = self.pos - self._block_start
        out = self._block[start : start + n]
        self.pos += len(out)
        return out

    # -- HTTP
    def _get(self, first: int, last: int) -> requests.Response:
        resp = self.session.get(self.url, headers={"Range": f"bytes={first}-{last}"}, stream=True, timeout=self.timeout)
        if resp.status_code == 200:
            resp.close()
            raise RangesNotSupported(f"{self.url}: the server does not honour range requests")
        if resp.status_code != 206:
            resp.close()
            raise OSError(f"{self.url}: HTTP {resp.status_code} for bytes {first}-{last}")
        return resp

    def _fetch(self, first: int, last: int) -> bytes:
        """Bytes first..last, resuming after a dropped connection from the last byte received."""
        got = bytearray()
        attempts = 0
        while first + len(got) <= last:
            try:
                resp = self._get(first + len(got), last)
                for chunk in resp.iter_content(CHUNK):
                    got += chunk
                    if self.on_bytes:
                        self.on_bytes(len(chunk))
                resp.close()
                if first + len(got) <= last:
                    raise requests.ConnectionError("connection closed before the range ended")
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as err:
                attempts += 1
                if attempts > self.retries:
                    raise OSError(f"{self.url}: gave up after {self.retries} retries at byte {first + len(got)}: {err}") from None
        return bytes(got)


def download_whole(url: str, dest: Path, *, session: requests.Session | None = None,
                   on_bytes: Callable[[int], None] | None = None, timeout: float = 30.0) -> Path:
    """Fetch ``url`` into ``dest`` (via ``dest.part``, renamed when complete); reuses a complete file."""
    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    session = session or requests.Session()
    with session.get(url, stream=True, timeout=timeout) as resp:
        if resp.status_code != 200:
            raise OSError(f"{url}: HTTP {resp.status_code}")
        with part.open("wb") as f:
            for chunk in resp.iter_content(CHUNK):
                f.write(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
    os.replace(part, dest)
    return dest


# ----------------------------------------------------------------------------- GTA5
READ_AHEAD = 1 << 16  # bytes fetched around small reads (zip headers and the central directory)


def gta5_archive_urls(base_url: str, archives: int) -> list[str]:
    """``01_images.zip`` ... and ``01_labels.zip`` ... under ``base_url``, as the official server lays them out."""
    base = base_url.rstrip("/")
    return [f"{base}/{i:02d}_{kind}.zip" for i in range(1, archives + 1) for kind in ("images", "labels")]


class RemoteOpener:
    """Picklable ``opener`` for ``ZipTree``: each archive over HTTP ranges (or downloaded whole)."""

    def __init__(self, cache_dir: Path, on_bytes: Callable[[int], None] | None = None, session_factory=requests.Session):
        self.cache_dir, self.on_bytes, self.session_factory = Path(cache_dir), on_bytes, session_factory

    def __call__(self, url: str):
        session = self.session_factory()
        try:
            return HTTPRangeFile(url, session=session, block_size=READ_AHEAD, on_bytes=self.on_bytes)
        except RangesNotSupported:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            print(f"{url}: the server refuses range requests; downloading the whole archive to {self.cache_dir / name}",
                  file=sys.stderr)
            return open(download_whole(url, self.cache_dir / name, session=session, on_bytes=self.on_bytes), "rb")


# ----------------------------------------------------------------------------- Cityscapes
CITYSCAPES_URL = "https://www.cityscapes-dataset.com"
CITYSCAPES_PACKAGES = ("gtFine_trainvaltest.zip", "leftImg8bit_trainvaltest.zip")
CREDENTIAL_VARS = ("CITYSCAPES_USERNAME", "CITYSCAPES_PASSWORD")


class MirrorAdapter(requests.adapters.HTTPAdapter):
    """Sends requests for ``CITYSCAPES_URL`` to a mirror (cityscapesscripts hard-codes the host)."""

    def __init__(self, mirror: str):
        super().__init__()
        self.mirror = mirror.rstrip("/")

    def send(self, request, **kwargs):
        request.url = self.mirror + request.url[len(CITYSCAPES_URL):]
        return super().send(request, **kwargs)


def cityscapes_session(base_url: str = CITYSCAPES_URL) -> requests.Session:
    """A logged-in session; credentials come from the environment only and are never stored or printed."""
    missing = [v for v in CREDENTIAL_VARS if not os.environ.get(v)]
    if missing:
        raise PermissionError(f"Cityscapes download needs the environment variables {', '.join(missing)} "
                              "(an account from cityscapes-dataset.com; never put credentials in params.yaml)")
    session = requests.Session()
    if base_url.rstrip("/") != CITYSCAPES_URL:
        session.mount(CITYSCAPES_URL, MirrorAdapter(base_url))
    session.get(f"{CITYSCAPES_URL}/login", allow_redirects=False, timeout=30).raise_for_status()
    form = {"username": os.environ[CREDENTIAL_VARS[0]], "password": os.environ[CREDENTIAL_VARS[1]], "submit": "Login"}
    resp = session.post(f"{CITYSCAPES_URL}/login", data=form, allow_redirects=False, timeout=30)
    del form
    if resp.status_code != 302:  # the site redirects after a successful login
        raise PermissionError(f"Cityscapes login refused (HTTP {resp.status_code}): check {CREDENTIAL_VARS[0]} / {CREDENTIAL_VARS[1]}")
    return session


def download_cityscapes(dest_dir: Path, base_url: str = CITYSCAPES_URL) -> list[Path]:
    """The two archives the pipeline needs, via cityscapesscripts' downloader (MD5-checked, resumable)."""
    from cityscapesscripts.download.downloader import download_packages
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    todo = [p for p in CITYSCAPES_PACKAGES if not (dest_dir / f"{p}.complete").exists()]
    if todo:
        session = cityscapes_session(base_url)
        for package in todo:
            partial_file = (dest_dir / package).exists()
            download_packages(session=session, package_names=[package], destination_path=str(dest_dir), resume=partial_file)
            (dest_dir / f"{package}.complete").touch()
    return [dest_dir / p for p in CITYSCAPES_PACKAGES]


def download_cache_dir() -> Path:
    """Where whole-archive downloads are kept between runs (not a pipeline output)."""
    root = os.environ.get("STYLENORM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stylenorm"
    return Path(root) / "downloads"
