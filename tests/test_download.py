"""Real-data sources against servers on loopback: ranged GTA5 fetch, fallback, resume, CRC, Cityscapes login.

The GTA5 tests also hold the downloader to its promises under trouble: a server that goes away
mid-member and comes back, a ``Retry-After`` answer, a fetch killed with SIGKILL and run again,
and a byte budget (no byte fetched twice, nothing beyond the members read and their headers).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import yaml

import pandas as pd
import pytest

from stages.fetch import fetch
from stylenorm import paths, remote
from stylenorm.domains import cityscapes, gta5
from stylenorm.config import ConfigError
from stylenorm.datasets import DatasetError
from tests.fake_servers import ArchiveServer, CityscapesServer

SENTINEL = "s3ntinel-Pa55word-do-not-leak"


def gta5_archives(root: Path, n: int = 24, archives: int = 2) -> Path:
    """GTA5-layout zips (01_images.zip, 01_labels.zip, 02_...) over a synthetic tree, ids split across archives."""
    native = root / "native"
    gta5.write_tree(native, n=n, seed=3, scale=0.05, missing_rate=0.1, mismatch_rate=0.0)
    out = root / "server"
    out.mkdir()
    per = -(-n // archives)
    for a in range(archives):
        for kind in ("images", "labels"):
            with zipfile.ZipFile(out / f"{a + 1:02d}_{kind}.zip", "w", zipfile.ZIP_STORED) as zf:
                for i in range(a * per + 1, min(n, (a + 1) * per) + 1):
                    f = native / kind / f"{i:05d}.png"
                    if f.exists():
                        zf.write(f, f"{kind}/{i:05d}.png")
    return out


def with_source(params, domain: str, n: int, **kw):
    """``params`` with ``data.<domain>`` changed by ``kw`` and ``n`` pairs per domain."""
    sections = {**params.data.domains, domain: {**params.data.domains[domain], **kw}}
    return dataclasses.replace(params, data=dataclasses.replace(params.data, domains=sections, n_per_domain=n))


def gta5_download(params, url: str, **gta5_changes):
    return with_source(params, "gta5", 6, source="download", base_url=url, archives=2, **gta5_changes)


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLENORM_CACHE", str(tmp_path / "cache"))
    root = gta5_archives(tmp_path)
    servers = []

    def start(**kw):
        servers.append(ArchiveServer(root, **kw))
        return servers[-1]

    yield root, start
    for s in servers:
        s.close()


def local_reference(params, root):
    fetch("gta5", with_source(params, "gta5", 6, source="local", local_path=str(root)))
    return pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})


def test_ranged_fetch_reads_only_sampled_members(params, served):
    root, start = served
    expected = local_reference(params, root)
    server = start()
    report = fetch("gta5", gta5_download(params, server.url))
    got = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})
    assert list(got.id) == list(expected.id) and list(got.image_sha256) == list(expected.image_sha256)
    assert got.image_source.str.startswith(server.url).all()
    total = sum(p.stat().st_size for p in root.glob("*.zip"))
    assert server.bytes_sent < 0.8 * total, (server.bytes_sent, total)  # 6 of ~22 pairs, not whole archives
    assert all(r is not None for _, r in server.requests)  # every request was a range request
    assert report["missing_ids"] > 0 and report["pool_pairs"] < 24


def test_server_without_ranges_falls_back_to_whole_archives(params, served, tmp_path, capsys):
    root, start = served
    expected = local_reference(params, root)
    server = start(ranges=False)
    fetch("gta5", gta5_download(params, server.url))
    got = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})
    assert list(got.image_sha256) == list(expected.image_sha256)
    assert "refuses range requests; downloading the whole archive" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "cache" / "downloads" / "gta5").glob("*.zip")) == sorted(
        p.name for p in root.glob("*.zip"))


def test_dropped_connection_resumes(params, served):
    root, start = served
    expected = local_reference(params, root)
    server = start(drop_after=700)
    fetch("gta5", gta5_download(params, server.url))
    got = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})
    assert list(got.image_sha256) == list(expected.image_sha256)
    assert server.dropped  # the server did hang up mid-response, and the fetch still completed


def test_corrupt_member_fails_crc_and_writes_nothing(params, served):
    root, start = served
    archive = root / "01_images.zip"
    with zipfile.ZipFile(archive) as zf:
        info = zf.infolist()[0]
    data = bytearray(archive.read_bytes())
    offset = info.header_offset + 30 + len(info.filename) + 200  # inside the first member's data
    data[offset] ^= 0xFF
    archive.write_bytes(bytes(data))
    server = start()
    p = gta5_download(params, server.url)
    p = dataclasses.replace(p, data=dataclasses.replace(p.data, n_per_domain=20))  # sure to include that member
    with pytest.raises(DatasetError, match=r"01_images\.zip::images/\d{5}\.png: Bad CRC-32"):
        fetch("gta5", p)
    assert not paths.sampled_dir("gta5").exists() and not paths.fetch_report_path("gta5").exists()


MEMBER_SLACK = 64  # bytes a member may cost beyond its local header and data (descriptor, misestimated extras)
ARCHIVE_SLACK = 128  # bytes an archive may cost beyond its central directory and end records


def members_read(manifest: pd.DataFrame) -> dict[str, list[str]]:
    """Archive file name -> member names, from the manifest's ``<url>/<archive>::<member>`` origins."""
    read: dict[str, list[str]] = {}
    for origin in list(manifest.image_source) + list(manifest.label_source):
        archive, member = origin.split("::")
        read.setdefault(archive.rsplit("/", 1)[-1], []).append(member)
    return read


def byte_budget(root: Path, manifest: pd.DataFrame) -> int:
    """Every archive's central directory and end records, plus each member read: data, local header, slack."""
    read = members_read(manifest)
    budget = 0
    for archive in sorted(root.glob("*.zip")):
        with zipfile.ZipFile(archive) as zf:
            budget += archive.stat().st_size - zf.start_dir + ARCHIVE_SLACK
            for name in read.get(archive.name, []):
                info = zf.getinfo(name)
                budget += info.compress_size + 30 + len(info.filename) + MEMBER_SLACK
    return budget


def requested_spans(server, root: Path) -> dict[str, list[tuple[int, int]]]:
    """File name -> [first, end) of every range requested, in order."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for path, rng in server.requests:
        name = path.rsplit("/", 1)[-1]
        size = (root / name).stat().st_size
        first, _, last = rng.removeprefix("bytes=").partition("-")
        span = (size - int(last), size) if not first else (int(first), min(size, int(last) + 1) if last else size)
        spans.setdefault(name, []).append(span)
    return spans


def test_bytes_served_stay_within_the_members_read(params, served):
    """At the default settings: one request per member (header + data), no byte twice, no read-ahead waste."""
    root, start = served
    local_reference(params, root)
    server = start()
    report = fetch("gta5", gta5_download(params, server.url))
    got = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})
    assert report["blank_images_skipped"] == 0  # so the members read are exactly the manifest's
    budget = byte_budget(root, got)
    assert server.bytes_sent <= budget, (server.bytes_sent, budget)
    for name, spans in requested_spans(server, root).items():
        ordered = sorted(spans)
        assert all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:])), (name, ordered)  # no byte asked twice
    members = sum(len(v) for v in members_read(got).values())
    assert len(server.requests) <= 2 * len(list(root.glob("*.zip"))) + members  # tail + directory, then <= 1 per member


def test_outage_mid_member_waits_and_resumes(params, served, tmp_path, monkeypatch, capsys):
    """The server goes away for 3 s part-way through a member: the fetch waits, resumes at that byte, and completes."""
    root, start = served
    expected = local_reference(params, root)
    clean = start()
    fetch("gta5", gta5_download(params, clean.url))
    monkeypatch.setenv("STYLENORM_CACHE", str(tmp_path / "cache-2"))  # a fresh cache: everything travels again
    server = start(outage_at=clean.bytes_sent // 2, outage_s=3)
    fetch("gta5", gta5_download(params, server.url))
    got = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})
    assert list(got.image_sha256) == list(expected.image_sha256)
    assert len(server.outages) == 1 and server.outages[0][1] - server.outages[0][0] >= 3  # it was really gone
    assert server.bytes_sent == clean.bytes_sent  # resumed at the byte where it dropped: fewer than a fresh start
    assert "refused" in capsys.readouterr().err  # the progress bar said what it was waiting for


def test_retry_after_is_honoured(params, served, capsys):
    root, start = served
    expected = local_reference(params, root)
    server = start(busy=(2,), retry_after=2)  # the second request gets 503 with Retry-After: 2
    fetch("gta5", gta5_download(params, server.url))
    got = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})
    assert list(got.image_sha256) == list(expected.image_sha256)
    assert server.request_times[2] - server.request_times[1] >= 2 - 0.05  # waited as asked before asking again
    assert "Retry-After" in capsys.readouterr().err


def test_unreachable_server_gives_up_after_patience(params, served, monkeypatch):
    root, start = served
    server = start()
    server.close()  # nothing listens there any more: every connection is refused
    began = time.monotonic()
    with pytest.raises(DatasetError, match=r"01_images\.zip: gave up after 2 s .*refused"):
        fetch("gta5", gta5_download(params, server.url, patience_s=2.0))  # data.gta5.patience_s
    assert 2 <= time.monotonic() - began < 20  # waited out its patience, no longer
    assert not paths.sampled_dir("gta5").exists() and not paths.fetch_report_path("gta5").exists()


def test_killed_fetch_reruns_only_missing_members(params, project, served, tmp_path, monkeypatch):
    """SIGKILL part-way through the download, then run again: nothing received before the kill travels twice."""
    root, start = served
    expected = local_reference(params, root)
    clean = start()
    fetch("gta5", gta5_download(params, clean.url))
    monkeypatch.setenv("STYLENORM_CACHE", str(tmp_path / "cache-2"))
    server = start(stall_at=clean.bytes_sent * 6 // 10)
    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["data"]["n_per_domain"] = 6
    raw["data"]["gta5"].update(source="download", base_url=server.url, archives=2)
    (project / "params.yaml").write_text(yaml.safe_dump(raw))
    with (tmp_path / "killed.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "stages.fetch", "gta5"], cwd=project, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while server.bytes_sent < server.stall_at and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # let it store what it has received
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-2000:]
    before_kill = server.bytes_sent
    assert before_kill == server.stall_at
    server.release()
    fetch("gta5", gta5_download(params, server.url))
    got = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})
    assert list(got.image_sha256) == list(expected.image_sha256)
    archives = len(list(root.glob("*.zip")))
    assert server.bytes_sent > before_kill  # the re-run did fetch what was missing ...
    assert server.bytes_sent <= clean.bytes_sent + archives * ARCHIVE_SLACK, (server.bytes_sent, clean.bytes_sent)
    # ... and only that: a re-check of each archive's end, nothing the killed run had received


def cityscapes_archives(root: Path) -> Path:
    native = root / "cs_native"
    cityscapes.write_tree(native, n=16, seed=2, scale=0.05)
    out = root / "cs_server"
    out.mkdir()
    for archive, top in (("leftImg8bit_trainvaltest.zip", "leftImg8bit"), ("gtFine_trainvaltest.zip", "gtFine")):
        with zipfile.ZipFile(out / archive, "w") as zf:
            zf.writestr("license.txt", "test")
            for f in sorted((native / top).rglob("*.png")):
                zf.write(f, f.relative_to(native).as_posix())
    return out


def test_cityscapes_download_keeps_credentials_out(params, tmp_path, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("STYLENORM_CACHE", str(tmp_path / "cache"))
    root = cityscapes_archives(tmp_path)
    server = CityscapesServer(root, username="ada", password=SENTINEL)
    try:
        p = with_source(params, "cityscapes", 12, source="download", base_url=server.url)
        monkeypatch.delenv("CITYSCAPES_USERNAME", raising=False)
        monkeypatch.delenv("CITYSCAPES_PASSWORD", raising=False)
        with pytest.raises(ConfigError, match="CITYSCAPES_USERNAME, CITYSCAPES_PASSWORD"):
            fetch("cityscapes", p)
        monkeypatch.setenv("CITYSCAPES_USERNAME", "ada")
        monkeypatch.setenv("CITYSCAPES_PASSWORD", "wrong")
        with pytest.raises(ConfigError, match="login refused"):
            fetch("cityscapes", p)
        monkeypatch.setenv("CITYSCAPES_PASSWORD", SENTINEL)
        report = fetch("cityscapes", p)
    finally:
        server.close()
    assert server.seen_logins[-1] is True and report["sampled"] == 12
    manifest = pd.read_csv(paths.sampled_dir("cityscapes") / paths.MANIFEST, dtype={"id": str})
    assert manifest.image_source.str.contains("leftImg8bit_trainvaltest.zip::leftImg8bit/(?:train|val)/").all()
    # The sentinel password is in no file the stage wrote (or cached) and in no log line.
    for f in list(Path.cwd().rglob("*")) + list((tmp_path / "cache").rglob("*")):
        if f.is_file():
            assert SENTINEL.encode() not in f.read_bytes(), f
    out = capsys.readouterr()
    assert SENTINEL not in out.out + out.err and SENTINEL not in caplog.text
