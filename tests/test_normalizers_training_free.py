"""The training-free normalizers (fda, histmatch, reinhard): their math on arrays, and ``apply``
through the registry on tiny images written to tmp_path.

Each math test compares against a property a no-op or a wrong implementation would fail
(e.g. an identity normalizer fails the CDF, Lab-statistics and amplitude tests).
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylenorm.config import ConfigError, from_dict
from stylenorm.normalizers import Context, get
from stylenorm.normalizers import _references as refs
from stylenorm.normalizers.fda import fda_swap_amplitude, fda_transfer
from stylenorm.normalizers.histmatch import histmatch_transfer, pooled_template
from stylenorm.normalizers.reinhard import LabStats, distinct_colours, lab_stats, pool_stats, reinhard_lab, reinhard_transfer
from stylenorm.synthetic import scene


def _rng(*key):
    return np.random.default_rng(list(key))


def _smooth_image(rng, height, width, mean, spread):
    """A uint8 image whose channels have smooth, distinct, many-level histograms."""
    values = rng.normal(mean, spread, (height, width, 3)) + np.array([0, 15, -15])
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _cdf(channel: np.ndarray) -> np.ndarray:
    return np.cumsum(np.bincount(channel.ravel(), minlength=256)) / channel.size


def _authors_fda_np(src, ref, beta):
    """Independent check: the textbook fft2 / fftshift FDA of the paper's numpy reference
    (window rows and columns c - b .. c + b of the shifted amplitude), on (H, W, C) arrays."""
    src_f = np.fft.fft2(src.astype(np.float64), axes=(0, 1))
    ref_f = np.fft.fft2(ref.astype(np.float64), axes=(0, 1))
    amp = np.fft.fftshift(np.abs(src_f), axes=(0, 1))
    amp_ref = np.fft.fftshift(np.abs(ref_f), axes=(0, 1))
    h, w = src.shape[:2]
    b = int(np.floor(min(h, w) * beta))
    ch, cw = h // 2, w // 2
    amp[ch - b:ch + b + 1, cw - b:cw + b + 1] = amp_ref[ch - b:ch + b + 1, cw - b:cw + b + 1]
    amp = np.fft.ifftshift(amp, axes=(0, 1))
    return np.real(np.fft.ifft2(amp * np.exp(1j * np.angle(src_f)), axes=(0, 1)))


# ----------------------------------------------------------------------------- FDA math
def test_fda_beta_zero_returns_the_source():
    rng = _rng(1)
    src = rng.integers(0, 256, (31, 47, 3), dtype=np.uint8)  # odd sizes: the inverse FFT's length matters
    ref = rng.integers(0, 256, (31, 47, 3), dtype=np.uint8)
    np.testing.assert_array_equal(fda_transfer(src, ref, 0.0), src)


def test_fda_full_window_gives_the_reference_amplitude_and_keeps_the_source_phase():
    rng = _rng(2)
    src = rng.uniform(0, 255, (24, 40, 3))
    ref = rng.uniform(0, 255, (24, 40, 3)) ** 1.2 / 255 ** 0.2
    out = fda_swap_amplitude(src, ref, beta=1.0)  # b = 24 >= 40 / 2: every frequency
    out_f, src_f, ref_f = (np.fft.fft2(x.astype(np.float64), axes=(0, 1)) for x in (out, src, ref))
    np.testing.assert_allclose(np.abs(out_f), np.abs(ref_f), rtol=1e-4, atol=0.05 * np.abs(ref_f).mean())
    strong = np.abs(src_f) > 1e-3 * np.abs(src_f).max()
    phase_gap = np.angle(out_f[strong] * np.conj(src_f[strong]))
    assert np.abs(phase_gap).max() < 1e-3
    assert not np.allclose(out, src, atol=1)  # a no-op fails here


@pytest.mark.parametrize("shape, beta", [((40, 64, 3), 0.1), ((33, 50, 3), 0.09), ((20, 30, 3), 0.01)])
def test_fda_swaps_exactly_the_low_frequency_window(shape, beta):
    rng = _rng(3, shape[0])
    src = rng.uniform(0, 255, shape)
    ref = rng.uniform(0, 200, shape)
    out = fda_swap_amplitude(src, ref, beta).astype(np.float64)
    np.testing.assert_allclose(out, _authors_fda_np(src, ref, beta), atol=2e-3)
    out_f, src_f, ref_f = (np.fft.fft2(x, axes=(0, 1)) for x in (out, src, ref))
    b = int(np.floor(min(shape[:2]) * beta))
    u = np.abs(np.fft.fftfreq(shape[0], 1 / shape[0]))[:, None]
    v = np.abs(np.fft.fftfreq(shape[1], 1 / shape[1]))[None, :]
    window = (u <= b) & (v <= b)
    assert window.sum() == (2 * b + 1) ** 2
    tol = 1e-3 * np.abs(src_f).max()
    np.testing.assert_allclose(np.abs(out_f)[window], np.abs(ref_f)[window], atol=tol)
    np.testing.assert_allclose(np.abs(out_f)[~window], np.abs(src_f)[~window], atol=tol)


def test_fda_is_batched_and_clips_to_uint8():
    rng = _rng(4)
    src = rng.integers(0, 256, (3, 20, 36, 3), dtype=np.uint8)
    ref = rng.integers(0, 256, (3, 20, 36, 3), dtype=np.uint8)
    batch = fda_transfer(src, ref, 0.05)
    assert batch.dtype == np.uint8 and batch.shape == src.shape
    for i in range(3):
        np.testing.assert_array_equal(batch[i], fda_transfer(src[i], ref[i], 0.05))
    raw = fda_swap_amplitude(src, ref, 0.5)
    assert raw.min() < 0 or raw.max() > 255  # random images overshoot: clipping is exercised
    np.testing.assert_array_equal(fda_transfer(src, ref, 0.5), np.clip(np.rint(raw), 0, 255).astype(np.uint8))


def test_fda_rejects_different_sizes_and_bad_beta():
    with pytest.raises(ValueError, match="differ in shape"):
        fda_transfer(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8), 0.1)
    cls = get("fda")
    with pytest.raises(ConfigError, match="fda.apply.beta"):
        from_dict(cls.Apply, {"beta": -0.01}, "fda.apply")
    with pytest.raises(ConfigError, match="fda.apply.window"):
        from_dict(cls.Apply, {"beta": 0.01, "window": 3}, "fda.apply")


# ----------------------------------------------------------------------------- histogram matching
def _assert_cdfs_match_within_a_bin(out, reference_cdfs, src):
    for c in range(out.shape[-1]):
        got, want = _cdf(out[..., c]), reference_cdfs[c]
        # A source level cannot be split, so the CDFs may differ by its mass, and rounding moves
        # values by up to half a level: got(v) lies between want(v - 1) and want(v + 1).
        slack = np.bincount(src[..., c].ravel()).max() / src[..., c].size + 1e-9
        lower = np.concatenate([[0.0], want[:-1]]) - slack
        upper = np.concatenate([want[1:], [1.0]]) + slack
        assert np.all(got >= lower) and np.all(got <= upper), f"channel {c}"


def test_histmatch_matches_each_channel_cdf_within_a_bin():
    rng = _rng(5)
    src = _smooth_image(rng, 64, 80, mean=70, spread=25)
    ref = _smooth_image(rng, 50, 90, mean=170, spread=12)  # another size: only its histogram counts
    out = histmatch_transfer(src, ref)
    assert out.shape == src.shape and out.dtype == np.uint8
    _assert_cdfs_match_within_a_bin(out, [_cdf(ref[..., c]) for c in range(3)], src)
    # Rounded, not truncated (skimage's uint8 multichannel path floors): means agree within half a level.
    np.testing.assert_allclose(out.mean(axis=(0, 1)), ref.mean(axis=(0, 1)), atol=0.5)
    assert np.abs(src.mean(axis=(0, 1)) - ref.mean(axis=(0, 1))).min() > 50  # so a no-op fails


def test_pooled_template_has_the_pooled_cdf():
    rng = _rng(6)
    counts = np.stack([np.bincount(rng.normal(m, 30, 5000).clip(0, 255).astype(int), minlength=256)
                       for m in (60, 128, 200)], axis=1)
    template = pooled_template(counts, size=4096)
    assert template.shape == (4096, 1, 3) and template.dtype == np.uint8
    for c in range(3):
        want = np.cumsum(counts[:, c]) / counts[:, c].sum()
        np.testing.assert_allclose(_cdf(template[..., c]), want, atol=1 / 4096 + 1e-12)


# ----------------------------------------------------------------------------- Reinhard
def _scene(style, index, width=96, height=48):
    return scene(0, "test", index, width, height, style)[0]


def test_reinhard_lab_has_the_reference_mean_and_std_before_clipping():
    src, ref_img = _scene("game", 1), _scene("real", 2)
    ref = lab_stats(ref_img)
    lab = reinhard_lab(src, ref)
    np.testing.assert_allclose(lab.reshape(-1, 3).mean(axis=0), ref.mean, atol=1e-9)
    np.testing.assert_allclose(lab.reshape(-1, 3).std(axis=0), ref.std, rtol=1e-9)


def test_reinhard_output_has_the_reference_lab_stats_after_clipping_and_rounding():
    from skimage import color
    src, ref_img = _scene("game", 3), _scene("real", 4)
    ref = lab_stats(ref_img)
    before = color.rgb2lab(src).reshape(-1, 3)
    assert np.abs(before.mean(axis=0) - ref.mean).max() > 5  # so a no-op fails
    out = reinhard_transfer(src, ref)
    assert out.shape == src.shape and out.dtype == np.uint8
    after = color.rgb2lab(out).reshape(-1, 3)
    # sRGB gamut clipping and uint8 rounding move the statistics by a little (documented).
    np.testing.assert_allclose(after.mean(axis=0), ref.mean, atol=1.0)
    np.testing.assert_allclose(after.std(axis=0), ref.std, atol=1.0, rtol=0.05)


def test_reinhard_per_colour_shortcut_equals_per_pixel_conversion():
    from skimage import color
    rng = _rng(7)
    src = _smooth_image(rng, 40, 56, mean=120, spread=40)
    ref = LabStats(1, np.array([55.0, -3.0, 8.0]), np.array([18.0, 6.0, 9.0]))
    lab = color.rgb2lab(src)
    mean, std = lab.reshape(-1, 3).mean(axis=0), lab.reshape(-1, 3).std(axis=0)
    direct = np.clip(np.rint(color.lab2rgb((lab - mean) / std * ref.std + ref.mean) * 255), 0, 255)
    gap = np.abs(reinhard_transfer(src, ref).astype(int) - direct)
    assert gap.max() <= 1 and (gap > 0).mean() < 1e-3  # float32 conversions may round a few values the other way
    colours, inverse, counts = distinct_colours(src)
    np.testing.assert_array_equal(colours[inverse].reshape(src.shape), src)
    assert counts.sum() == src.shape[0] * src.shape[1]


def test_pooled_lab_stats_are_those_of_all_pixels_together():
    images = [_scene("real", i, 64, 32) for i in range(3)] + [_scene("real", 9, 40, 20)]
    pooled = pool_stats([lab_stats(im) for im in images])
    together = lab_stats(np.concatenate([im.reshape(-1, 1, 3) for im in images]))
    assert pooled.pixels == together.pixels
    np.testing.assert_allclose(pooled.mean, together.mean, atol=1e-9)
    np.testing.assert_allclose(pooled.std, together.std, atol=1e-9)


def test_reinhard_flat_source_channel_takes_the_reference_mean():
    src = np.full((8, 8, 3), 90, np.uint8)
    lab = reinhard_lab(src, LabStats(1, np.array([60.0, 5.0, -5.0]), np.array([10.0, 3.0, 3.0])))
    np.testing.assert_allclose(lab.reshape(-1, 3), np.tile([60.0, 5.0, -5.0], (64, 1)), atol=1e-9)


# ----------------------------------------------------------------------------- apply through the registry
SOURCE_SIZE = (60, 33)  # GTA5-like 1.82:1
TARGET_SIZE = (64, 32)  # Cityscapes-like 2:1: references are another size
N_SOURCES, N_TARGET_TRAIN = 6, 5


@pytest.fixture
def domains(tmp_path):
    """Game-style sources, real-style target training images and, in the same folder, target
    *test* images in a loud colour that must never be used."""
    src_dir, tgt_dir = tmp_path / "gta5", tmp_path / "cityscapes"
    src_dir.mkdir()
    tgt_dir.mkdir()
    sources = []
    for i in range(N_SOURCES):
        path = src_dir / f"{i + 1:05d}.png"
        Image.fromarray(scene(0, "gta5", i, *SOURCE_SIZE, style="game")[0]).save(path)
        sources.append(path)
    train = []
    for i in range(N_TARGET_TRAIN):
        path = tgt_dir / f"aachen_{i:06d}_000019_leftImg8bit.png"
        Image.fromarray(scene(0, "cityscapes", i, *TARGET_SIZE, style="real")[0]).save(path)
        train.append(path)
    test = []
    for i in range(2):
        path = tgt_dir / f"frankfurt_{i:06d}_000019_leftImg8bit.png"
        Image.fromarray(np.full((TARGET_SIZE[1], TARGET_SIZE[0], 3), (0, 0, 255), np.uint8)).save(path)
        test.append(path)
    return {"sources": sources, "train": train, "test": test, "tmp": tmp_path}


def _ctx(domains, seed=0, workers=1):
    return Context(source_domain="gta5", target_domain="cityscapes", seed=seed, num_workers=workers,
                   train_images={"cityscapes": list(domains["train"]), "gta5": list(domains["sources"])})


def _build(name, **apply):
    cls = get(name)
    return cls(cls.Fit(), from_dict(cls.Apply, apply, f"{name}.apply"))


def _apply(domains, name, out, seed=0, workers=1, fit=False, **apply):
    normalizer = _build(name, **apply)
    out = domains["tmp"] / out
    fit_dir = out / "fit"
    fit_dir.mkdir(parents=True)
    ctx = _ctx(domains, seed, workers)
    if fit:
        normalizer.fit(ctx, fit_dir)
    dests = [out / "images" / p.name for p in domains["sources"]]
    dests[0].parent.mkdir(parents=True)
    summary = normalizer.apply(ctx, fit_dir, domains["sources"], dests)
    return [np.asarray(Image.open(d)) for d in dests], summary


SETTINGS = [("fda", {"beta": 0.09}), ("histmatch", {"reference": "pair"}), ("histmatch", {"reference": "pooled"}),
            ("reinhard", {"reference": "pair"}), ("reinhard", {"reference": "pooled"})]


@pytest.mark.parametrize("name, apply", SETTINGS)
def test_apply_writes_every_source_at_its_size_in_the_target_style(domains, name, apply):
    outputs, summary = _apply(domains, name, "out", **apply)
    assert summary["images"] == N_SOURCES
    sources = [np.asarray(Image.open(p)) for p in domains["sources"]]
    for out, src in zip(outputs, sources):
        assert out.shape == src.shape and out.dtype == np.uint8
    # Closer to the target style than the source was: the mean colour moves towards the targets'.
    target_mean = np.mean([np.asarray(Image.open(p)).reshape(-1, 3).mean(axis=0) for p in domains["train"]], axis=0)
    gap_before = np.abs(np.mean([s.reshape(-1, 3).mean(axis=0) for s in sources], axis=0) - target_mean).sum()
    gap_after = np.abs(np.mean([o.reshape(-1, 3).mean(axis=0) for o in outputs], axis=0) - target_mean).sum()
    assert gap_after < 0.5 * gap_before


@pytest.mark.parametrize("name, apply", SETTINGS)
def test_same_seed_same_outputs_other_seed_other_pairing(domains, name, apply):
    first, _ = _apply(domains, name, "a", seed=0, **apply)
    again, _ = _apply(domains, name, "b", seed=0, **apply)
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    other, _ = _apply(domains, name, "c", seed=1, **apply)
    differ = sum(not np.array_equal(x, y) for x, y in zip(first, other))
    if apply.get("reference") == "pooled":
        assert differ == 0  # the pooled reference involves no draw
    else:
        assert differ > 0


def test_process_pool_gives_the_same_outputs(domains):
    one, _ = _apply(domains, "fda", "one", workers=1, beta=0.05)
    two, summary = _apply(domains, "fda", "two", workers=2, beta=0.05)
    assert summary["images"] == N_SOURCES
    for x, y in zip(one, two):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["histmatch", "reinhard"])
def test_fit_then_apply_equals_apply_alone(domains, name):
    fitted, _ = _apply(domains, name, "fitted", fit=True, reference="pooled")
    alone, _ = _apply(domains, name, "alone", fit=False, reference="pooled")
    paired_fitted, _ = _apply(domains, name, "paired_fitted", fit=True, reference="pair")
    paired_alone, _ = _apply(domains, name, "paired_alone", fit=False, reference="pair")
    for x, y in zip(fitted + paired_fitted, alone + paired_alone):
        np.testing.assert_array_equal(x, y)


def test_pairing_is_deterministic_per_image_id_and_seed(domains):
    references = refs.target_references(_ctx(domains))
    sources = domains["sources"]
    pairs = refs.paired_references(sources, references, seed=0)
    assert pairs == refs.paired_references(sources, references, seed=0)
    # Per image: independent of the other sources and of the order they come in.
    assert refs.paired_references(sources[::-1][:3], references, seed=0) == pairs[::-1][:3]
    # Independent of the order the references were listed in.
    shuffled = Context("gta5", "cityscapes", 0, {"cityscapes": domains["train"][::-1]})
    assert refs.target_references(shuffled) == references
    # Another seed, another pairing (over many ids, some pair differs).
    ids = [domains["tmp"] / f"{i:05d}.png" for i in range(50)]
    assert refs.paired_references(ids, references, 0) != refs.paired_references(ids, references, 1)
    assert len(set(refs.paired_references(ids, references, 0))) > 1


def test_fda_pairs_each_source_with_its_drawn_reference_resized(domains):
    outputs, _ = _apply(domains, "fda", "fda", beta=0.09)
    references = refs.target_references(_ctx(domains))
    for out, src_path, ref_path in zip(outputs, domains["sources"], refs.paired_references(domains["sources"], references, 0)):
        src = np.asarray(Image.open(src_path))
        ref = refs.resize_rgb(np.asarray(Image.open(ref_path)), *src.shape[:2])  # 64x32 -> 60x33
        np.testing.assert_array_equal(out, fda_transfer(src, ref, 0.09))


@pytest.mark.parametrize("name, apply", SETTINGS)
def test_only_target_training_images_serve_as_references(domains, name, apply, monkeypatch):
    read = []
    original = refs.read_rgb
    monkeypatch.setattr(refs, "read_rgb", lambda path: read.append(path) or original(path))
    _apply(domains, name, "spy", fit=name != "fda", **apply)
    allowed = set(domains["sources"]) | set(domains["train"])
    assert read and set(read) <= allowed
    assert not set(read) & set(domains["test"])
    references = {p for p in read if p in set(domains["train"])}
    assert references  # the style came from target training images


def test_no_target_training_images_is_a_clear_error(domains):
    ctx = Context("gta5", "cityscapes", 0, {"cityscapes": []})
    with pytest.raises(ValueError, match="no cityscapes training images"):
        _build("fda", beta=0.01).apply(ctx, domains["tmp"], domains["sources"], [domains["tmp"] / "x.png"] * N_SOURCES)


def test_reference_choice_is_checked():
    cls = get("reinhard")
    with pytest.raises(ConfigError, match=r"reinhard.apply.reference: 'mean' is not one of \[pair \| pooled\]"):
        from_dict(cls.Apply, {"reference": "mean"}, "reinhard.apply")
