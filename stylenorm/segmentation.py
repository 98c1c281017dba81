"""Segmenters through MMSegmentation 1.x: the two-domain dataset, config building, training, inference.

* ``StyleNormDataset``: registered with MMSeg; reads this project's split lists. Each source
  names a domain, a split (``train``/``val``/``test``) and the folder its images come from (raw
  or normalized); labels always come from ``data/unified/<domain>/labels``.
* Randomness: every random draw is a function of declared seeds, never of how the work is
  spread. ``DrawSampler`` yields global draw numbers (epoch * n + index, the order fixed by the
  seed), and the dataset runs each draw's augmentation under RNGs seeded by (seed, draw), so the
  stream does not depend on ``base.num_workers``; ``IterSeedHook`` reseeds the training process
  at every iteration from (seed, iteration), so dropout does not depend on what ran between
  iterations (the validation-loss pass) or on a resume.
* ``build_config``: a primitive config from ``configs/`` (MMSeg ``_base_`` composition; the model,
  its widths and heads live there) with params.yaml's ``seg`` values written over it: crop and
  resize scales, batch, schedule, hooks, sources, seed.
* ``train_segmenter``: MMEngine's Runner trains and checkpoints into a work folder kept between
  runs; a fingerprint of the config, the training data's bytes and this code decides whether a
  checkpoint found there is resumed. A hook logs training loss and the loss on the validation
  sets (the study's Fig. 4, on validation rather than test data) to DVCLive. Nothing here uses
  MMEngine's ``DVCLiveVisBackend``, whose fallback runs ``dvc init -f`` when git has no identity.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler
from mmengine.hooks import Hook
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from mmengine.registry import DATA_SAMPLERS, HOOKS, MODEL_WRAPPERS, OPTIM_WRAPPERS
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from stylenorm import labels, paths

FINGERPRINT = "fingerprint.txt"
_CODE = [Path(__file__)]


def seed_all(*key: int) -> None:
    """Seed Python's, NumPy's and torch's global RNGs from ``key`` (a tuple of ints)."""
    s = np.random.SeedSequence([int(k) for k in key]).generate_state(2)
    random.seed(int(s[0]))
    np.random.seed(int(s[0]))
    torch.manual_seed(int(s[1]))


@contextlib.contextmanager
def seeded_rngs(*key: int) -> Iterator[None]:
    """Run a block under Python, NumPy and torch RNGs seeded from ``key``; restore the outer states after."""
    state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    seed_all(*key)
    try:
        yield
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.set_rng_state(state[2])


@DATASETS.register_module()
class StyleNormDataset(BaseSegDataset):
    """Images and unified train-id labels of one or more (domain, split) lists.

    With ``seed`` set (training), item ``draw`` is sample ``draw % len`` augmented under RNGs
    seeded by (seed, draw): pair it with ``DrawSampler``."""

    METAINFO = dict(classes=labels.CLASSES, palette=[list(c) for c in labels.PALETTE])

    def __init__(self, sources: list[dict], seed: int | None = None, cache_images: bool = False, **kwargs):
        self.sources = [dict(s) for s in sources]
        self.seed = seed
        self.cache_images = cache_images
        self._loaded: dict[int, dict] = {}  # with cache_images: sample -> the leading Load* transforms' output
        kwargs.setdefault("img_suffix", ".png")
        kwargs.setdefault("seg_map_suffix", ".png")
        kwargs.setdefault("reduce_zero_label", False)
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        data_list = []
        for src in self.sources:
            list_path = paths.split_list(src["domain"], src["split"])
            if not list_path.exists():
                raise FileNotFoundError(f"{list_path}: missing split list (run the split stage)")
            for i in pd.read_csv(list_path, dtype={"id": str}).id:
                data_list.append(dict(
                    img_path=os.path.join(src["images"], f"{i}.png"),
                    seg_map_path=(paths.unified_dir(src["domain"]) / paths.LABELS / f"{i}.png").as_posix(),
                    domain=src["domain"], label_map=self.label_map, reduce_zero_label=False, seg_fields=[]))
        return data_list

    def prepare_data(self, idx: int):
        """The pipeline on sample ``idx``. With ``cache_images``, the leading ``Load*`` transforms (file
        decoding, which no RNG touches) run once per sample and process; later transforms get copies."""
        if not self.cache_images:
            return super().prepare_data(idx)
        transforms = self.pipeline.transforms
        n_load = next((k for k, t in enumerate(transforms) if not type(t).__name__.startswith("Load")), len(transforms))
        if idx not in self._loaded:
            results = self.get_data_info(idx)
            for t in transforms[:n_load]:
                results = t(results)
                if results is None:
                    return None
            self._loaded[idx] = results
        results = {k: v.copy() if isinstance(v, np.ndarray) else copy.copy(v) for k, v in self._loaded[idx].items()}
        for t in transforms[n_load:]:
            results = t(results)
            if results is None:
                return None
        return results

    def __getitem__(self, idx: int) -> dict:
        if self.seed is None:
            return super().__getitem__(idx)
        if not self._fully_initialized:
            self.full_init()
        with seeded_rngs(self.seed, idx):
            data = self.prepare_data(idx % len(self))
        if data is None:
            raise RuntimeError(f"{self.get_data_info(idx % len(self))['img_path']}: the pipeline dropped this sample")
        return data


@DATA_SAMPLERS.register_module()
class DrawSampler(DefaultSampler):
    """Endless global draw numbers ``epoch * n + index``: each epoch a permutation of the dataset
    fixed by (seed, epoch), each rank every ``world``-th draw. Independent of loader workers."""

    def __init__(self, dataset, seed: int | None = None, **kwargs):
        super().__init__(dataset, shuffle=True, seed=seed, **kwargs)

    def __iter__(self):
        n, epoch = len(self.dataset), 0
        while True:
            order = np.random.default_rng([self.seed, epoch]).permutation(n)
            yield from (epoch * n + int(i) for i in order[self.rank :: self.world_size])
            epoch += 1


@HOOKS.register_module()
class IterSeedHook(Hook):
    """Reseed the training process from (seed, iteration) before every iteration."""

    priority = "VERY_HIGH"

    def __init__(self, seed: int):
        self.seed = seed

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        seed_all(self.seed, 1_000_003, runner.iter)  # a stream apart from the data draws' (seed, draw)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Put the model's weights in NHWC (channels_last) memory format before training."""

    def before_train(self, runner) -> None:
        runner.model.to(memory_format=torch.channels_last)


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """OptimWrapper whose forward context runs under bf16 autocast on any device (MMEngine's
    AmpOptimWrapper refuses CPUs). Weights, gradients and the optimiser stay fp32."""

    def __init__(self, *args, device_type: str = "cpu", **kwargs):
        super().__init__(*args, **kwargs)
        self.device_type = device_type

    @contextlib.contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(self.device_type, dtype=torch.bfloat16):
            yield


@HOOKS.register_module()
class LossLogHook(Hook):
    """Training loss every ``interval`` iterations and the mean loss on the validation sets every
    ``val_interval``, to DVCLive under ``live_dir``. Runs on rank 0."""

    priority = "LOW"

    def __init__(self, live_dir: str, interval: int = 10, val_interval: int = 100, val_dataloader: dict | None = None,
                 val_images: int = 0):
        self.live_dir, self.interval, self.val_interval = live_dir, interval, val_interval
        self.val_dataloader_cfg, self.val_images = val_dataloader, val_images
        self._sums: dict[str, float] = {}
        self._count = 0

    def before_run(self, runner) -> None:
        from mmengine.dist import is_main_process
        self.main = is_main_process()
        self._val_loader = None
        if self.main and self.val_dataloader_cfg:
            # Built directly, without MMEngine's sampler: that one broadcasts a seed, a collective
            # that only this rank would join.
            from mmengine.dataset import pseudo_collate
            dataset = DATASETS.build(self.val_dataloader_cfg["dataset"])
            n = len(dataset)
            # A fixed, evenly spread subset of the pooled validation sets (both domains), the same every time.
            keep = np.unique(np.linspace(0, n - 1, min(n, self.val_images or n)).round().astype(int)).tolist()
            self._val_loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, keep), batch_size=1,
                                                           collate_fn=pseudo_collate, num_workers=0,
                                                           generator=torch.Generator().manual_seed(0))

    def before_train(self, runner) -> None:
        # After MMEngine's load_or_resume (before_run comes earlier): runner.iter is where a resumed
        # run goes on, so the logs of the killed run are kept up to that step.
        if self.main:
            from dvclive import Live

            from stylenorm.io import truncate_live_logs
            if runner.iter > 0:
                truncate_live_logs(Path(self.live_dir), runner.iter)
            else:
                shutil.rmtree(self.live_dir, ignore_errors=True)
            self.live = Live(dir=self.live_dir, report=None, save_dvc_exp=False, dvcyaml=None, resume=runner.iter > 0)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        # loss: what is optimised (every head); loss_ce etc.: the decode head's own losses (MMSeg's
        # "decode." keys, whichever the config's loss_decode gives), which the validation loss measures
        # too (the study's Fig. 4 compares the two).
        for name, value in {"loss": outputs["loss"], **_decode_losses(outputs)}.items():
            self._sums[name] = self._sums.get(name, 0.0) + float(value.detach())
        self._count += 1
        done = runner.iter + 1
        if self.main and (done % self.interval == 0 or done == runner.max_iters):
            self.live.step = done
            for name, total in self._sums.items():
                self.live.log_metric(f"train/{name}", total / self._count)
            self.live.log_metric("train/lr", runner.optim_wrapper.get_lr()["lr"][0])
            self._sums, self._count = {}, 0
        if self.main and self._val_loader is not None and (done % self.val_interval == 0 or done == runner.max_iters):
            self.live.step = done
            for name, value in self.val_losses(runner).items():
                self.live.log_metric(f"val/{name}", value)
        if self.main and done % self.interval == 0:
            self.live.make_summary()

    @torch.no_grad()
    def val_losses(self, runner) -> dict[str, float]:
        """The decode head's mean losses over the validation subset, in eval mode."""
        from mmengine.model import is_model_wrapper
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model  # no collectives: rank 0 only
        model.eval()  # running BN statistics, no dropout: the loss the deployed model would have
        sums, n = {}, 0
        for batch in self._val_loader:
            data = model.data_preprocessor(batch, False)
            for name, value in _decode_losses(model.loss(data["inputs"], data["data_samples"])).items():
                sums[name] = sums.get(name, 0.0) + float(value)
            n += 1
        model.train()
        return {name: total / max(n, 1) for name, total in sums.items()}

    def after_run(self, runner) -> None:
        if self.main:
            self.live.make_summary()


def _decode_losses(losses: dict) -> dict:
    """The decode head's loss terms of an MMSeg loss dict (keys ``decode.loss_*``), by their own names."""
    return {k.split(".", 1)[1]: v for k, v in losses.items() if k.startswith("decode.") and "loss" in k}


def _set_transform(pipeline: list, kind: str, **values) -> None:
    """Write ``values`` into every ``kind`` transform, except a ``Resize`` with ``keep_ratio=False``:
    a fixed geometry that belongs to its config (the second study's exact 280x560 resize)."""
    for t in pipeline:
        if t["type"] == kind and not (kind == "Resize" and t.get("keep_ratio") is False):
            t.update(values)


def _set_schedule(cfg: Config, lr: float, iterations: int) -> None:
    """The config's optimizer and schedulers with params' peak ``lr`` and length ``iterations``: every
    scheduler spanning the config's whole run (``end`` or ``total_steps`` == ``train_cfg.max_iters``) is
    stretched to ``iterations``; a peak (``eta_max``) is set to ``lr``; floors (``eta_min``) scale with the
    peak; warm-ups stay."""
    span = cfg.train_cfg.max_iters
    ratio = lr / cfg.optim_wrapper.optimizer.lr  # floors (eta_min) keep their share of the peak
    cfg.optim_wrapper.optimizer.lr = lr
    for sched in cfg.param_scheduler:
        if "eta_min" in sched:
            sched["eta_min"] *= ratio
        for key in ("end", "total_steps"):
            if sched.get(key) == span:
                sched[key] = iterations
        if "eta_max" in sched:
            sched["eta_max"] = lr
        if sched.get("total_steps") == iterations and sched.get("pct_start", 0) * iterations == 1:
            raise ValueError(f"seg.iterations {iterations}: the warm-up of {sched['type']} (pct_start "
                             f"{sched['pct_start']}) would be one step long, which MMEngine divides by; choose another")
    cfg.train_cfg.max_iters = iterations
    cfg.train_cfg.val_interval = iterations + 1  # no validation loop: LossLogHook scores the val sets


def build_config(seg, *, train_sources: list[dict], val_sources: list[dict], seed: int, device: str,
                 num_workers: int, work_dir: Path, live_dir: Path) -> Config:
    """The primitive config ``seg.config`` with params values written over it. Model structure
    (backbone, widths, heads) stays as the config file says."""
    # No yapf pass over the resolved config: MMEngine formats it each time it is logged, dumped or
    # fingerprinted (seven times a run, about 2 s of a tiny cell); the text stays valid, indented Python.
    # Config.fromfile ignores format_python_code for plain config files (mmengine 0.10), hence the rebuild.
    loaded = Config.fromfile(seg.config)
    cfg = Config(loaded.to_dict(), filename=loaded.filename, format_python_code=False)
    h, w = seg.crop_size
    scale = tuple(seg.img_scale)
    cfg.crop_size = (h, w)
    cfg.model.pretrained = seg.pretrained or None
    cfg.model.data_preprocessor.size = (h, w)
    if "data_preprocessor" in cfg:
        cfg.data_preprocessor.size = (h, w)
    for pipeline in (cfg.train_dataloader.dataset.pipeline, cfg.train_pipeline):
        _set_transform(pipeline, "RandomResize", scale=scale)
        _set_transform(pipeline, "RandomCrop", crop_size=(h, w))
    largest = max((max(t.get("ratio_range", (1.0, 1.0))) for t in cfg.train_dataloader.dataset.pipeline
                   if t["type"] == "RandomResize"), default=1.0)
    if (not any(t["type"] == "RandomCrop" for t in cfg.train_dataloader.dataset.pipeline)
            and (h < scale[1] * largest or w < scale[0] * largest)):
        # whole scenes are batched: each is padded to the crop size, which must hold the largest of them
        raise ValueError(f"seg.crop_size {[h, w]} ([height, width]) must hold the whole resized scene of "
                         f"seg.img_scale {list(scale)} ([width, height]): {seg.config} trains on whole scenes")
    for pipeline in (cfg.test_dataloader.dataset.pipeline, cfg.test_pipeline):
        _set_transform(pipeline, "Resize", scale=scale)
    cfg.train_dataloader.batch_size = seg.batch_size
    cfg.train_dataloader.num_workers = num_workers
    cfg.train_dataloader.persistent_workers = num_workers > 0
    if cfg.train_dataloader.sampler.get("type") != "DrawSampler":
        raise ValueError(f"{seg.config}: train_dataloader.sampler must be DrawSampler (seeded draws), "
                         f"not {cfg.train_dataloader.sampler.get('type')}")
    cfg.train_dataloader.sampler.seed = seed
    cfg.train_dataloader.dataset.sources = train_sources
    cfg.train_dataloader.dataset.seed = seed
    cfg.train_dataloader.dataset.cache_images = seg.cache_images
    cfg.test_dataloader.dataset.sources = val_sources  # inference settings; evaluate passes its own images
    on_cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    if seg.precision == "bf16":
        cfg.optim_wrapper.type = "AutocastOptimWrapper"
        cfg.optim_wrapper.device_type = "cpu" if on_cpu else "cuda"
    _set_schedule(cfg, seg.lr, seg.iterations)
    cfg.default_hooks.logger.interval = seg.log_every
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", by_epoch=False, interval=seg.checkpoint_every,
                                        max_keep_ckpts=1, save_last=True)
    cfg.default_hooks.visualization = dict(type="SegVisualizationHook", draw=False)
    # The validation loss needs labels at the network's input size: the config's test pipeline with
    # the labels loaded first, so its resizes apply to them too.
    val_loader = copy.deepcopy(cfg.test_dataloader.to_dict())
    val_loader.update(batch_size=1, num_workers=0, persistent_workers=False)
    steps = [t for t in val_loader["dataset"]["pipeline"] if t["type"] != "LoadAnnotations"]
    val_loader["dataset"]["pipeline"] = steps[:1] + [dict(type="LoadAnnotations")] + steps[1:]
    cfg.custom_hooks = [dict(type="IterSeedHook", seed=seed),
                        dict(type="LossLogHook", live_dir=str(live_dir), interval=seg.log_every,
                             val_interval=seg.val_loss_every, val_dataloader=val_loader, val_images=seg.val_loss_images)]
    if seg.channels_last:
        cfg.custom_hooks.append(dict(type="ChannelsLastHook"))
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = str(work_dir)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    cfg.launcher = "pytorch" if distributed else "none"
    if on_cpu:
        cfg.env_cfg.dist_cfg = dict(backend="gloo")
        if distributed:  # MMEngine passes device_ids=[LOCAL_RANK], which DDP refuses for CPU modules
            cfg.model_wrapper_cfg = dict(type="CPUDistributedDataParallel", broadcast_buffers=False)
    elif distributed:
        cfg.sync_bn = "torch"  # one set of BN statistics across GPUs, as MMSeg's SyncBN configs
    return cfg


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """MMEngine's DDP wrapper for CPU processes (gloo): the same, without device ids."""

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(module=module, device_ids=None, **kwargs)


def fingerprint(cfg: Config, sources: list[dict]) -> str:
    """sha256 of the resolved config, every training image's and label's bytes, and this code."""
    h = hashlib.sha256()
    text = copy.deepcopy(cfg)
    text.pop("work_dir", None)
    h.update(text.pretty_text.encode())
    for src in sources:
        for i in paths.split_ids(src["domain"], src["split"]):
            for f in (Path(src["images"]) / f"{i}.png", paths.unified_dir(src["domain"]) / paths.LABELS / f"{i}.png"):
                h.update(hashlib.sha256(f.read_bytes()).digest())
    for code in _CODE:
        h.update(code.read_bytes())
    return h.hexdigest()


@contextlib.contextmanager
def _trusted_checkpoints(trusted: bool) -> Iterator[None]:
    """MMEngine's resume loads its checkpoint with ``torch.load``'s default ``weights_only=True`` (torch
    >= 2.6), which refuses the numpy and MMEngine objects MMEngine itself saved. The checkpoint being
    resumed is the one this run wrote into its own work folder under a matching fingerprint, so lift
    the restriction for that load only (torch's documented switch), and only when resuming."""
    if not trusted:
        yield
        return
    before = os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
        else:
            os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = before


def _loads(checkpoint: Path) -> bool:
    """Whether a checkpoint file reads whole (a kill while it was saved leaves it cut short)."""
    try:
        torch.load(checkpoint, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError):
        return False
    return True


def train_segmenter(cfg: Config, model_dir: Path, stop_after: int | None = None) -> Path:
    """Train with MMEngine's Runner; keep the last checkpoint as ``model.pth`` beside ``config.py``.

    ``cfg.work_dir`` is kept between runs: when it holds a checkpoint of a run with this one's
    fingerprint, training resumes from it (same weights at the end as an uninterrupted run);
    otherwise it is cleared first. ``stop_after`` ends after that many iterations, as a kill would."""
    from mmengine.dist import get_rank
    from mmengine.runner import Runner
    model_dir, work = Path(model_dir), Path(cfg.work_dir)
    fp = fingerprint(cfg, cfg.train_dataloader.dataset.sources)
    rank = int(os.environ.get("RANK", "0"))
    last = work / "last_checkpoint"
    same_run = (work / FINGERPRINT).exists() and (work / FINGERPRINT).read_text() == fp and last.exists()
    if same_run:
        ckpt = work / Path(last.read_text().strip()).name  # MMEngine writes an absolute path; the folder may have moved
        if not ckpt.exists():
            # MMEngine deletes the older checkpoint (max_keep_ckpts) before it saves the newer one, and names
            # the newer one in last_checkpoint only after: a kill in between leaves the name of a deleted file
            # and a newer checkpoint that may be cut short. Resume from that one only if it loads whole.
            saved = sorted(work.glob("iter_*.pth"), key=lambda f: int(f.stem.split("_")[1]))
            ckpt = saved[-1] if saved and _loads(saved[-1]) else None
            same_run = ckpt is not None
    if same_run:
        cfg.resume, cfg.load_from = True, str(ckpt)
        if rank == 0:
            print(f"resuming from {ckpt}")
    elif rank == 0:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / FINGERPRINT).write_text(fp)
    if stop_after is not None:
        cfg.train_cfg["max_iters"] = stop_after
    if cfg.launcher == "pytorch" and cfg.env_cfg.dist_cfg.get("backend") == "gloo" and not torch.distributed.is_initialized():
        # under torchrun on CPU processes: MMEngine's `pytorch` launcher calls torch.cuda.set_device, which
        # fails without a GPU; a group started here is the one the Runner then uses
        torch.distributed.init_process_group("gloo")
    runner = Runner.from_cfg(cfg)
    with _trusted_checkpoints(same_run):
        runner.train()
    if get_rank() != 0 or stop_after is not None:
        return model_dir / "model.pth"
    final = work / f"iter_{cfg.train_cfg['max_iters']}.pth"
    ckpt = torch.load(final, map_location="cpu", weights_only=False)
    ckpt["meta"]["resolved_config"] = cfg.pretty_text  # the config travels inside the checkpoint too
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": ckpt["state_dict"], "meta": ckpt["meta"]}, model_dir / "model.pth")
    cfg.resume, cfg.load_from = False, None
    cfg.dump(str(model_dir / "config.py"))
    return model_dir / "model.pth"


def load_segmenter(model_dir: Path, device: str):
    from mmseg.apis import init_model
    return init_model(str(Path(model_dir) / "config.py"), str(Path(model_dir) / "model.pth"), device=device)


@torch.no_grad()
def predict(model, image_path: Path, precision: str = "fp32") -> np.ndarray:
    """Train-id prediction (H, W) at the image's own size."""
    from mmseg.apis import inference_model
    device = next(model.parameters()).device.type
    with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16"):
        result = inference_model(model, str(image_path))
    return result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
