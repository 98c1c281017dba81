"""The contract every learned translator implements, after CycleGAN's ``BaseModel``
(junyanz/pytorch-CycleGAN-and-pix2pix, ``models/base_model.py``). ``train.train_translator`` reads
nothing else; one translator is one package (``stylenorm/normalizers/<name>/``: networks, model,
params dataclasses) whose model subclasses ``TranslatorModel``.

A subclass sets, as class attributes:

    model_names    e.g. ("G", "D"): the trained modules, ``self.net<name>``, in the order they are
                   built (weight init draws from the global RNG, seeded here). Each has an optimiser
                   ``self.optimizer_<name>`` and a schedule ``self.scheduler_<name>``
                   (``build_optimizer``); ``self.train<name>`` is the module the step calls (the DDP
                   wrapper under several processes), ``self.net<name>`` the bare one. ``netG`` is the
                   generator the apply step loads (a ``TranslatorGenerator``).
    visual_names   rows of the image grid the loop logs, each a tuple of names: a key of ``self.out``
                   (what ``forward`` computed) or an attribute (``real_A``, ``real_B``).
    progress_names the two or so scalars the progress bar shows.

and, in ``__init__`` after the base's, ``self.loss_names``: every scalar ``current_losses`` reports
(losses and diagnostics such as D's accuracies), in logging order. Which losses and images exist
may depend on the config (UNIT's cycle terms, CycleGAN's identity and gradient-penalty terms), so
``__init__`` may set ``self.visual_names`` too.

It implements ``build_networks`` (module by name, initialised), ``build_optimizer`` (optimiser and
schedule of one module), ``forward`` (``self.out``: every image of the step), ``backward_G`` and
``backward_D`` (each writes its terms into ``self.losses`` and calls ``backward`` once). The base
gives ``set_input``, the alternating ``optimize_parameters`` (G step, then D step on the same
fakes, then every schedule), ``current_losses``, ``current_lr``, ``get_current_visuals``,
``state_dict`` / ``load_state_dict`` (every module, optimiser, schedule and random stream, for a
bit-identical resume; ``extra_state`` adds a model's own, e.g. image pools) and ``reseed``.

Random streams: weight init uses the global RNG (seeded with ``seed``); everything drawn during
training comes from ``self.noise`` (a ``torch.Generator`` on the device, checkpointed) or from
generators the model owns and checkpoints in ``extra_state``, never from the global RNG.

The loop also reads these fields of the config (``LoopConfig``): iterations, batch_size, new_size,
crop_size, log_every, image_every, checkpoint_every; the base reads precision and channels_last.
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict
from typing import ClassVar, Protocol

import torch
import torch.nn as nn


class LoopConfig(Protocol):
    """The fields of a translator's ``fit`` dataclass that the loop and the base model read."""

    iterations: int        # total training steps
    batch_size: int        # image pairs per step
    new_size: int          # training images: shorter side resized to this, pixels
    crop_size: int         # then a random square crop, pixels
    log_every: int         # steps between loss logs
    image_every: int       # steps between image grids
    checkpoint_every: int  # steps between checkpoints
    precision: str         # fp32 | bf16 (autocast)
    channels_last: bool    # NHWC memory format


class TranslatorGenerator(nn.Module):
    """What the apply step asks of a saved generator (``netG``): ``translate(x, source)`` maps images of
    domain ``source`` ("A" or "B") into the other domain, deterministically, and inputs whose sides are
    multiples of ``2 ** n_downsample`` keep their size. A multimodal generator's ``translate`` also takes
    ``style=`` (B, S) codes, one per image, which its normalizer's ``style_codes`` supplies
    (``stylenorm/normalizers/_translator.py``)."""

    n_downsample: int

    def translate(self, x: torch.Tensor, source: str = "A") -> torch.Tensor:  # (B, 3, H, W) -> (B, 3, H, W)
        raise NotImplementedError


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class TranslatorModel:
    """Base class of the translator models (see the module docstring for the contract).

    ``wrap`` (e.g. a DistributedDataParallel constructor) is applied to every module; the unwrapped
    modules stay reachable as ``self.net<name>``.
    """

    model_names: ClassVar[tuple[str, ...]] = ("G", "D")
    visual_names: ClassVar[tuple[tuple[str, ...], ...]] = ()
    progress_names: ClassVar[tuple[str, ...]] = ("loss_G", "loss_D")

    def __init__(self, cfg, device: torch.device, seed: int = 0, wrap=None):
        self.cfg, self.device = cfg, device
        torch.manual_seed(seed)  # weight init: the same seed gives the same networks
        nets = self.build_networks(cfg)
        for name in self.model_names:
            net = nets[name].to(device)
            if cfg.channels_last:
                net.to(memory_format=torch.channels_last)
            setattr(self, f"net{name}", net)
        for name in self.model_names:
            net = getattr(self, f"net{name}")
            setattr(self, f"train{name}", wrap(net) if wrap else net)
        for name in self.model_names:
            optimizer, scheduler = self.build_optimizer(name, getattr(self, f"net{name}"))
            setattr(self, f"optimizer_{name}", optimizer)
            setattr(self, f"scheduler_{name}", scheduler)
        self.noise = torch.Generator(device=device).manual_seed(seed)  # checkpointed
        self.loss_names: list[str] = []
        self.losses: dict[str, torch.Tensor] = {}
        self.out: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ what a subclass implements
    @staticmethod
    def build_generator(cfg) -> TranslatorGenerator:
        """``netG`` alone, initialised: what the apply step loads the saved generator into."""
        raise NotImplementedError

    def build_networks(self, cfg) -> dict[str, nn.Module]:
        """Every module of ``model_names``, initialised, built in that order."""
        raise NotImplementedError

    def build_optimizer(self, name: str, net: nn.Module):
        """(optimiser, lr schedule) of module ``net<name>``."""
        raise NotImplementedError

    def forward(self) -> None:
        """Fill ``self.out`` with every image of the step (``fake_B``, ``rec_A``, ...)."""
        raise NotImplementedError

    def backward_G(self) -> None:
        raise NotImplementedError

    def backward_D(self) -> None:
        raise NotImplementedError

    def extra_state(self) -> dict:
        """Checkpointed state beyond modules, optimisers, schedules and ``self.noise`` (e.g. image pools)."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def reseed(self, seed: int) -> None:
        """Fresh random streams (e.g. one per DDP rank); a model with streams of its own extends it."""
        self.noise.manual_seed(seed)

    # ------------------------------------------------------------------ the step
    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [getattr(self, f"optimizer_{name}") for name in self.model_names]

    @property
    def schedulers(self) -> list:
        return [getattr(self, f"scheduler_{name}") for name in self.model_names]

    def _autocast(self):
        if self.cfg.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def set_input(self, real_A: torch.Tensor, real_B: torch.Tensor) -> None:
        fmt = torch.channels_last if self.cfg.channels_last else torch.contiguous_format
        self.real_A = real_A.to(self.device, non_blocking=True).contiguous(memory_format=fmt)  # (B, 3, H, W)
        self.real_B = real_B.to(self.device, non_blocking=True).contiguous(memory_format=fmt)

    def optimize_parameters(self) -> None:
        """One generator forward serves both updates: the G step (D's weights need no gradients), then the
        D step on the same fakes, detached; then every schedule steps."""
        self.forward()
        set_requires_grad(self.netD, False)
        self.optimizer_G.zero_grad(set_to_none=True)
        self.backward_G()
        self.optimizer_G.step()
        set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad(set_to_none=True)
        self.backward_D()
        self.optimizer_D.step()
        for scheduler in self.schedulers:
            scheduler.step()

    # ------------------------------------------------------------------ what the loop reads
    def current_losses(self) -> dict[str, float]:
        """The scalars of ``loss_names`` computed so far this step."""
        return {k: float(self.losses[k].detach()) for k in self.loss_names if k in self.losses}

    def current_lr(self) -> float:
        """The learning rate of the first module's optimiser (the generator's)."""
        return self.schedulers[0].get_last_lr()[0]

    def get_current_visuals(self) -> list[list[torch.Tensor]]:
        """The image grid's rows (``visual_names``), each image a (B, 3, H, W) batch."""
        return [[self.out[n] if n in self.out else getattr(self, n) for n in row] for row in self.visual_names]

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        state = {f"net{n}": getattr(self, f"net{n}").state_dict() for n in self.model_names}
        state.update({f"optimizer_{n}": getattr(self, f"optimizer_{n}").state_dict() for n in self.model_names})
        state.update({f"scheduler_{n}": getattr(self, f"scheduler_{n}").state_dict() for n in self.model_names})
        state.update(self.extra_state())
        state.update(noise=self.noise.get_state(), config=asdict(self.cfg))
        return state

    def load_state_dict(self, state: dict) -> None:
        for kind in ("net", "optimizer_", "scheduler_"):
            for n in self.model_names:
                getattr(self, f"{kind}{n}").load_state_dict(state[f"{kind}{n}"])
        self.load_extra_state(state)
        self.noise.set_state(state["noise"].cpu())  # a GPU resume loads it onto the GPU; generator states are CPU bytes
