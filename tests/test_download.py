"""Real-data sources against servers on loopback: ranged GTA5 fetch, fallback, resume, CRC, Cityscapes login."""
from __future__ import annotations

import dataclasses
import logging
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from stages.fetch import fetch
from stylenorm import paths, remote, synthetic
from stylenorm.config import ConfigError
from stylenorm.datasets import DatasetError
from tests.fake_servers import ArchiveServer, CityscapesServer

SENTINEL = "s3ntinel-Pa55word-do-not-leak"


def gta5_archives(root: Path, n: int = 24, archives: int = 2) -> Path:
    """GTA5-layout zips (01_images.zip, 01_labels.zip, 02_...) over a synthetic tree, ids split across archives."""
    native = root / "native"
    synthetic.write_gta5_tree(native, n=n, seed=3, scale=0.05, missing_rate=0.1, mismatch_rate=0.0)
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


def gta5_download(params, url: str):
    gta5 = dataclasses.replace(params.data.gta5, source="download", base_url=url, archives=2)
    return dataclasses.replace(params, data=dataclasses.replace(params.data, gta5=gta5, n_per_domain=6))


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLENORM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(remote, "READ_AHEAD", 1024)  # tiny archives: keep read-ahead below a member's size
    root = gta5_archives(tmp_path)
    servers = []

    def start(**kw):
        servers.append(ArchiveServer(root, **kw))
        return servers[-1]

    yield root, start
    for s in servers:
        s.close()


def local_reference(params, root):
    gta5 = dataclasses.replace(params.data.gta5, source="local", local_path=str(root))
    fetch("gta5", dataclasses.replace(params, data=dataclasses.replace(params.data, gta5=gta5, n_per_domain=6)))
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


def cityscapes_archives(root: Path) -> Path:
    native = root / "cs_native"
    synthetic.write_cityscapes_tree(native, n=16, seed=2, scale=0.05)
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
        cs = dataclasses.replace(params.data.cityscapes, source="download", base_url=server.url)
        p = dataclasses.replace(params, data=dataclasses.replace(params.data, cityscapes=cs))
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
    assert server.seen_logins[-1] is True and report["sampled"] == params.data.n_per_domain
    manifest = pd.read_csv(paths.sampled_dir("cityscapes") / paths.MANIFEST, dtype={"id": str})
    assert manifest.image_source.str.contains("leftImg8bit_trainvaltest.zip::leftImg8bit/(?:train|val)/").all()
    # The sentinel password is in no file the stage wrote (or cached) and in no log line.
    for f in list(Path.cwd().rglob("*")) + list((tmp_path / "cache").rglob("*")):
        if f.is_file():
            assert SENTINEL.encode() not in f.read_bytes(), f
    out = capsys.readouterr()
    assert SENTINEL not in out.out + out.err and SENTINEL not in caplog.text
