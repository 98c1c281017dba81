"""The translator training loop: one function for any model on the contract of
``stylenorm.translators.base.TranslatorModel``, resumable, optionally distributed. It reads only
that contract: ``set_input``, ``optimize_parameters``, ``current_losses`` (every name of
``loss_names``), ``progress_names``, ``current_lr``, ``get_current_visuals`` (the rows of
``visual_names``), ``state_dict`` / ``load_state_dict``, ``reseed`` and ``netG``.

``train_translator`` trains for ``cfg.iterations`` steps, logging every loss with DVCLive,
saving image grids (e.g. real_A | fake_B | rec_A | cyc_A over real_B | fake_A | rec_B | cyc_B)
and checkpoints at intervals. A checkpoint carries a *fingerprint* of everything that
determines the run: the model's name and config, the seed, the *contents* of every training
image (not their paths: a regenerated image under the same id is another run) and the code:
this folder's modules (the loop, the base model, the data) and the model's own package, no other
translator's. Only a checkpoint with the same fingerprint is resumed, and with the same
seed on CPU the result equals an uninterrupted run's; anything else starts from step 0.

Several GPUs: ``base.nproc: N`` runs the fit stage under torchrun (``python -m stylenorm.launch N stages.fit ...``);
each rank draws its own batches, DistributedDataParallel averages the gradients, rank 0 writes.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml
from tqdm import tqdm

from stylenorm.device import resolve_device
from stylenorm.io import truncate_live_logs
from stylenorm.translators.data import UnpairedBatches, batch_loader, to_uint8

CKPT_NAME = "last.pt"
_CODE_DIR = Path(__file__).resolve().parent


def code_files(model_cls) -> list[Path]:
    """The code a translator's run depends on: this folder's modules and every module of the package
    that defines ``model_cls`` (e.g. ``stylenorm/normalizers/unit/``)."""
    package = Path(inspect.getfile(model_cls)).resolve().parent
    files = set(_CODE_DIR.glob("*.py")) | set(package.rglob("*.py"))
    return sorted(files)


def fingerprint(name: str, cfg, seed: int, paths_A: list[Path], paths_B: list[Path], code: list[Path]) -> str:
    """sha256 of the model name, config, seed, training images' bytes (in list order) and the ``code`` files."""
    h = hashlib.sha256()
    h.update(json.dumps({"model": name, "cfg": asdict(cfg), "seed": seed}, sort_keys=True).encode())
    for domain, image_paths in (("A", paths_A), ("B", paths_B)):
        h.update(f"|{domain}:{len(image_paths)}|".encode())
        for p in image_paths:
            h.update(hashlib.sha256(Path(p).read_bytes()).digest())
    for src in code:
        h.update(f"|{src.parent.name}/{src.name}|".encode())
        h.update(src.read_bytes())
    return h.hexdigest()


def image_grid(rows: list[list[torch.Tensor]]) -> np.ndarray:
    """First sample of each image of each row (a model's ``get_current_visuals()``), as one uint8 HWC grid."""
    strips = [np.concatenate([to_uint8(x[0].float()) for x in row], axis=1) for row in rows]
    return np.concatenate(strips, axis=0)


def _distributed(dev: torch.device) -> tuple[int, int]:
    """(rank, world size) under torchrun, joining the process group of ``dev``'s kind (nccl for GPUs, gloo
    for CPUs, whatever the machine has); (0, 1) alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_translator(model_cls, cfg, *, name: str, paths_A: list[Path], paths_B: list[Path], model_path: Path,
                     ckpt_dir: Path, live_dir: Path, seed: int, device: str = "cpu", num_workers: int = 0,
                     stop_after: int | None = None, progress: bool = True):
    """Train (or resume) ``model_cls(cfg, device, seed=, wrap=)`` (a ``TranslatorModel``) and return the
    model; ``name`` (the normalizer's) goes into the fingerprint and the saved file. ``stop_after`` ends
    early, as a kill would."""
    dev = resolve_device(device)
    rank, world = _distributed(dev)
    if dev.type == "cuda" and world > 1:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)))
        dev = torch.device("cuda", torch.cuda.current_device())
    wrap = None
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        wrap = (lambda m: DDP(m, device_ids=[dev.index])) if dev.type == "cuda" else DDP
    model = model_cls(cfg, dev, seed=seed, wrap=wrap)
    model.reseed(seed * 1000 + rank)  # each rank its own random streams (latent noise, image pools)

    fp = fingerprint(name, cfg, seed, paths_A, paths_B, code_files(model_cls))
    ckpt_path = Path(ckpt_dir) / CKPT_NAME
    start = 0
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=dev, weights_only=False)
        if state.get("fingerprint") == fp and state.get("world_size", 1) == world:
            model.load_state_dict(state["model"])
            start = state["step"]
            if world > 1:  # the checkpoint holds rank 0's streams; every rank its own
                model.reseed(seed * 1000 + rank + world * start)
    if rank == 0:
        if start == 0:  # stale or no checkpoint: start clean
            shutil.rmtree(ckpt_dir, ignore_errors=True)
            shutil.rmtree(live_dir, ignore_errors=True)
        Path(ckpt_dir).mkdir(parents=True, exist_ok=True)
        if start:
            truncate_live_logs(Path(live_dir), start)
            print(f"resuming from {ckpt_path} at step {start}/{cfg.iterations}")
        from dvclive import Live
        live = Live(dir=str(live_dir), resume=start > 0, report=None, save_dvc_exp=False, dvcyaml=None)

    # On a CPU, loader processes compete with the training threads for the same cores (measured
    # 0.6 s/it with 2 workers vs 0.4 s/it without): load in-process and keep the resized images.
    if dev.type == "cpu":
        num_workers = 0
    dataset = UnpairedBatches(paths_A, paths_B, new_size=cfg.new_size, crop_size=cfg.crop_size, seed=seed, rank=rank,
                              cache=num_workers == 0)
    end = cfg.iterations if stop_after is None else min(cfg.iterations, stop_after)
    loader = batch_loader(dataset, start_step=start, steps=end, batch_size=cfg.batch_size, num_workers=num_workers)
    bar = tqdm(total=cfg.iterations, initial=start, desc=f"train {name}", unit="it", disable=not progress or rank != 0,
               mininterval=2.0)
    for step, batch in enumerate(loader, start=start):
        model.set_input(batch["A"], batch["B"])
        model.optimize_parameters()
        done = step + 1
        bar.update(1)
        if rank != 0:
            continue
        if done % cfg.log_every == 0 or done == cfg.iterations:
            losses = model.current_losses()
            live.step = done
            for loss_name, value in losses.items():
                live.log_metric(f"train/{loss_name}", value)
            live.log_metric("train/lr", model.current_lr())
            live.make_summary()
            bar.set_postfix({k.removeprefix("loss_"): f"{losses[k]:.3f}" for k in model.progress_names})
        if done % cfg.image_every == 0 or done == cfg.iterations:
            live.step = done
            live.log_image(f"grid_{done:06d}.png", image_grid(model.get_current_visuals()))
        if done % cfg.checkpoint_every == 0 or done == cfg.iterations:
            _save_atomic({"model": model.state_dict(), "step": done, "fingerprint": fp, "world_size": world}, ckpt_path)
    bar.close()
    if world > 1:
        dist.barrier()
    if rank == 0 and end == cfg.iterations:
        save_model(model, cfg, model_path, name=name, seed=seed, step=end, fingerprint=fp)
    return model


def save_model(model, cfg, model_path: Path, *, name: str, seed: int, step: int, fingerprint: str = "") -> None:
    """The final generator with its resolved config, in the checkpoint and beside it."""
    model_path = Path(model_path)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    resolved = {"model": name, "translator": asdict(cfg), "seed": seed, "step": step, "fingerprint": fingerprint}
    _save_atomic({"netG": model.netG.state_dict(), "config": resolved}, model_path)
    (model_path.parent / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))


def load_generator(model_path: Path, device: torch.device, build_generator, cfg_cls):
    """The trained generator (eval mode) and its resolved config dict; ``build_generator(cfg)`` makes
    the empty network from the saved config, loaded as ``cfg_cls``."""
    from stylenorm.config import from_dict
    state = torch.load(model_path, map_location=device, weights_only=False)
    cfg = from_dict(cfg_cls, state["config"]["translator"], "translator")
    netG = build_generator(cfg).to(device)
    netG.load_state_dict(state["netG"])
    return netG.eval(), state["config"]
