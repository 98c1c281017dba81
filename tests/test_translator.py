"""UNIT: network shapes, one step, learning, checkpoints, resume, DDP, translate geometry."""
from __future__ import annotations

import dataclasses
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from PIL import Image

from stylenorm.translators.networks import Encoder, Generator, MultiScaleDiscriminator, UNITGenerator
from stylenorm.translators.train import load_generator, train_unit
from stylenorm.translators.translate import translate_batch
from stylenorm.translators.unit import UNITModel

CPU = torch.device("cpu")


@pytest.fixture
def cfg(params):
    return params.translator


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
    # The shared blocks are one module used by both domains (the shared-latent assumption).
    assert net.shared_E is not None and sum(p.numel() for p in net.shared_E.parameters()) > 0


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
    from stylenorm.synthetic import write_cityscapes_tree, write_gta5_tree
    write_gta5_tree(project / "gA", n=6, seed=0, scale=0.05, missing_rate=0, mismatch_rate=0)
    write_cityscapes_tree(project / "gB", n=6, seed=0, scale=0.05)
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
    saved, resolved = load_generator(project / "res/model.pt", CPU)
    assert resolved["step"] == 8 and resolved["translator"]["iterations"] == 8
    steps = (project / "res/live/plots/metrics/train/loss_G.tsv").read_text().splitlines()[1:]
    assert [int(line.split("\t")[0]) for line in steps] == [2, 4, 6, 8]  # no duplicated rows after resume
    assert len(list((project / "res/live/plots/images").glob("grid_*.png"))) >= 1


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


@pytest.fixture(scope="module")
def paper_generator():
    """The paper profile's geometry (2 downsamplings) with a narrow width, to keep the test fast."""
    net = UNITGenerator(dim=4, n_down=2, n_res=1, n_shared=1).eval()
    return net


def test_translate_geometry_of_the_study(paper_generator):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (1052, 1914, 3), dtype=np.uint8))
    kw = dict(new_size=512, full_resolution=False, device=CPU, n_down=2)
    raw = translate_batch(paper_generator, [img], upsample="none", **kw)[0]
    assert raw.size == (928, 512)  # 1914x1052 -> 931x512 -> 465 -> 232 -> x4 = 928
    back = translate_batch(paper_generator, [img], upsample="bicubic", **kw)[0]
    assert back.size == (1914, 1052)
    assert not np.array_equal(np.asarray(back), np.asarray(img))


def test_full_resolution_keeps_size_without_resampling(paper_generator):
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (53, 97, 3), dtype=np.uint8))
    out = translate_batch(paper_generator, [img], new_size=32, upsample="bicubic", full_resolution=True, device=CPU, n_down=2)[0]
    assert out.size == img.size
