"""Reading zip archives over HTTP without downloading them whole, and surviving a flaky server.

``RemoteZip`` is one archive over HTTP range requests. It fetches the archive's last bytes
(the end-of-central-directory records, which also give its size), then the central directory,
then only the members asked for: each with one request covering its local header and data
(the central directory gives the offset and compressed size; the local header's variable
fields are bounded by the next member's offset), neighbouring members coalesced into one range,
and no byte requested twice. Members stream into ``<name>.<crc>.<size>.part`` files in the
download cache, so a dropped connection, or a run killed outright, resumes from the last byte
stored; a complete member has its CRC-32 checked and is kept, keyed by archive, member name and
CRC-32, written atomically. A re-run after any failure fetches only what it lacks, plus a re-check
of each archive's last bytes (the cached central directory is reused when they match).

Every request goes through ``retrying_session``: urllib3's ``Retry`` mounted on a requests
``HTTPAdapter`` retries refused connections, timeouts, 429 and 5xx with exponential backoff and
jitter, honours ``Retry-After``, and gives up only when a failure has lasted ``patience_s``
seconds; ``on_wait`` hears what it is waiting for (the progress bar shows it). A connection
dropped mid-body is resumed by ``_stream`` with the same ``Retry`` for its backoff and patience.

A server that ignores ``Range`` (answers 200 with the whole body) raises ``RangesNotSupported``;
``RemoteOpener`` then falls back, with a message, to downloading the whole archive into the cache.

Why not a library: remotezip fetches each member's local header and data in separate requests
and resumes nothing; fsspec's HTTP filesystem caches blocks in memory per process (read-ahead
blocks are fetched again across runs and may overlap) and resumes no partial member. Neither
keeps verified members across runs. ``zipfile`` still does all the parsing, decompression and
CRC checking, over ``_SparseFile``, which serves bytes already held and fetches only gaps.
"""
from __future__ import annotations

import bisect
import hashlib
import http.client
import io
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from stylenorm.datasets import DatasetError

CHUNK = 1 << 16  # bytes per read from a response; read1 hands over whatever has arrived, up to this
PATIENCE_S = 300.0  # how long a failure may last (server down, 503, dropped connections) before a fetch gives up
TIMEOUT_S = 30.0  # seconds without a byte before a connection counts as dropped
BACKOFF_S = 0.5  # first pause between retries; doubles each time (plus up to BACKOFF_JITTER_S), at most BACKOFF_MAX_S
BACKOFF_JITTER_S = 1.0
BACKOFF_MAX_S = 60.0
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
TAIL = 22 + 20 + 56  # end of central directory + zip64 locator + zip64 end record (an archive without a comment)
LOCAL_SLACK = 512  # bytes a local header's variable fields may exceed the central directory's (extras differ)


class RangesNotSupported(OSError):
    """The server answered a range request with the whole resource."""


class FetchError(OSError):
    """The server stayed unreachable or kept failing for longer than the patience window."""


class PatientRetry(Retry):
    """urllib3 ``Retry`` that stops on time, not on counts: a failure may last ``patience_s`` seconds.

    The clock starts at the first failure of a request; backoff and ``Retry-After`` pauses are
    cut to what patience is left, and each pause is announced to ``on_wait``.
    """

    def __init__(self, *args, patience_s: float = PATIENCE_S, on_wait: Callable[[str], None] | None = None,
                 deadline: float | None = None, **kw):
        super().__init__(*args, **kw)
        self.patience_s, self.on_wait, self.deadline = patience_s, on_wait, deadline

    @classmethod
    def patient(cls, patience_s: float = PATIENCE_S, on_wait: Callable[[str], None] | None = None) -> "PatientRetry":
        return cls(total=None, connect=None, read=None, status=None, other=None, redirect=10,
                   status_forcelist=RETRY_STATUS, backoff_factor=BACKOFF_S, backoff_jitter=BACKOFF_JITTER_S,
                   backoff_max=BACKOFF_MAX_S, raise_on_status=False, respect_retry_after_header=True,
                   patience_s=patience_s, on_wait=on_wait)

    def new(self, **kw) -> "PatientRetry":
        retry = super().new(**kw)  # called by increment(), i.e. at a failure: the clock starts at the first
        retry.patience_s, retry.on_wait = self.patience_s, self.on_wait
        retry.deadline = self.deadline if self.deadline is not None else time.monotonic() + self.patience_s
        return retry

    def is_exhausted(self) -> bool:
        return super().is_exhausted() or (self.deadline is not None and time.monotonic() >= self.deadline)

    def sleep(self, response=None) -> None:
        retry_after = self.get_retry_after(response) if response is not None and self.respect_retry_after_header else None
        pause = retry_after if retry_after is not None else self.get_backoff_time()
        left = max(0.0, (self.deadline or time.monotonic()) - time.monotonic())
        pause = min(pause, left)
        if self.on_wait and self.history:
            last = self.history[-1]
            why = f"HTTP {last.status}" if last.status else _reason(last.error)
            if retry_after is not None:
                why += f", Retry-After {retry_after:g} s"
            self.on_wait(f"{why}; retry {len(self.history)} in {pause:.0f} s (giving up in {left:.0f} s)")
        if pause > 0:
            time.sleep(pause)


def _reason(err) -> str:
    """A network error in a few words: 'Connection refused', 'connection dropped mid-response', 'Read timed out.'."""
    if err is None:
        return "failed"
    root = _root(err)
    if isinstance(root, http.client.IncompleteRead):
        return "connection dropped mid-response"
    if isinstance(root, OSError) and root.strerror:
        return root.strerror
    return str(root).rsplit(": ", 1)[-1].strip("()'\" ") or type(root).__name__


def retrying_session(patience_s: float = PATIENCE_S, on_wait: Callable[[str], None] | None = None) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=PatientRetry.patient(patience_s, on_wait))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _SparseFile(io.RawIOBase):
    """A seekable read-only file of ``size`` bytes made of held pieces (in memory or in files on disk);
    a read that reaches a gap asks ``fetch(first, last)`` for exactly the missing bytes and keeps them."""

    def __init__(self, size: int, fetch: Callable[[int, int], bytes]):
        self.size, self.fetch, self.pos = size, fetch, 0
        self.pieces: list[tuple[int, int, object]] = []  # (start, end, bytes | Path), sorted by start

    def hold(self, start: int, data) -> tuple:
        """Hold ``data`` (bytes, or a Path whose bytes start at ``start``) from ``start`` on."""
        length = len(data) if isinstance(data, (bytes, bytearray)) else Path(data).stat().st_size
        piece = (start, start + length, data)
        bisect.insort(self.pieces, piece, key=lambda p: p[0])
        return piece

    def release(self, piece: tuple) -> None:
        self.pieces.remove(piece)

    def held(self, start: int, end: int) -> list[tuple[int, int, object]]:
        """Held sub-ranges of [start, end), in order, as (from, to, source)."""
        out, cursor = [], start
        for p_start, p_end, src in self.pieces:
            if p_end <= cursor or p_start >= end:
                continue
            lo, hi = max(cursor, p_start), min(end, p_end)
            if lo < hi:
                out.append((lo, hi, (p_start, src)))
                cursor = hi
        return out

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
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        out, cursor = bytearray(), self.pos
        for lo, hi, (p_start, src) in self.held(self.pos, end) + [(end, end, (end, b""))]:
            if lo > cursor:  # a gap: fetch exactly it, and keep it
                gap = self.fetch(cursor, lo - 1)
                self.hold(cursor, gap)
                out += gap
            out += _slice(src, lo - p_start, hi - lo)
            cursor = hi
        self.pos = end
        return bytes(out)


def _slice(src, offset: int, length: int) -> bytes:
    if length <= 0:
        return b""
    if isinstance(src, (bytes, bytearray)):
        return bytes(src[offset : offset + length])
    with open(src, "rb") as f:
        f.seek(offset)
        return f.read(length)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # two runs sharing a cache never share a temporary
    tmp.write_bytes(data)
    os.replace(tmp, path)


class RemoteZip:
    """One zip archive over HTTP ranges: ``infolist()``, ``read(name)`` and ``prefetch(names)``.

    ``cache_dir`` keeps the central directory and every verified member, so nothing fetched
    once is fetched again, across runs too.
    """

    def __init__(self, url: str, cache_dir: Path, *, session: requests.Session | None = None,
                 patience_s: float = PATIENCE_S, on_bytes: Callable[[int], None] | None = None,
                 on_wait: Callable[[str], None] | None = None, timeout: float = TIMEOUT_S):
        self.url, self.timeout, self.on_bytes = url, timeout, on_bytes
        self.retry = PatientRetry.patient(patience_s, on_wait)
        self.session = session or retrying_session(patience_s, on_wait)
        name = url.rstrip("/").rsplit("/", 1)[-1]
        self.dir = Path(cache_dir) / "members" / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{name}"
        self.dir.mkdir(parents=True, exist_ok=True)
        tail, size = self._tail()
        self.file = _SparseFile(size, self._fetch)
        directory = self.dir / f"directory-{size}.bin"
        cached = directory.read_bytes() if directory.exists() else b""
        reuse = len(cached) >= len(tail) and cached.endswith(tail)  # same archive as last time
        held = cached if reuse else tail
        self.file.hold(size - len(held), held)
        try:
            self.zip = zipfile.ZipFile(self.file)
        except zipfile.BadZipFile as err:
            raise DatasetError(f"{url}: not a readable zip archive ({err})") from None
        if not reuse:
            self.file.seek(self.zip.start_dir)
            _write_atomic(directory, self.file.read(size - self.zip.start_dir))
        infos = sorted((i for i in self.zip.infolist() if not i.is_dir()), key=lambda i: i.header_offset)
        self.infos = {i.filename: i for i in infos}
        bounds = [i.header_offset for i in infos] + [self.zip.start_dir]
        self.extent = {i.filename: (i.header_offset, min(bounds[k + 1], i.header_offset + _record_bound(i)))
                       for k, i in enumerate(infos)}

    # -- what ZipTree uses
    def infolist(self) -> list[zipfile.ZipInfo]:
        return self.zip.infolist()

    def read(self, name: str) -> bytes:
        data = self._cached(name)
        if data is None:
            self.prefetch([name])
            data = self._cached(name)
        return data

    def prefetch(self, names) -> None:
        """Fetch the members not yet cached: neighbours in one range each, resuming any partial member."""
        todo = sorted({n for n in names if not self._member_path(n).exists()}, key=lambda n: self.extent[n][0])
        runs: list[list] = []  # [first, end, writers] of each request, neighbours merged
        for n in todo:
            w = _MemberWriter(n, self._part_path(n), *self.extent[n])
            if runs and runs[-1][1] == w.pos:
                runs[-1][1] = w.end
                runs[-1][2].append(w)
            else:
                runs.append([w.pos, w.end, [w]])
        for first, end, writers in runs:
            try:
                if first < end:
                    self._stream(first, end - 1, _Dispatch(writers))
            finally:
                for w in writers:
                    w.close()
            for w in writers:
                self._verify(w)

    # -- the member cache
    def _member_path(self, name: str) -> Path:
        info = self.infos[name]
        return self.dir / f"{quote(name, safe='')}.{info.CRC:08x}"  # quoted: a member name never leaves self.dir

    def _part_path(self, name: str) -> Path:
        return self.dir / f"{self._member_path(name).name}.{self.infos[name].compress_size}.part"

    def _cached(self, name: str) -> bytes | None:
        path = self._member_path(name)
        if not path.exists():
            return None
        data = path.read_bytes()
        info = self.infos[name]
        if len(data) != info.file_size or zipfile.crc32(data) != info.CRC:
            path.unlink()  # damaged on disk: fetch it again
            return None
        return data

    def _verify(self, writer: "_MemberWriter") -> None:
        """Decompress the stored record through zipfile (which checks the CRC-32), keep the member, drop the part."""
        name = writer.name
        piece = self.file.hold(writer.start, writer.path)
        try:
            data = self.zip.read(self.infos[name])
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            writer.path.unlink(missing_ok=True)  # never resume from bytes that failed their check
            raise DatasetError(f"{self.url}::{name}: {err}") from None
        finally:
            self.file.release(piece)
        _write_atomic(self._member_path(name), data)
        writer.path.unlink(missing_ok=True)

    # -- HTTP
    def _tail(self) -> tuple[bytes, int]:
        """The archive's last TAIL bytes and its size, by a suffix range (which also tests range support)."""
        retry = self.retry
        while True:
            try:
                resp = self.session.get(self.url, headers={"Range": f"bytes=-{TAIL}", "Accept-Encoding": "identity"},
                                        stream=True, timeout=self.timeout)
            except requests.RequestException as err:  # urllib3 has already waited out its patience
                raise FetchError(f"{self.url}: gave up after {retry.patience_s:g} s of retries: {_reason(err)}") from None
            with resp:
                if resp.status_code == 200:
                    raise RangesNotSupported(f"{self.url}: the server does not honour range requests")
                if resp.status_code != 206:
                    raise FetchError(f"{self.url}: HTTP {resp.status_code} for its last {TAIL} bytes")
                try:
                    tail = resp.content
                except requests.RequestException as err:  # dropped mid-body: ask again (it is a few bytes)
                    try:
                        retry = retry.increment("GET", self.url, error=err)
                    except MaxRetryError as gave_up:
                        raise FetchError(f"{self.url}: gave up after {retry.patience_s:g} s of retries: "
                                         f"{_reason(gave_up)}") from None
                    retry.sleep()
                    continue
            if self.on_bytes:
                self.on_bytes(len(tail))
            return tail, int(resp.headers["Content-Range"].rsplit("/", 1)[1])

    def _fetch(self, first: int, last: int) -> bytes:
        got = bytearray()
        self._stream(first, last, lambda offset, chunk: got.extend(chunk))
        return bytes(got)

    def _stream(self, first: int, last: int, sink: Callable[[int, bytes], None]) -> None:
        """Bytes first..last to ``sink(offset, chunk)`` as they arrive; a dropped connection resumes
        from the byte where it dropped, with backoff, until a failure outlasts the patience window."""
        pos, retry = first, self.retry
        while pos <= last:
            try:
                resp = self.session.get(self.url, headers={"Range": f"bytes={pos}-{last}", "Accept-Encoding": "identity"},
                                        stream=True, timeout=self.timeout)
            except requests.RequestException as err:  # urllib3 has already waited out its patience
                raise FetchError(f"{self.url}: gave up after {retry.patience_s:g} s of retries at byte {pos}: "
                                 f"{_reason(err)}") from None
            with resp:
                if resp.status_code != 206 or not resp.headers.get("Content-Range", "").startswith(f"bytes {pos}-"):
                    raise FetchError(f"{self.url}: HTTP {resp.status_code} ({resp.headers.get('Content-Range')}) "
                                     f"for bytes {pos}-{last}")
                start, dropped = pos, None
                while pos <= last:
                    try:
                        chunk = resp.raw.read1(min(CHUNK, last + 1 - pos))
                    except (Urllib3Error, requests.RequestException, OSError) as err:
                        dropped = err
                        break
                    if not chunk:
                        break
                    sink(pos, chunk)
                    pos += len(chunk)
                    if self.on_bytes:
                        self.on_bytes(len(chunk))
            if pos > last:
                return
            if pos > start:
                retry = self.retry  # it was making progress: a fresh patience window for this failure
            try:
                retry = retry.increment("GET", self.url, error=dropped or ConnectionError("connection closed early"))
            except MaxRetryError as err:
                raise FetchError(f"{self.url}: gave up after {retry.patience_s:g} s of retries at byte {pos}: "
                                 f"{_reason(err)}") from None
            retry.sleep()


def _root(err: BaseException) -> BaseException:
    """The innermost cause of a requests/urllib3 error chain (e.g. the refused connection)."""
    for _ in range(8):
        inner = getattr(err, "reason", None) or err.__cause__ or next(
            (a for a in err.args if isinstance(a, BaseException)), None)
        if not isinstance(inner, BaseException):
            break
        err = inner
    return err


def _record_bound(info: zipfile.ZipInfo) -> int:
    """An upper bound of a member's local record: header, name, extras (+ slack), data, data descriptor."""
    name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace")
    return 30 + len(name) + len(info.extra) + LOCAL_SLACK + info.compress_size + (24 if info.flag_bits & 0x08 else 0)


class _MemberWriter:
    """Appends one member's local record (bytes start..end of the archive) to its part file; a part
    left by an earlier run is resumed. The file is open only while bytes arrive (thousands of members)."""

    def __init__(self, name: str, path: Path, start: int, end: int):
        self.name, self.path, self.start, self.end, self.f = name, path, start, end, None
        self.pos = start + (min(path.stat().st_size, end - start) if path.exists() else 0)

    def write(self, offset: int, data: bytes) -> None:
        assert offset == self.pos, (offset, self.pos)
        if self.f is None:
            self.f = self.path.open("r+b" if self.path.exists() else "wb")
            self.f.seek(self.pos - self.start)
            self.f.truncate()
        self.f.write(data)
        self.f.flush()  # to the OS at once: a killed run keeps every byte it received
        self.pos += len(data)
        if self.pos >= self.end:
            self.close()

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None


class _Dispatch:
    """Splits a coalesced range's chunks among its members' writers, by offset."""

    def __init__(self, writers: list[_MemberWriter]):
        self.writers, self.k = writers, 0

    def __call__(self, offset: int, chunk: bytes) -> None:
        while chunk:
            w = self.writers[self.k]
            if offset >= w.end:
                self.k += 1
                continue
            n = min(len(chunk), w.end - offset)
            w.write(offset, chunk[:n])
            offset, chunk = offset + n, chunk[n:]


def download_whole(url: str, dest: Path, *, session: requests.Session | None = None,
                   on_bytes: Callable[[int], None] | None = None, timeout: float = TIMEOUT_S) -> Path:
    """Fetch ``url`` into ``dest`` (via ``dest.part``, renamed when complete); reuses a complete file.
    The server refuses ranges, so a dropped connection means starting again (the session still
    waits out refused connections and 5xx answers)."""
    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    session = session or retrying_session()
    try:
        with session.get(url, stream=True, timeout=timeout) as resp:
            if resp.status_code != 200:
                raise FetchError(f"{url}: HTTP {resp.status_code}")
            with part.open("wb") as f:
                for chunk in resp.iter_content(CHUNK):
                    f.write(chunk)
                    if on_bytes:
                        on_bytes(len(chunk))
    except requests.RequestException as err:
        raise FetchError(f"{url}: {_reason(err)}") from None
    os.replace(part, dest)
    return dest


# ----------------------------------------------------------------------------- GTA5
def gta5_archive_urls(base_url: str, archives: int) -> list[str]:
    """``01_images.zip`` ... and ``01_labels.zip`` ... under ``base_url``, as the official server lays them out."""
    base = base_url.rstrip("/")
    return [f"{base}/{i:02d}_{kind}.zip" for i in range(1, archives + 1) for kind in ("images", "labels")]


class RemoteOpener:
    """``opener`` for ``ZipTree``: each archive as a ``RemoteZip`` (or, without range support, downloaded whole)."""

    def __init__(self, cache_dir: Path, on_bytes: Callable[[int], None] | None = None,
                 on_wait: Callable[[str], None] | None = None, patience_s: float = PATIENCE_S):
        self.cache_dir, self.on_bytes, self.on_wait, self.patience_s = Path(cache_dir), on_bytes, on_wait, patience_s

    def __call__(self, url: str):
        session = retrying_session(self.patience_s, self.on_wait)
        try:
            return RemoteZip(url, self.cache_dir, session=session, patience_s=self.patience_s,
                             on_bytes=self.on_bytes, on_wait=self.on_wait)
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


def download_cityscapes(dest_dir: Path, base_url: str = CITYSCAPES_URL,
                        packages: tuple[str, ...] = CITYSCAPES_PACKAGES) -> list[Path]:
    """Packages of the Cityscapes site (by default the two archives of Cityscapes itself; Foggy
    Cityscapes names its own), via cityscapesscripts' downloader (MD5-checked, resumable)."""
    from cityscapesscripts.download.downloader import download_packages
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    todo = [p for p in packages if not (dest_dir / f"{p}.complete").exists()]
    if todo:
        session = cityscapes_session(base_url)
        for package in todo:
            partial_file = (dest_dir / package).exists()
            download_packages(session=session, package_names=[package], destination_path=str(dest_dir), resume=partial_file)
            (dest_dir / f"{package}.complete").touch()
    return [dest_dir / p for p in packages]


def download_cache_dir() -> Path:
    """Where whole-archive downloads are kept between runs (not a pipeline output)."""
    root = os.environ.get("STYLENORM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stylenorm"
    return Path(root) / "downloads"
