"""MUNIT: network shapes and sizes, AdaIN, one step, resume, the apply step's style modes, and the fit
and normalize stages on the tiny project."""
from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch
from PIL import Image

from stylenorm.config import ConfigError
from stylenorm.normalizers.base import Context
from stylenorm.normalizers.munit.config import MUNITDis, MUNITFit, MUNITGen, MUNITLoss
from stylenorm.normalizers.munit.model import MUNITModel, build_generator
from stylenorm.normalizers.munit.networks import MUNITGenerator, adain
from stylenorm.normalizers.munit.styles import style_codes
from stylenorm.translators.blocks import MultiScaleDiscriminator
from stylenorm.translators.data import resize_short_side, to_tensor
from stylenorm.translators.train import load_generator, train_translator
from stylenorm.translators.translate import translate_files
from tests.test_translator import _train_paths

CPU = torch.device("cpu")
TINY = MUNITFit(gen=MUNITGen(dim=8, style_dim=8, n_downsample=2, n_res=1, mlp_dim=16, activ="relu", pad_type="reflect"),
                dis=MUNITDis(dim=8, n_layer=2, num_scales=2),
                loss=MUNITLoss(gan_w=1, recon_x_w=10, recon_s_w=1, recon_c_w=1, recon_x_cyc_w=0),
                lr=5e-4, beta1=0.5, beta2=0.999, weight_decay=1e-4, lr_step_size=100, lr_gamma=0.5, new_size=32,
                crop_size=32, batch_size=2, iterations=6, log_every=2, image_every=3, checkpoint_every=3,
                precision="fp32", channels_last=False)
LOSSES = ["loss_G_adv_A", "loss_G_adv_B", "loss_rec_A", "loss_rec_B", "loss_rec_s_A", "loss_rec_s_B", "loss_rec_c_A",
          "loss_rec_c_B", "loss_G", "loss_D_A", "loss_D_B", "loss_D"]


def finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all())


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def batch(seed: int = 0, n: int = 2, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(n, 3, size, size, generator=g) * 2 - 1 for _ in "AB")


# ----------------------------------------------------------------------------- networks
def test_network_shapes_and_no_nans():
    net = MUNITGenerator(dim=8, style_dim=8, n_down=2, n_res=1, mlp_dim=16)
    x, y = torch.rand(2, 3, 32, 48) * 2 - 1, torch.rand(2, 3, 32, 48) * 2 - 1
    content, style = net.encode(x, "A")
    assert content.shape == (2, 32, 8, 12) and style.shape == (2, 8) and finite(content) and finite(style)
    out = net(x, y, cycle=True)
    for name in ("rec_A", "rec_B", "fake_A", "fake_B", "cyc_A", "cyc_B"):
        assert out[name].shape == x.shape and finite(out[name]) and out[name].abs().max() <= 1, name
    assert out["c_rec_A"].shape == out["c_A"].shape and out["s_rec_A"].shape == out["s_A"].shape == (2, 8)
    assert net.translate(x, "A").shape == x.shape and net.translate(x, "B", style=torch.randn(2, 8)).shape == x.shape
    assert [o.shape[-2:] for o in MultiScaleDiscriminator(8, 2, 3)(x)] == [(8, 12), (4, 6), (2, 3)]


def test_sizes_match_the_authors_implementation():
    # NVlabs/MUNIT at its edges2handbags options (gen dim 64, style_dim 8, n_downsample 2, n_res 4, mlp_dim 256;
    # dis dim 64, n_layer 4, num_scales 3): AdaINGen has 15,026,187 parameters and MsImageDis 8,271,171
    # (counted by benchmarks/bench_munit.py --authors).
    assert n_params(MUNITGenerator(64, 8, 2, 4, 256)) == 2 * 15_026_187
    assert n_params(MultiScaleDiscriminator(64, 4, 3)) == 8_271_171


def test_adain_normalises_each_channel_then_scales_and_shifts_it():
    x = torch.randn(2, 3, 5, 7) * 4 + 3
    weight, bias = torch.tensor([[2.0, 0.5, 1.0], [1.0, 3.0, 0.1]]), torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.0, 4.0]])
    y = adain(x, weight, bias)
    torch.testing.assert_close(y.mean(dim=(2, 3)), bias, atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=(2, 3), unbiased=False), weight ** 2, atol=1e-3, rtol=1e-3)


def test_the_decoder_takes_its_style_from_the_code():
    """A changed style code changes the output; each image of a batch is decoded with its own code."""
    torch.manual_seed(0)
    net = build_generator(TINY).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    s1, s2 = torch.randn(1, 8), torch.randn(1, 8)
    y1, y2 = net.translate(x, "A", style=s1), net.translate(x, "A", style=s2)
    assert (y1 - y2).abs().max() > 1e-3
    torch.testing.assert_close(net.translate(x, "A", style=s1), y1, rtol=0, atol=0)  # deterministic
    mixed = net.translate(x, "A", style=torch.cat([s1, s2]))  # image 0 with s1, image 1 with s2
    torch.testing.assert_close(mixed[0], y1[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mixed[1], y2[1], rtol=1e-5, atol=1e-6)
    # the content is the source's: the same code on another image gives another image
    assert (net.translate(x.flip(0), "A", style=s1) - y1).abs().max() > 1e-3


# ----------------------------------------------------------------------------- training contract
@pytest.mark.parametrize("cycle", [0.0, 10.0])
def test_one_step_changes_every_network_and_logs_every_loss(cycle):
    cfg = dataclasses.replace(TINY, loss=dataclasses.replace(TINY.loss, recon_x_cyc_w=cycle))
    model = MUNITModel(cfg, CPU, seed=0)
    nets = {name: getattr(model.netG, name) for name in ("netEc_A", "netEs_A", "netG_A", "netEc_B", "netEs_B", "netG_B")}
    nets.update(netD_A=model.netD.netD_A, netD_B=model.netD.netD_B)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in nets.items()}
    model.set_input(*batch())
    model.optimize_parameters()
    for name, net in nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), name
    losses = model.current_losses()
    cyc = ["loss_cycle_A", "loss_cycle_B"] if cycle else []
    assert list(losses) == LOSSES[:8] + cyc + LOSSES[8:]
    assert all(np.isfinite(v) for v in losses.values())
    w = cfg.loss
    total = sum(wt * (losses[f"{k}_A"] + losses[f"{k}_B"]) for wt, k in
                [(w.gan_w, "loss_G_adv"), (w.recon_x_w, "loss_rec"), (w.recon_s_w, "loss_rec_s"), (w.recon_c_w, "loss_rec_c"),
                 *([(w.recon_x_cyc_w, "loss_cycle")] if cycle else [])])
    assert losses["loss_G"] == pytest.approx(total, rel=1e-5)
    assert [len(row) for row in model.get_current_visuals()] == [4 if cycle else 3] * 2


def test_killed_run_resumes_to_identical_weights(project):
    paths_A, paths_B = _train_paths(project)
    common = dict(name="munit", paths_A=paths_A, paths_B=paths_B, seed=0, progress=False)
    full = train_translator(MUNITModel, TINY, model_path=project / "full/model.pt", ckpt_dir=project / "full/ckpt",
                            live_dir=project / "full/live", **common)
    killed = dict(model_path=project / "res/model.pt", ckpt_dir=project / "res/ckpt", live_dir=project / "res/live")
    train_translator(MUNITModel, TINY, stop_after=5, **killed, **common)  # "killed" at step 5; last checkpoint at 3
    assert not (project / "res/model.pt").exists()
    resumed = train_translator(MUNITModel, TINY, **killed, **common)
    for net in ("netG", "netD"):
        a, b = getattr(full, net).state_dict(), getattr(resumed, net).state_dict()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=f"{net}.{k}")
    saved, resolved = load_generator(project / "res/model.pt", CPU, build_generator, MUNITFit)
    assert resolved["model"] == "munit" and resolved["step"] == TINY.iterations
    assert isinstance(saved, MUNITGenerator)
    rows = (project / "res/live/plots/metrics/train/loss_rec_s_A.tsv").read_text().splitlines()[1:]
    assert [int(line.split("\t")[0]) for line in rows] == [2, 4, 6]


def test_config_checks_ranges_by_dotted_key():
    with pytest.raises(ConfigError, match=r"munit\.fit\.crop_size"):
        dataclasses.replace(TINY, crop_size=30)
    with pytest.raises(ConfigError, match=r"munit\.fit\.gen\.style_dim"):
        dataclasses.replace(TINY, gen=dataclasses.replace(TINY.gen, style_dim=0))


# ----------------------------------------------------------------------------- apply: style modes
@pytest.fixture
def domains(tmp_path):
    """GTA5-like sources and Cityscapes-like target training images (another size)."""
    from stylenorm.synthetic import scene
    sources, train = [], []
    for i in range(6):
        sources.append(tmp_path / "gta5" / f"{i + 1:05d}.png")
        train.append(tmp_path / "cityscapes" / f"aachen_{i:06d}_000019_leftImg8bit.png")
    for i, (s, t) in enumerate(zip(sources, train)):
        s.parent.mkdir(exist_ok=True)
        t.parent.mkdir(exist_ok=True)
        Image.fromarray(scene(0, "gta5", i, 60, 33, style="game")[0]).save(s)
        Image.fromarray(scene(0, "cityscapes", i, 64, 32, style="real")[0]).save(t)
    torch.manual_seed(0)
    return {"sources": sources, "train": train, "netG": build_generator(TINY).eval()}


def _ctx(domains, seed=0, source="gta5", train=None):
    target = "cityscapes" if source == "gta5" else "gta5"
    images = {"cityscapes": list(train or domains["train"]), "gta5": list(domains["sources"])}
    return Context(source_domain=source, target_domain=target, seed=seed, train_images=images, pair=("gta5", "cityscapes"))


def _codes(domains, mode, sources=None, **ctx):
    return style_codes(domains["netG"], _ctx(domains, **ctx), sources or domains["sources"], mode=mode, new_size=32,
                       batch_size=4, device=CPU)


def _encode(netG, path, domain):
    return netG.style(to_tensor(resize_short_side(Image.open(path).convert("RGB"), 32))[None], domain)[0]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b)) and len(a) == len(b)


def test_random_codes_come_from_the_fit_seed_and_the_image_id(domains):
    codes = _codes(domains, "random")
    assert all(c.shape == (8,) for c in codes) and len({tuple(c.tolist()) for c in codes}) == len(codes)
    assert _same(codes, _codes(domains, "random"))
    assert _same(codes[2:4], _codes(domains, "random", sources=domains["sources"][2:4]))  # whichever subset runs
    assert not any(torch.equal(a, b) for a, b in zip(codes, _codes(domains, "random", seed=1)))
    pooled = torch.stack(codes + _codes(domains, "random", seed=1) + _codes(domains, "random", seed=2))
    assert pooled.abs().max() < 6 and 0.3 < pooled.std() < 2  # N(0, I) draws, not a constant or a scaled code


def test_reference_codes_are_the_paired_target_images_styles(domains):
    from stylenorm.normalizers._references import paired_references
    netG, refs = domains["netG"], sorted(domains["train"], key=lambda p: p.name)
    codes = _codes(domains, "reference")
    for code, ref in zip(codes, paired_references(domains["sources"], refs, 0)):
        torch.testing.assert_close(code, _encode(netG, ref, "B"), rtol=1e-5, atol=1e-6)  # B: Cityscapes' style encoder
    assert _same(codes, _codes(domains, "reference"))
    assert _same(codes[3:], _codes(domains, "reference", sources=domains["sources"][3:]))
    shuffled = list(domains["train"])
    random.Random(0).shuffle(shuffled)
    assert _same(codes, _codes(domains, "reference", train=shuffled))  # pairing by name, not list order
    seeds = [_codes(domains, "reference", seed=s) for s in range(1, 4)]
    assert any(not _same(codes, other) for other in seeds)  # another fit seed, another pairing
    # the other direction takes GTA5's style: its encoder and its training images
    back = style_codes(netG, _ctx(domains, source="cityscapes"), domains["train"][:2], mode="reference", new_size=32,
                       batch_size=4, device=CPU)
    picks = paired_references(domains["train"][:2], sorted(domains["sources"], key=lambda p: p.name), 0)
    torch.testing.assert_close(back[0], _encode(netG, picks[0], "A"), rtol=1e-5, atol=1e-6)


def test_mean_code_is_the_mean_target_style(domains):
    netG = domains["netG"]
    codes = _codes(domains, "mean")
    mean = torch.stack([_encode(netG, p, "B") for p in domains["train"]]).mean(dim=0)
    assert all(torch.equal(c, codes[0]) for c in codes)
    torch.testing.assert_close(codes[0], mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(_codes(domains, "mean", train=domains["train"][::-1])[0], codes[0], rtol=1e-6, atol=1e-6)


def test_translate_files_gives_each_image_its_own_code(domains, tmp_path):
    netG, src = domains["netG"], domains["sources"][0]
    s1, s2 = torch.randn(8), torch.randn(8)
    kw = dict(new_size=32, upsample="none", full_resolution=False, device=CPU, n_down=2, align="pad")
    outs = [tmp_path / f"out{i}.png" for i in range(4)]
    translate_files(netG, [src, src], outs[:2], batch_size=2, styles=[s1, s2], **kw)  # one batch, two codes
    translate_files(netG, [src, src], outs[2:], batch_size=1, styles=[s2, s1], **kw)
    read = [np.asarray(Image.open(p)) for p in outs]
    assert not np.array_equal(read[0], read[1])
    assert np.abs(read[0].astype(int) - read[3]).max() <= 1 and np.abs(read[1].astype(int) - read[2]).max() <= 1
    with pytest.raises(ValueError, match="style codes"):
        translate_files(netG, [src, src], outs[:2], batch_size=2, styles=[s1], **kw)


# ----------------------------------------------------------------------------- the stages
def test_fit_and_normalize_stages_on_the_tiny_project(project, params):
    from stages.fetch import fetch
    from stages.fit import fit
    from stages.normalize import normalize
    from stages.split import split
    from stages.unify_labels import unify_labels
    from stylenorm import paths
    for domain in ("cityscapes", "gta5"):
        fetch(domain, params)
        unify_labels(domain, params)
        split(domain, params)
    summary = fit("munit", 0, params)
    assert set(LOSSES) <= set(summary)
    assert (paths.fit_dir("munit", params.study.pair, 0) / "model.pt").exists()

    def run(mode: str) -> dict[str, bytes]:
        params.normalizers["munit"]["apply"]["mode"] = mode  # the raw section: loaded strictly when built
        normalize("munit", 0, "gta5", params)
        out = paths.normalized_dir("munit", ("gta5", "cityscapes"), 0, "gta5") / paths.IMAGES
        return {p.name: p.read_bytes() for p in sorted(out.glob("*.png"))}

    sampled = sorted((paths.sampled_dir("gta5") / paths.IMAGES).glob("*.png"))
    images = {mode: run(mode) for mode in ("random", "reference", "mean")}
    for mode, files in images.items():
        assert sorted(files) == [p.name for p in sampled], mode
    name = sampled[0].name
    assert Image.open(paths.normalized_dir("munit", ("gta5", "cityscapes"), 0, "gta5") / paths.IMAGES / name).size == Image.open(sampled[0]).size
    assert images["random"] != images["reference"] != images["mean"] != images["random"]
    assert run("reference") == images["reference"]  # a re-run writes the same bytes


@pytest.mark.parametrize("name", ["unit", "munit"])
def test_shared_fit_checks_name_each_translators_own_key(name):
    """UNIT and MUNIT share their training settings' checks (stylenorm/translators/config.py); each error still
    names the translator's own params key."""
    import yaml

    from stylenorm.config import from_dict
    from stylenorm.normalizers.unit.config import UNITFit
    from tests.conftest import REPO
    fit = TINY if name == "munit" else from_dict(UNITFit, yaml.safe_load((REPO / "params.yaml").read_text())["unit"]["fit"],
                                               "unit.fit")
    with pytest.raises(ConfigError, match=rf"^{name}\.fit\.new_size: must be >= 1"):
        dataclasses.replace(fit, new_size=0)
    with pytest.raises(ConfigError, match=rf"^{name}\.fit\.crop_size: must be <= {name}\.fit\.new_size"):
        dataclasses.replace(fit, crop_size=fit.new_size + 4)
