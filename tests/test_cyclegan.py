"""CycleGAN: network shapes and sizes, the training contract, image pool, losses, schedule, checkpoints."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn as nn

from stylenorm.config import ConfigError, from_dict
from stylenorm.normalizers.cyclegan.config import CycleGANFit
from stylenorm.normalizers.cyclegan.model import CycleGANModel, ImagePool, build_generator
from stylenorm.normalizers.cyclegan.networks import (CycleGANGenerators, GANLoss, NLayerDiscriminator, ResnetGenerator,
                                                     gradient_penalty)

CPU = torch.device("cpu")
TINY = CycleGANFit(ngf=4, ndf=4, n_blocks=1, n_layers_D=3, pool_size=4, new_size=32, crop_size=32, batch_size=2,
                   iterations=10, decay_iterations=5)


def finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all())


def batch(seed: int = 0, n: int = 2, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(n, 3, size, size, generator=g) * 2 - 1 for _ in range(2))


def clone_params(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------- networks
def test_network_shapes_and_no_nans():
    x = torch.randn(2, 3, 32, 48)
    for norm in ("instance", "batch"):
        y = ResnetGenerator(ngf=8, n_blocks=2, norm=norm)(x)
        assert y.shape == x.shape and finite(y) and y.abs().max() <= 1
    scores = NLayerDiscriminator(ndf=8, n_layers=3)(torch.randn(2, 3, 64, 64))
    assert scores.shape == (2, 1, 6, 6) and finite(scores)  # 64 -> 32 -> 16 -> 8 -> 7 -> 6
    out = CycleGANGenerators(ngf=4, n_blocks=1)(x, torch.randn(2, 3, 32, 48))
    for name in ("fake_A", "fake_B", "rec_A", "rec_B", "idt_A", "idt_B"):
        assert out[name].shape == x.shape and finite(out[name]), name


def test_sizes_match_the_reference_implementation():
    # The reference prints 11.378 M parameters for resnet_9blocks (ngf 64) and 2.765 M for the basic D (ndf 64).
    assert round(n_params(ResnetGenerator(64, 9)) / 1e6, 3) == 11.378
    assert round(n_params(NLayerDiscriminator(64, 3)) / 1e6, 3) == 2.765


def test_patchgan_sees_70x70_patches():
    disc = NLayerDiscriminator(ndf=4, n_layers=3, norm="none")  # instance norm would couple every position
    x = torch.randn(1, 3, 128, 128, requires_grad=True)
    scores = disc(x)  # (1, 1, 14, 14)
    scores[0, 0, 7, 7].backward()
    rows = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 3))).flatten()
    cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 2))).flatten()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_translate_uses_the_named_direction_deterministically():
    net = build_generator(TINY).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    to_B, to_A = net.translate(x, "A"), net.translate(x, source="B")
    assert not to_B.requires_grad
    torch.testing.assert_close(to_B, net.netG_A(x), rtol=0, atol=0)
    torch.testing.assert_close(to_A, net.netG_B(x), rtol=0, atol=0)
    assert not torch.equal(to_A, to_B)
    torch.testing.assert_close(net.translate(x, "A"), to_B, rtol=0, atol=0)
    fresh = build_generator(TINY)  # the generator alone saves and loads, as load_generator does for UNIT
    fresh.load_state_dict(net.state_dict())
    torch.testing.assert_close(fresh.eval().translate(x, "A"), to_B, rtol=0, atol=0)


# ----------------------------------------------------------------------------- training contract
def test_one_step_changes_every_network():
    model = CycleGANModel(TINY, CPU, seed=0)
    nets = {name: getattr(model.netG if "G" in name else model.netD, name) for name in ("netG_A", "netG_B", "netD_A", "netD_B")}
    before = {name: clone_params(net) for name, net in nets.items()}
    model.set_input(*batch())
    model.optimize_parameters()
    for name, net in nets.items():
        assert any(not torch.equal(before[name][k], p) for k, p in net.named_parameters()), name
    losses = model.current_losses()
    assert {"loss_G", "loss_D", "loss_G_A", "loss_G_B", "loss_cycle_A", "loss_cycle_B", "loss_idt_A", "loss_idt_B",
            "loss_D_A", "loss_D_B", "acc_D_A_real", "acc_D_A_fake", "acc_D_B_real", "acc_D_B_fake"} <= set(losses)
    assert all(np.isfinite(v) for v in losses.values())
    assert set(model.out) >= {"fake_B", "rec_A", "idt_A", "fake_A", "rec_B", "idt_B"}


@pytest.mark.parametrize("pool_size", [4, 0])
def test_each_update_touches_only_its_own_networks(pool_size):
    model = CycleGANModel(dataclasses.replace(TINY, pool_size=pool_size), CPU, seed=0)
    model.set_input(*batch())
    model.forward()
    weights_D = clone_params(model.netD)
    model.backward_G()
    assert all(p.grad is None for p in model.netD.parameters())
    assert all(torch.equal(weights_D[k], p) for k, p in model.netD.named_parameters())
    assert all(p.grad is not None for p in model.netG.parameters())
    weights_G = clone_params(model.netG)
    grads_G = {k: p.grad.clone() for k, p in model.netG.named_parameters()}
    model.backward_D()
    assert all(torch.equal(grads_G[k], p.grad) for k, p in model.netG.named_parameters())
    assert all(torch.equal(weights_G[k], p) for k, p in model.netG.named_parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.netD.parameters())
    # and the G step's loss does not include D's: the D step left loss_G as it was
    assert model.current_losses()["loss_G"] == pytest.approx(sum(v for k, v in model.current_losses().items()
                                                                  if k.startswith(("loss_G_", "loss_cycle_", "loss_idt_"))))


def test_image_pool_returns_stored_fakes_half_the_time():
    pool = ImagePool(size=5, seed=0)

    def held() -> set[float]:
        return {float(img[0, 0, 0, 0]) for img in pool.images}

    def image(value: float, n: int = 1) -> torch.Tensor:
        return torch.full((n, 1, 2, 2), value)

    for i in range(5):  # filling: every image comes straight back and is kept
        assert float(pool.query(image(i))[0, 0, 0, 0]) == i
    assert held() == {0, 1, 2, 3, 4}
    from_history, n = 0, 4000
    for i in range(5, 5 + n):
        before = held()
        value = float(pool.query(image(i))[0, 0, 0, 0])
        if value == i:  # the new fake itself; the pool is unchanged
            assert held() == before
        else:  # an older fake, which the new one replaces
            assert value in before and held() == (before - {value}) | {i}
            from_history += 1
    assert abs(from_history / n - 0.5) < 0.04, from_history / n  # 4000 draws: 1 sd = 0.008
    assert pool.query(image(-1.0, n=3)).shape == (3, 1, 2, 2) and len(pool.images) == 5
    new = image(-2.0)
    assert ImagePool(size=0).query(new) is new


def test_identity_loss_is_zero_for_identity_generators():
    class Identity(nn.Module):  # a generator that returns its input times a trainable scale (1: exactly)
        def __init__(self, scale: float = 1.0):
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(scale))

        def forward(self, x):
            return x * self.scale

    model = CycleGANModel(TINY, CPU, seed=0)
    model.set_input(*batch())
    model.forward()
    model.backward_G()
    assert model.current_losses()["loss_idt_A"] > 0 and model.current_losses()["loss_idt_B"] > 0
    model.netG.netG_A, model.netG.netG_B = Identity(), Identity()
    model.forward()
    model.backward_G()
    losses = model.current_losses()
    assert losses["loss_idt_A"] == 0 and losses["loss_idt_B"] == 0
    assert losses["loss_cycle_A"] == 0 and losses["loss_cycle_B"] == 0
    # and the weight is lambda_identity * lambda: a constant generator x -> 0 scores 0.5 * 10 * mean|real|
    model.netG.netG_A, model.netG.netG_B = Identity(0.0), Identity()
    model.forward()
    model.backward_G()
    expected = 0.5 * 10.0 * float(model.real_B.abs().mean())
    assert model.current_losses()["loss_idt_A"] == pytest.approx(expected, rel=1e-6)


def test_checkpoint_round_trip_is_bit_identical(tmp_path):
    cfg = dataclasses.replace(TINY, pool_size=2, dropout_D=0.3, gp_weight=1.0)  # every random draw in play
    a = CycleGANModel(cfg, CPU, seed=0)
    for step in range(3):
        a.set_input(*batch(step))
        a.optimize_parameters()
    torch.save(a.state_dict(), tmp_path / "ckpt.pt")
    b = CycleGANModel(cfg, CPU, seed=123)
    b.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=False))
    for step in range(3, 6):
        for m in (a, b):
            m.set_input(*batch(step))
            m.optimize_parameters()
        assert a.current_losses() == b.current_losses()
    for net in ("netG", "netD"):
        for p, q in zip(getattr(a, net).state_dict().values(), getattr(b, net).state_dict().values()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    for pool in ("fake_A_pool", "fake_B_pool"):
        for p, q in zip(getattr(a, pool).images, getattr(b, pool).images, strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert a.scheduler_G.get_last_lr() == b.scheduler_G.get_last_lr()


def test_linear_decay_reaches_zero_at_the_last_iteration():
    cfg = dataclasses.replace(TINY, iterations=10, decay_iterations=4, lr=0.0002)
    model = CycleGANModel(cfg, CPU, seed=0)
    lrs = []
    for _ in range(cfg.iterations):
        lrs.append(model.scheduler_G.get_last_lr()[0])  # the rate step t trains with
        model.optimizer_G.step(), model.optimizer_D.step()
        model.scheduler_G.step(), model.scheduler_D.step()
    np.testing.assert_allclose(lrs, 0.0002 * np.array([1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25]), rtol=1e-12)
    assert model.scheduler_G.get_last_lr()[0] == 0 and model.scheduler_D.get_last_lr()[0] == 0
    const = CycleGANModel(dataclasses.replace(cfg, decay_iterations=0), CPU, seed=0)
    for _ in range(cfg.iterations):
        const.optimizer_G.step(), const.scheduler_G.step()
    assert const.scheduler_G.get_last_lr()[0] == 0.0002


@pytest.mark.parametrize("options", [
    dict(gan_mode="lsgan"), dict(gan_mode="vanilla"), dict(gan_mode="wgangp", gp_weight=10.0),
    dict(gan_mode="lsgan", gp_weight=1.0, dropout_D=0.5, norm_G="batch"),
    dict(gan_mode="vanilla", precision="bf16", channels_last=True, lambda_identity=0.0),
])
def test_each_option_runs_a_step_with_finite_losses(options):
    model = CycleGANModel(dataclasses.replace(TINY, **options), CPU, seed=0)
    before = clone_params(model.netD)
    for step in range(2):
        model.set_input(*batch(step))
        model.optimize_parameters()
    losses = model.current_losses()
    assert all(np.isfinite(v) for v in losses.values()), losses
    assert all(0 <= losses[f"acc_{d}_{s}"] <= 1 for d in ("D_A", "D_B") for s in ("real", "fake"))
    assert ("loss_gp_D_A" in losses) == (options.get("gp_weight", 0) > 0)
    assert ("loss_idt_A" in losses) == (options.get("lambda_identity", 0.5) > 0)
    assert any(not torch.equal(before[k], p) for k, p in model.netD.named_parameters())


def test_gan_losses_and_accuracy_thresholds():
    pred = torch.tensor([-1.0, 0.2, 0.7, 2.0])
    ls, bce, w = GANLoss("lsgan"), GANLoss("vanilla"), GANLoss("wgangp")
    assert float(ls(pred, True)) == pytest.approx(np.mean([4, 0.64, 0.09, 1]))
    assert float(ls(pred, False)) == pytest.approx(np.mean([1, 0.04, 0.49, 4]))
    assert float(bce(pred, True)) == pytest.approx(float(np.mean(np.log1p(np.exp(-pred.numpy())))), rel=1e-6)
    assert float(w(pred, True)) == pytest.approx(-0.475) and float(w(pred, False)) == pytest.approx(0.475)
    assert float(ls.accuracy(pred, True)) == 0.5 and float(ls.accuracy(pred, False)) == 0.5  # threshold 0.5
    assert float(bce.accuracy(pred, True)) == 0.75 and float(bce.accuracy(pred, False)) == 0.25  # threshold 0


def test_gradient_penalty_vanishes_for_a_unit_gradient_critic():
    # A critic that sums its input / sqrt(numel) has input gradient norm exactly 1: penalty 0. Scaled by 2: (2 - 1)^2.
    x = torch.randn(3, 3, 4, 4, requires_grad=True)
    (gp1,) = gradient_penalty([x.sum(dim=(1, 2, 3)) / 48 ** 0.5], [x])
    (gp2,) = gradient_penalty([2 * x.sum(dim=(1, 2, 3)) / 48 ** 0.5], [x])
    assert float(gp1) == pytest.approx(0, abs=1e-6) and float(gp2) == pytest.approx(1, rel=1e-5)


def test_gradient_penalty_enters_the_discriminators_loss():
    runs = {}
    for gp_weight in (0.0, 10.0):
        model = CycleGANModel(dataclasses.replace(TINY, gp_weight=gp_weight, pool_size=0), CPU, seed=0)
        model.set_input(*batch())
        model.optimize_parameters()
        runs[gp_weight] = model
    with_gp, without = runs[10.0], runs[0.0]
    # same G step (the penalty is D's alone), different D step
    for p, q in zip(with_gp.netG.parameters(), without.netG.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert any(not torch.equal(p, q) for p, q in zip(with_gp.netD.parameters(), without.netD.parameters()))
    a, b = with_gp.current_losses(), without.current_losses()
    assert a["loss_D_A"] == pytest.approx(b["loss_D_A"] + 10.0 * a["loss_gp_D_A"], rel=1e-5)
    assert a["loss_D_B"] == pytest.approx(b["loss_D_B"] + 10.0 * a["loss_gp_D_B"], rel=1e-5)


def test_config_loads_strictly_and_checks_ranges():
    raw = dataclasses.asdict(TINY)
    assert from_dict(CycleGANFit, raw, "cyclegan.fit") == TINY
    with pytest.raises(ConfigError, match=r"cyclegan\.fit\.gan_mode"):
        from_dict(CycleGANFit, {**raw, "gan_mode": "hinge"}, "cyclegan.fit")
    with pytest.raises(ConfigError, match=r"cyclegan\.fit\.gp_weight"):
        CycleGANFit(gan_mode="wgangp")
    with pytest.raises(ConfigError, match=r"cyclegan\.fit\.crop_size"):
        CycleGANFit(new_size=300, crop_size=258)
    with pytest.raises(ConfigError, match=r"cyclegan\.fit\.decay_iterations"):
        CycleGANFit(iterations=10, decay_iterations=11)
