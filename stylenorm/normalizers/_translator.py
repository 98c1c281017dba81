"""What every learned translator shares as a normalizer: fit trains its model (a
``stylenorm.translators.base.TranslatorModel``) with ``stylenorm.translators.train.train_translator``
on the training splits of both domains (A = ``study.source``, B = ``study.target``: GTA5 and
Cityscapes by default), apply translates with
``translate_files``, in either direction. Not a normalizer itself (the leading underscore keeps it
out of the registry)."""
from __future__ import annotations

import shutil
from pathlib import Path

from stylenorm.config import Translate
from stylenorm.normalizers.base import Context, Normalizer

MODEL = "model.pt"


def side(ctx: Context, domain: str) -> str:
    """The translator's side of ``domain``: A = the study's source, B = its target."""
    if domain not in ctx.pair:
        raise ValueError(f"{domain!r} is neither side of the study's pair {ctx.pair} (Context.pair)")
    return "AB"[ctx.pair.index(domain)]


class LearnedTranslator(Normalizer):
    """A translator trained by ``stylenorm.translators.train.train_translator`` and applied by
    ``translate_files``. Subclasses set ``Fit`` (the params dataclass) and ``model_cls`` (the model,
    imported when called, so that reading ``display_name`` needs no torch)."""

    learned = True
    Apply = Translate

    @staticmethod
    def model_cls():
        raise NotImplementedError

    def style_codes(self, netG, ctx: Context, sources: list[Path], device) -> list | None:
        """One style code (a (S,) tensor) per source image for a multimodal translator, whose ``netG.translate``
        then gets them as ``style=``; None (the default) for a translator that takes none."""
        return None

    def fit(self, ctx: Context, out_dir: Path) -> dict:
        from stylenorm.translators.train import train_translator
        if ctx.work_dir is None:
            raise ValueError(f"{self.name}: fit needs a work_dir for its resume point")
        live_dir = Path(ctx.work_dir) / "live"
        model = train_translator(self.model_cls(), self.fit_cfg, name=self.name,
                                 paths_A=ctx.train_images[ctx.pair[0]], paths_B=ctx.train_images[ctx.pair[1]],
                                 model_path=Path(out_dir) / MODEL, ckpt_dir=Path(ctx.work_dir) / "checkpoints",
                                 live_dir=live_dir, seed=ctx.seed, device=ctx.device, num_workers=ctx.num_workers)
        shutil.copytree(live_dir, Path(out_dir) / "live")  # the finished run's losses and grids, versioned with it
        return model.current_losses()

    def apply(self, ctx: Context, fit_dir: Path, sources: list[Path], dests: list[Path]) -> dict:
        from stylenorm.device import resolve_device
        from stylenorm.translators.train import load_generator
        from stylenorm.translators.translate import translate_files
        device = resolve_device(ctx.device)
        netG, resolved = load_generator(Path(fit_dir) / MODEL, device, self.model_cls().build_generator, self.Fit)
        cfg = self.apply_cfg
        report = translate_files(netG, sources, dests, new_size=cfg.new_size, upsample=cfg.upsample,
                                 full_resolution=cfg.full_resolution, batch_size=cfg.batch_size, device=device,
                                 n_down=netG.n_downsample, align=cfg.align,
                                 precision=resolved["translator"]["precision"], source=side(ctx, ctx.source_domain),
                                 styles=self.style_codes(netG, ctx, sources, device))
        report["device"] = str(device)
        return report
