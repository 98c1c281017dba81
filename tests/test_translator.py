"""UNIT: network shapes, one step, learning, checkpoints, resume, DDP, translate geometry."""
from __future__ import annotations

import dataclasses
import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from PIL import Image

from stylenorm.normalizers.unit.config import UNITFit
from stylenorm.normalizers.unit.model import UNITModel, build_generator
from stylenorm.normalizers.unit.networks import Encoder, Generator, MultiScaleDiscriminator, UNITGenerator
from stylenorm.translators.train import load_generator, train_translator
from stylenorm.translators.translate import translate_batch

CPU = torch.device("cpu")


@pytest.fixture
def cfg(params):
    return params.normalizer("unit").fit


def train_unit(cfg, **kw):
    return train_translator(UNITModel, cfg, name="unit", **kw)


def finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all())


def test_network_shapes_and_no_nans():
    x = torch.randn(2, 3, 32, 48)
    enc = Encoder(dim=8, n_down=2, n_res=1)
    h = enc(x)
    assert h.shape == (2, 32, 8, 12) and finite(h)
    y = Generator(dim=32, n_up=2, n_res=1)(h)
    assert y.shape == (2, 3, 32, 48) and finite(y) and y.abs().max() <= 1
    outs = MultiScaleDiscriminator(dim=8, n_layer=2, num_scales=3)(x)
    assert [o.shape[-2:] for o in outs] == [(8, 12), (4, 6), (2, 3)] and all(finite(o) for o in outs)
    net = UNITGenerator(dim=8, n_down=2, n_res=2, n_shared=1)
    out = net(x, torch.randn(2, 3, 32, 48))
    for name in ("rec_A", "rec_B", "fake_A", "fake_B", "cyc_A", "cyc_B"):
        assert out[name].shape == x.shape and finite(out[name]), name
    assert out["mu_A"].shape == (2, 32, 8, 12)


def test_shared_blocks_get_gradient_from_each_domain_alone():
    """The shared-latent assumption: a loss on domain A alone and one on domain B alone both train
    the same shared encoder and generator blocks."""
    torch.manual_seed(0)
    net = UNITGenerator(dim=8, n_down=2, n_res=2, n_shared=1)
    x = torch.rand(1, 3, 32, 32) * 2 - 1

    def params_with_grad(domain: str) -> set[int]:
        net.zero_grad(set_to_none=True)
        F_l1 = torch.nn.functional.l1_loss
        F_l1(net.decode(net.encode(x, domain), domain), x).backward()
        return {id(p) for p in net.parameters() if p.grad is not None and p.grad.abs().sum() > 0}

    from_A, from_B = params_with_grad("A"), params_with_grad("B")
    shared = {id(p) for m in (net.shared_E, net.shared_G) for p in m.parameters()}
    assert shared and shared <= from_A and shared <= from_B
    assert {id(p) for p in net.netE_A.parameters()} <= from_A - from_B  # private layers: one domain each


def test_g_step_leaves_d_alone_and_d_step_leaves_g_alone(cfg):
    """In optimize_parameters the G update must not touch D and the D update must not touch G."""
    model = UNITModel(cfg, CPU, seed=0)
    model.set_input(torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1)
    D_before = {k: v.clone() for k, v in model.netD.state_dict().items()}
    seen = {}
    step_G, step_D = model.optimizer_G.step, model.optimizer_D.step

    def at_G_step(*a, **k):
        seen["D_grads_at_G"] = [p.grad for p in model.netD.parameters()]
        out = step_G(*a, **k)
        seen["D_after_G"] = {k2: v.clone() for k2, v in model.netD.state_dict().items()}
        seen["G_grads"] = [None if p.grad is None else p.grad.clone() for p in model.netG.parameters()]
        seen["G_after_G"] = {k2: v.clone() for k2, v in model.netG.state_dict().items()}
        return out

    def at_D_step(*a, **k):
        seen["G_grads_at_D"] = [None if p.grad is None else p.grad.clone() for p in model.netG.parameters()]
        out = step_D(*a, **k)
        seen["G_after_D"] = {k2: v.clone() for k2, v in model.netG.state_dict().items()}
        return out

    model.optimizer_G.step, model.optimizer_D.step = at_G_step, at_D_step
    model.optimize_parameters()
    assert all(g is None for g in seen["D_grads_at_G"])  # backward_G put no gradient into D
    for k, v in D_before.items():
        torch.testing.assert_close(seen["D_after_G"][k], v, rtol=0, atol=0)
    for a, b in zip(seen["G_grads"], seen["G_grads_at_D"]):  # backward_D added nothing to G's gradients
        assert (a is None and b is None) or torch.equal(a, b)
    for k, v in seen["G_after_G"].items():
        torch.testing.assert_close(seen["G_after_D"][k], v, rtol=0, atol=0)
    assert any(not torch.equal(D_before[k], v) for k, v in model.netD.state_dict().items())  # D did train


def test_one_step_changes_weights_with_finite_losses(cfg):
    model = UNITModel(cfg, CPU, seed=0)
    before_G = [p.detach().clone() for p in model.netG.parameters()]
    before_D = [p.detach().clone() for p in model.netD.parameters()]
    model.set_input(torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1)
    model.optimize_parameters()
    losses = model.current_losses()
    assert {"loss_G", "loss_D", "loss_cycle_A", "loss_kl_B", "loss_G_adv_A", "loss_D_B"} <= set(losses)
    assert all(np.isfinite(v) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(before_G, model.netG.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_D, model.netD.parameters()))


def test_reconstruction_loss_falls_on_two_images(cfg):
    from stylenorm.synthetic import scene
    from stylenorm.translators.data import to_tensor
    real_A = to_tensor(scene(0, "gta5", 0, 32, 32, "game")[0])[None]  # (1, 3, 32, 32)
    real_B = to_tensor(scene(0, "cityscapes", 0, 32, 32, "real")[0])[None]
    model = UNITModel(dataclasses.replace(cfg, lr=1e-3), CPU, seed=0)
    history = []
    for _ in range(40):
        model.set_input(real_A, real_B)
        model.optimize_parameters()
        history.append(model.current_losses()["loss_rec_A"] + model.current_losses()["loss_rec_B"])
    assert np.mean(history[-5:]) < 0.7 * np.mean(history[:5]), history


def test_checkpoint_round_trip(cfg, tmp_path):
    a = UNITModel(cfg, CPU, seed=0)
    batch = (torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1)
    a.set_input(*batch)
    a.optimize_parameters()
    torch.save(a.state_dict(), tmp_path / "ckpt.pt")
    b = UNITModel(cfg, CPU, seed=123)
    b.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=False))
    for m in (a, b):  # the next step must match too: optimiser moments, schedule and noise restored
        m.set_input(*batch)
        m.optimize_parameters()
    for p, q in zip(a.netG.state_dict().values(), b.netG.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def _train_paths(project):
    from stylenorm import paths
    from stylenorm.domains import cityscapes, gta5
    gta5.write_tree(project / "gA", n=6, seed=0, scale=0.05, missing_rate=0, mismatch_rate=0)
    cityscapes.write_tree(project / "gB", n=6, seed=0, scale=0.05)
    return sorted((project / "gA" / paths.IMAGES).glob("*.png")), sorted((project / "gB").rglob("*_leftImg8bit.png"))


def test_killed_run_resumes_to_identical_weights(cfg, project):
    paths_A, paths_B = _train_paths(project)
    cfg = dataclasses.replace(cfg, iterations=8, checkpoint_every=3)
    common = dict(paths_A=paths_A, paths_B=paths_B, seed=0, progress=False)
    full = train_unit(cfg, model_path=project / "full/model.pt", ckpt_dir=project / "full/ckpt",
                      live_dir=project / "full/live", **common)
    killed = dict(model_path=project / "res/model.pt", ckpt_dir=project / "res/ckpt", live_dir=project / "res/live")
    train_unit(cfg, stop_after=5, **killed, **common)  # "killed" at step 5; last checkpoint at 3
    assert not (project / "res/model.pt").exists()
    resumed = train_unit(cfg, **killed, **common)
    for p, q in zip(full.netG.state_dict().values(), resumed.netG.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    saved, resolved = load_generator(project / "res/model.pt", CPU, build_generator, UNITFit)
    assert resolved["step"] == 8 and resolved["translator"]["iterations"] == 8
    assert resolved["model"] == "unit"  # the normalizer's name (the loss loop once overwrote it with the last loss's)
    steps = (project / "res/live/plots/metrics/train/loss_G.tsv").read_text().splitlines()[1:]
    assert [int(line.split("\t")[0]) for line in steps] == [2, 4, 6, 8]  # no duplicated rows after resume
    assert len(list((project / "res/live/plots/images").glob("grid_*.png"))) >= 1


def test_a_kill_during_a_log_write_still_resumes(cfg, project):
    """A SIGKILL can land while DVCLive rewrites its summary (metrics.json, not written atomically) or appends
    a row: the resume must not fail on the empty summary nor keep the cut row (seen in
    test_killed_translator_resumes_on_next_repro on a loaded machine: JSONDecodeError in Live(resume=True))."""
    paths_A, paths_B = _train_paths(project)
    cfg = dataclasses.replace(cfg, iterations=8, checkpoint_every=3)
    killed = dict(model_path=project / "res/model.pt", ckpt_dir=project / "res/ckpt", live_dir=project / "res/live",
                  paths_A=paths_A, paths_B=paths_B, seed=0, progress=False)
    train_unit(cfg, stop_after=5, **killed)  # last checkpoint at 3, rows logged up to 4
    live = project / "res/live"
    (live / "metrics.json").write_text("")  # cut while the summary was rewritten
    tsv = live / "plots/metrics/train/loss_G.tsv"
    with tsv.open("a") as f:
        f.write("1")  # cut while the row of step 10 (say) was appended: a row of "step 1" with no values
    train_unit(cfg, **killed)
    steps = tsv.read_text().splitlines()[1:]
    assert [int(line.split("\t")[0]) for line in steps] == [2, 4, 6, 8]
    assert json.loads((live / "metrics.json").read_text())["step"] == 8


def _ddp_worker(rank, world, port, cfg, paths_A, paths_B, root):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    model = train_unit(cfg, paths_A=paths_A, paths_B=paths_B, model_path=root / "model.pt", ckpt_dir=root / "ckpt",
                       live_dir=root / "live", seed=0, progress=False)
    torch.save(model.netG.state_dict(), root / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_ddp_two_cpu_processes_keep_identical_weights(cfg, project):
    paths_A, paths_B = _train_paths(project)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = dataclasses.replace(cfg, iterations=3)
    mp.spawn(_ddp_worker, args=(2, port, cfg, paths_A, paths_B, project), nprocs=2, join=True)
    w0, w1 = (torch.load(project / f"rank{r}.pt") for r in (0, 1))
    for k in w0:
        torch.testing.assert_close(w0[k], w1[k], rtol=0, atol=0, msg=k)
    init = UNITModel(cfg, CPU, seed=0).netG.state_dict()
    assert any(not torch.equal(init[k], w0[k]) for k in w0)  # and they did train


def test_content_change_under_the_same_ids_retrains_from_scratch(cfg, project, capsys):
    """A checkpoint of a run on other images is never resumed, even when every file name is the same."""
    from stylenorm.domains import gta5
    paths_A, paths_B = _train_paths(project)
    cfg = dataclasses.replace(cfg, iterations=4, checkpoint_every=2)
    kw = dict(paths_A=paths_A, paths_B=paths_B, seed=0, progress=False, model_path=project / "m/model.pt",
              ckpt_dir=project / "m/ckpt", live_dir=project / "m/live")
    first = {k: v.clone() for k, v in train_unit(cfg, **kw).netG.state_dict().items()}
    gta5.write_tree(project / "gA", n=6, seed=1, scale=0.05, missing_rate=0, mismatch_rate=0)  # new scenes, same ids
    assert sorted((project / "gA" / "images").glob("*.png")) == paths_A
    capsys.readouterr()
    second = train_unit(cfg, **kw).netG.state_dict()
    assert "resuming" not in capsys.readouterr().out
    assert any(not torch.equal(first[k], second[k]) for k in first)


class CropIdentity(torch.nn.Module):
    """A translator that changes no pixel but has a real network's geometry: two stride-2 layers and two
    2x upsamplings keep input column j at output column j and drop what is beyond a multiple of 4."""
    n_downsample = 2

    def translate(self, x, source="A"):
        h, w = x.shape[-2:]
        return x[..., : h - h % 4, : w - w % 4]


def _edge_column(img: Image.Image) -> float:
    """Where a dark-to-bright vertical edge crosses half intensity (sub-pixel)."""
    profile = np.asarray(img.convert("L"), dtype=np.float64).mean(axis=0)
    half = (profile.min() + profile.max()) / 2
    j = int(np.argmax(profile >= half))
    return j - 1 + (half - profile[j - 1]) / (profile[j] - profile[j - 1])


def test_translate_geometry_of_the_study_and_alignment():
    """The study's 1914x1052 -> 931x512 -> 928x512 -> 1914x1052: ``stretch`` moves content, ``pad`` does not."""
    edge = 1800
    a = np.zeros((1052, 1914, 3), dtype=np.uint8)
    a[:, edge:] = 255
    img = Image.fromarray(a)
    kw = dict(new_size=512, full_resolution=False, device=CPU, n_down=2)
    assert translate_batch(CropIdentity(), [img], upsample="none", align="stretch", **kw)[0].size == (928, 512)
    assert translate_batch(CropIdentity(), [img], upsample="none", align="pad", **kw)[0].size == (931, 512)
    stretch = translate_batch(CropIdentity(), [img], upsample="bicubic", align="stretch", **kw)[0]
    pad = translate_batch(CropIdentity(), [img], upsample="bicubic", align="pad", **kw)[0]
    assert stretch.size == pad.size == (1914, 1052)
    shift_stretch, shift_pad = _edge_column(stretch) - edge, _edge_column(pad) - edge
    print(f"edge at column {edge}: stretch moves it {shift_stretch:+.2f} px, pad {shift_pad:+.2f} px")
    assert abs(shift_pad) <= 1.0
    assert 4.0 <= shift_stretch <= 7.0  # 1800 * (931 / 928 - 1) = 5.8 px: the study's misalignment


def test_stretch_and_pad_agree_where_nothing_is_floored():
    """The embedded default's 478x263 -> 232x128 is already a multiple of 4: both alignments give the
    same image there, so `stretch` costs nothing on the embedded data (only at sizes it floors)."""
    img = Image.fromarray(np.random.default_rng(2).integers(0, 255, (263, 478, 3), dtype=np.uint8))
    kw = dict(new_size=128, full_resolution=False, device=CPU, n_down=2, upsample="bicubic")
    a = translate_batch(CropIdentity(), [img], align="stretch", **kw)[0]
    b = translate_batch(CropIdentity(), [img], align="pad", **kw)[0]
    assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.fixture(scope="module")
def paper_generator():
    """The paper profile's geometry (2 downsamplings) with a narrow width, to keep the test fast."""
    return UNITGenerator(dim=4, n_down=2, n_res=1, n_shared=1).eval()


def test_full_resolution_keeps_size_without_resampling(paper_generator):
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (53, 97, 3), dtype=np.uint8))
    out = translate_batch(paper_generator, [img], new_size=32, upsample="bicubic", full_resolution=True, device=CPU, n_down=2)[0]
    assert out.size == img.size


@pytest.mark.parametrize("device, backend", [("cpu", "gloo"), ("cuda", "nccl")])
def test_ddp_backend_follows_the_device_not_the_machine(monkeypatch, device, backend):
    """Under torchrun on a machine with CUDA, a fit run with base.device cpu must join a gloo group (nccl
    cannot reduce CPU tensors); one on the GPU an nccl group."""
    import torch.distributed as dist

    from stylenorm.translators import train
    chosen = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: bool(chosen))
    monkeypatch.setattr(dist, "init_process_group", lambda b, *a, **k: chosen.append(b))
    monkeypatch.setattr(dist, "get_rank", lambda: 0)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    assert train._distributed(torch.device(device)) == (0, 2)
    assert chosen == [backend]
