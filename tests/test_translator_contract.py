"""The translator contract (stylenorm/translators/base.py): the shared loop drives any model on it, and a
translator's checkpoint fingerprint covers its own package and the shared code, no other translator's."""
from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import torch
import torch.nn as nn

from stylenorm import normalizers
from stylenorm.translators import train as loop
from stylenorm.translators.base import TranslatorGenerator, TranslatorModel
from tests.test_translator import _train_paths

CPU = torch.device("cpu")
SHARED = Path(inspect.getfile(loop)).resolve().parent  # stylenorm/translators/


@dataclasses.dataclass(frozen=True)
class ToyFit:
    iterations: int = 4
    batch_size: int = 1
    new_size: int = 16
    crop_size: int = 16
    log_every: int = 1
    image_every: int = 2
    checkpoint_every: int = 2
    precision: str = "fp32"
    channels_last: bool = False


class ToyGenerator(TranslatorGenerator):
    n_downsample = 0

    def __init__(self):
        super().__init__()
        self.to_B, self.to_A = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

    def translate(self, x, source="A"):
        return torch.tanh((self.to_B if source == "A" else self.to_A)(x))


class ToyModel(TranslatorModel):
    """A third translator with names of its own: no loss_G / loss_D keys, no rec_* or cyc_* images,
    a generator without ``n_downsample`` tricks. The loop must need nothing beyond the contract."""

    model_names = ("G", "D")
    visual_names = (("real_A", "fake_B"), ("real_B", "fake_A"))
    progress_names = ("loss_gen", "loss_disc")
    build_generator = staticmethod(lambda cfg: ToyGenerator())

    def __init__(self, cfg, device, seed=0, wrap=None):
        super().__init__(cfg, device, seed=seed, wrap=wrap)
        self.loss_names = ["loss_gen", "loss_disc"]

    def build_networks(self, cfg):
        return {"G": ToyGenerator(), "D": nn.Conv2d(3, 1, 3)}

    def build_optimizer(self, name, net):
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, 2, 0.5)

    def forward(self):
        self.out = {"fake_B": self.trainG.translate(self.real_A, "A"), "fake_A": self.trainG.translate(self.real_B, "B")}

    def backward_G(self):
        self.losses["loss_gen"] = ((self.netD(self.out["fake_B"]) - 1) ** 2).mean()
        self.losses["loss_gen"].backward()

    def backward_D(self):
        fake, real = self.trainD(self.out["fake_B"].detach()), self.trainD(self.real_B)
        self.losses["loss_disc"] = (fake ** 2).mean() + ((real - 1) ** 2).mean()
        self.losses["loss_disc"].backward()


def test_the_loop_trains_a_model_that_only_keeps_the_contract(project):
    paths_A, paths_B = _train_paths(project)
    kw = dict(name="toy", paths_A=paths_A, paths_B=paths_B, model_path=project / "toy/model.pt", ckpt_dir=project / "toy/ckpt",
              live_dir=project / "toy/live", seed=0, progress=False)
    model = loop.train_translator(ToyModel, ToyFit(), **kw)
    metrics = project / "toy/live/plots/metrics/train"
    assert {p.stem for p in metrics.glob("*.tsv")} == {"loss_gen", "loss_disc", "lr"}
    lrs = [float(line.split("\t")[-1]) for line in (metrics / "lr.tsv").read_text().splitlines()[1:]]
    assert lrs == [0.1, 0.05, 0.05, 0.025]  # current_lr(): the first module's schedule, after each step
    grids = sorted((project / "toy/live/plots/images").glob("grid_*.png"))
    assert len(grids) == 2
    from PIL import Image
    assert Image.open(grids[-1]).size == (2 * 16, 2 * 16)  # two rows of visual_names, two images each
    saved, resolved = loop.load_generator(project / "toy/model.pt", CPU, ToyModel.build_generator, ToyFit)
    assert resolved["model"] == "toy" and resolved["step"] == 4
    for p, q in zip(saved.state_dict().values(), model.netG.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert set(model.state_dict()) == {"netG", "netD", "optimizer_G", "optimizer_D", "scheduler_G", "scheduler_D", "noise",
                                       "config"}


def test_a_translators_fingerprint_covers_its_own_package_and_the_shared_code_only():
    learned = {name: normalizers.get(name).model_cls() for name in normalizers.available()
               if normalizers.get(name).learned}
    assert {"unit", "cyclegan"} <= set(learned)
    shared = set(SHARED.glob("*.py"))
    assert {SHARED / "train.py", SHARED / "base.py", SHARED / "data.py"} <= shared
    for name, model_cls in learned.items():
        own = Path(inspect.getfile(model_cls)).resolve().parent
        files = set(loop.code_files(model_cls))
        assert files == shared | set(own.rglob("*.py")), name
        for other, other_cls in learned.items():
            if other != name:  # an edit of another translator's code leaves this one's checkpoint valid
                assert not files & set(Path(inspect.getfile(other_cls)).resolve().parent.rglob("*.py")), (name, other)
