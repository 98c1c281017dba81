"""Segmentation: configs build, the dataset reads split lists, mIoU matches hand counts and MMSeg."""
from __future__ import annotations

import dataclasses
import math
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from PIL import Image

from stylenorm import paths
from stylenorm.metrics import confusion_matrix, summarize
from tests.conftest import REPO

@pytest.fixture(scope="module", autouse=True)
def mmseg_registry():  # datasets built directly (not by a Runner) find MMSeg's transforms
    from mmseg.utils import register_all_modules
    register_all_modules()


CONFIGS = sorted(c for c in (REPO / "configs").glob("*/*.py") if c.parent.name != "_base_")  # every primitive


def test_every_model_folder_is_tested():
    folders = {p.name for p in (REPO / "configs").iterdir() if p.is_dir() and p.name != "_base_"}
    assert folders == {c.parent.name for c in CONFIGS} and {"deeplabv3plus", "unet"} <= folders


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_builds_without_pretrained_weights(config):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(str(config))
    cfg.model.pretrained = None
    cfg.model.backbone.norm_cfg = cfg.model.decode_head.norm_cfg = dict(type="BN", requires_grad=True)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 128), mode="tensor")
    assert out.shape[:2] == (1, 19)
    assert cfg.train_dataloader.dataset.type == "StyleNormDataset"


def test_hand_computed_confusion_gives_known_miou():
    pred = np.array([[0, 0, 1], [1, 2, 2]])
    gt = np.array([[0, 1, 1], [1, 2, 255]])
    conf = confusion_matrix(pred, gt)
    assert conf[0, 0] == 1 and conf[1, 0] == 1 and conf[1, 1] == 2 and conf[2, 2] == 1 and conf.sum() == 5
    result = summarize(conf)
    assert result["IoU"]["road"] == pytest.approx(0.5)  # TP 1 / (TP 1 + FP 1 + FN 0)
    assert result["IoU"]["sidewalk"] == pytest.approx(2 / 3)  # TP 2 / (2 + 0 + FN 1)
    assert result["IoU"]["building"] == pytest.approx(1.0)  # the ignored pixel is no false positive
    assert result["IoU"]["car"] is None  # absent from prediction and truth: no IoU...
    assert result["mIoU"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)  # ...and left out of the mean
    assert result["aAcc"] == pytest.approx(4 / 5)


def test_miou_agrees_with_mmseg_iou_metric():
    from mmengine.structures import PixelData
    from mmseg.evaluation import IoUMetric
    from mmseg.structures import SegDataSample
    rng = np.random.default_rng(0)
    metric = IoUMetric(iou_metrics=["mIoU"])
    metric.dataset_meta = {"classes": tuple(str(i) for i in range(19))}
    conf = np.zeros((19, 19), dtype=np.int64)
    for _ in range(3):
        gt = rng.integers(0, 19, (20, 30))
        gt[rng.random(gt.shape) < 0.1] = 255
        gt[gt == 7] = 3  # class 7 never occurs in the truth...
        pred = np.where(rng.random(gt.shape) < 0.6, gt, rng.integers(0, 19, gt.shape))
        pred[pred == 255] = 0
        pred[pred == 7] = 4  # ...nor in the predictions
        conf += confusion_matrix(pred, gt)
        sample = SegDataSample()
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
        metric.process([], [sample.to_dict()])
    theirs = metric.compute_metrics(metric.results)
    ours = summarize(conf)
    assert ours["mIoU"] * 100 == pytest.approx(theirs["mIoU"], abs=0.01)  # MMSeg rounds to 2 decimals
    assert ours["aAcc"] * 100 == pytest.approx(theirs["aAcc"], abs=0.01)
    assert math.isfinite(ours["mIoU"])


def _data_stages(params):
    from stages.fetch import fetch
    from stages.normalize import normalize
    from stages.split import split
    from stages.unify_labels import unify_labels
    for domain in ("cityscapes", "gta5"):
        fetch(domain, params)
        unify_labels(domain, params)
        split(domain, params)
    normalize("identity", 0, "gta5", params)


@pytest.fixture
def seg_data(project, params):
    _data_stages(params)
    return params


def _train(params, root: Path, name: str, num_workers: int = 0, stop_after=None, **seg_changes) -> dict:
    from stylenorm.segmentation import build_config, train_segmenter
    from stylenorm.protocols.mixed import Mixed
    seg = dataclasses.replace(params.seg, **seg_changes)
    cfg = build_config(seg, train_sources=Mixed().train_sources("identity", 0, "train"), val_sources=Mixed().train_sources("identity", 0, "val"),
                       seed=0, device="cpu", num_workers=num_workers, work_dir=root / name / "work",
                       live_dir=root / name / "work" / "live")
    path = train_segmenter(cfg, root / name / "model", stop_after=stop_after)
    return None if stop_after else torch.load(path, weights_only=False)["state_dict"]


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_dataset_reads_the_cell_lists(seg_data, project):
    from stylenorm.segmentation import StyleNormDataset, build_config
    from stylenorm.protocols.mixed import Mixed
    params = seg_data
    sources = Mixed().train_sources("identity", 0, "train")
    ds = StyleNormDataset(sources=sources, pipeline=[])
    n_train = sum(len(paths.split_ids(d, "train")) for d in ("cityscapes", "gta5"))
    assert len(ds) == n_train and ds.metainfo["classes"][0] == "road" and len(ds.metainfo["classes"]) == 19
    info = ds.get_data_info(len(ds) - 1)
    assert info["domain"] == "gta5" and Path(info["img_path"]).exists() and Path(info["seg_map_path"]).exists()
    assert sources[1]["images"] == (paths.normalized_dir("identity", ("gta5", "cityscapes"), 0, "gta5") / paths.IMAGES).as_posix()
    cfg = build_config(params.seg, train_sources=sources, val_sources=Mixed().train_sources("identity", 0, "val"), seed=3,
                       device="cpu", num_workers=0, work_dir=Path("w"), live_dir=Path("l"))
    assert cfg.train_dataloader.dataset.sources == sources and cfg.train_dataloader.dataset.seed == 3
    assert cfg.train_cfg["max_iters"] == params.seg.iterations and cfg.optim_wrapper.optimizer.lr == params.seg.lr
    assert [t for t in cfg.train_pipeline if t["type"] == "RandomResize"][0]["scale"] == tuple(params.seg.img_scale)
    assert cfg.model.data_preprocessor.size == tuple(params.seg.crop_size)  # batches padded to the crop
    assert cfg.model.backbone.depth == 18  # model structure comes from the config file, not from params
    cropped = _build(params, AUGMENTED)
    assert [t for t in cropped.train_pipeline if t["type"] == "RandomCrop"][0]["crop_size"] == tuple(params.seg.crop_size)


def _build(params, config=None, **seg_changes):
    from stylenorm.protocols.mixed import Mixed
    from stylenorm.segmentation import build_config
    seg = dataclasses.replace(params.seg, **seg_changes, **({"config": str(config)} if config else {}))
    return build_config(seg, train_sources=Mixed().train_sources("identity", 0, "train"),
                        val_sources=Mixed().train_sources("identity", 0, "val"), seed=0, device="cpu", num_workers=0,
                        work_dir=Path("w"), live_dir=Path("l"))


AUGMENTED = REPO / "configs/deeplabv3plus/deeplabv3plus_r18-d16_1xb8-cpu_stylenorm-128x256.py"  # rescale, crop, flip, colour
ONECYCLE = REPO / "configs" / "deeplabv3plus" / "deeplabv3plus_r18-d8_1xb16-onecycle-cpu_stylenorm-64x128.py"


def test_the_schedule_comes_from_the_config_and_its_numbers_from_params(params, tmp_path):
    """params set the peak lr and the length; the optimizer, the scheduler type and its shape stay the config's."""
    cfg = _build(params, ONECYCLE, iterations=37, lr=0.02)
    (sched,) = cfg.param_scheduler
    assert cfg.optim_wrapper.optimizer.type == "AdamW" and cfg.optim_wrapper.optimizer.lr == 0.02
    assert (sched.type, sched.eta_max, sched.total_steps, sched.end, sched.pct_start) == ("OneCycleLR", 0.02, 37, 37, 0.25)
    assert cfg.train_cfg.max_iters == 37 and cfg.train_cfg.type == "IterBasedTrainLoop"
    poly = tmp_path / "poly.py"
    poly.write_text(f"_base_ = [{str(REPO / 'configs/deeplabv3plus/deeplabv3plus_r101-d8_1xb2-40k_stylenorm-512x1024.py')!r}]\n"
                    "param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=5, by_epoch=False),\n"
                    "                   dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=5, end=40000, by_epoch=False)]\n")
    cfg = _build(params, poly, iterations=50, lr=0.03)
    warmup, decay = cfg.param_scheduler
    assert cfg.optim_wrapper.optimizer.type == "SGD" and cfg.optim_wrapper.optimizer.lr == 0.03
    assert (warmup.end, decay.type, decay.end) == (5, "PolyLR", 50)  # the warm-up kept
    assert decay.eta_min == pytest.approx(3e-4)  # the floor keeps its 1% of the peak (config: 1e-4 of 0.01)


def test_a_one_step_warm_up_is_refused_by_name(params):
    with pytest.raises(ValueError, match=r"seg.iterations 4: the warm-up of OneCycleLR"):
        _build(params, ONECYCLE, iterations=4)


def test_a_config_without_seeded_draws_is_refused(params, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(f"_base_ = [{str(REPO / params.seg.config)!r}]\ntrain_dataloader = dict(sampler=dict(type='InfiniteSampler', _delete_=True))\n")
    with pytest.raises(ValueError, match=r"bad\.py: train_dataloader.sampler must be DrawSampler"):
        _build(params, bad)


def test_whole_scenes_larger_than_the_crop_are_refused(params):
    with pytest.raises(ValueError, match=r"seg.crop_size \[32, 64\].*seg.img_scale \[128, 64\].*onecycle"):
        _build(params, ONECYCLE, crop_size=[32, 64], img_scale=[128, 64])
    _build(params, ONECYCLE, crop_size=[64, 128], img_scale=[128, 64])  # holds it


def test_whole_scenes_are_checked_at_their_largest_rescale(params, tmp_path):
    rescaling = tmp_path / "rescaling.py"  # whole scenes resized x1 .. x1.5: the crop must hold x1.5
    rescaling.write_text(f"_base_ = [{str(ONECYCLE)!r}]\ntrain_pipeline = [dict(type='LoadImageFromFile'), "
                         "dict(type='LoadAnnotations'), dict(type='RandomResize', scale=(128, 64), ratio_range=(1.0, 1.5), "
                         "keep_ratio=True), dict(type='PackSegInputs')]\ntrain_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n")
    with pytest.raises(ValueError, match=r"seg.crop_size \[64, 128\]"):
        _build(params, rescaling, crop_size=[64, 128], img_scale=[128, 64])
    _build(params, rescaling, crop_size=[96, 192], img_scale=[128, 64])


def test_the_validation_loss_sees_the_configs_own_resize(params):
    """The second study's fixed 280x560 resize applies to the validation-loss images and labels too."""
    cfg = _build(params, REPO / "configs/unet/unet-s5-d16_fcn_1xb32-990it_stylenorm-study004-256x256.py", crop_size=[256, 256])
    (hook,) = [h for h in cfg.custom_hooks if h["type"] == "LossLogHook"]
    steps = hook["val_dataloader"]["dataset"]["pipeline"]
    assert [s["type"] for s in steps] == ["LoadImageFromFile", "LoadAnnotations", "Resize", "PackSegInputs"]
    assert steps[2]["scale"] == (560, 280) and steps[2]["keep_ratio"] is False


def test_cached_images_give_the_same_samples_and_are_decoded_once(seg_data, monkeypatch):
    from mmcv.transforms import LoadImageFromFile
    from mmengine.config import Config
    from stylenorm.protocols.mixed import Mixed
    from stylenorm.segmentation import StyleNormDataset
    decoded = []
    original = LoadImageFromFile.transform
    monkeypatch.setattr(LoadImageFromFile, "transform", lambda self, r: decoded.append(r["img_path"]) or original(self, r))
    pipeline = Config.fromfile(str(AUGMENTED)).train_pipeline
    sources = Mixed().train_sources("identity", 0, "train")
    plain = StyleNormDataset(sources=sources, pipeline=pipeline, seed=0)
    cached = StyleNormDataset(sources=sources, pipeline=pipeline, seed=0, cache_images=True)
    n = len(plain)
    draws = [3, 1, 3 + n, 1 + 2 * n, 3]  # the same images again, in later epochs: other augmentations
    expected = [plain[d] for d in draws]
    decoded.clear()
    for d, want in zip(draws, expected):
        got = cached[d]
        assert torch.equal(got["inputs"], want["inputs"])
        assert torch.equal(got["data_samples"].gt_sem_seg.data, want["data_samples"].gt_sem_seg.data)
    assert sorted(decoded) == sorted({plain.get_data_info(1)["img_path"], plain.get_data_info(3)["img_path"]})


def test_cached_images_reach_each_draw_unchanged_by_earlier_draws(seg_data):
    """A transform that writes into its input array in place must not reach the cached decode."""
    from mmcv.transforms import BaseTransform
    from mmseg.registry import TRANSFORMS
    from stylenorm.protocols.mixed import Mixed
    from stylenorm.segmentation import StyleNormDataset

    @TRANSFORMS.register_module(force=True)
    class InPlaceBump(BaseTransform):
        def transform(self, results):
            results["img"] += 1  # numpy in place: the very array it was handed
            return results

    pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations"), dict(type="InPlaceBump"),
                dict(type="PackSegInputs")]
    ds = StyleNormDataset(sources=Mixed().train_sources("identity", 0, "train"), pipeline=pipeline, seed=0,
                          cache_images=True)
    first = ds[2]["inputs"]
    assert torch.equal(ds[2]["inputs"], first)


def test_the_loss_log_follows_the_decode_heads_own_loss_terms(seg_data, project, tmp_path):
    """A decode head with cross-entropy and Dice losses logs both, in training and on validation."""
    dice = tmp_path / "dice.py"
    dice.write_text(f"_base_ = [{str(REPO / seg_data.seg.config)!r}]\n"
                    "model = dict(decode_head=dict(loss_decode=[dict(type='CrossEntropyLoss', loss_name='loss_ce'), "
                    "dict(type='DiceLoss', loss_name='loss_dice', loss_weight=0.5)]))\n")
    _train(seg_data, project, "dice", config=str(dice), iterations=2, log_every=1, val_loss_every=1)
    for log in ("train/loss_ce.tsv", "train/loss_dice.tsv", "val/loss_ce.tsv", "val/loss_dice.tsv"):
        assert (project / "dice/work/live/plots/metrics" / log).exists(), log


def test_draws_are_a_function_of_seed_and_draw_number(seg_data):
    """The same draw gives the same augmented sample whatever was drawn before, in any process."""
    from mmengine.config import Config
    from stylenorm.segmentation import StyleNormDataset
    from stylenorm.protocols.mixed import Mixed
    pipeline = Config.fromfile(str(AUGMENTED)).train_pipeline
    ds = StyleNormDataset(sources=Mixed().train_sources("identity", 0, "train"), pipeline=pipeline, seed=0)
    a = ds[5]["inputs"]
    for k in (1, 2, 3):
        ds[k]
    torch.manual_seed(123)
    np.random.seed(123)
    assert torch.equal(ds[5]["inputs"], a)
    assert not torch.equal(ds[5 + len(ds)]["inputs"], a)  # the same image in the next epoch: another augmentation


def test_loader_workers_do_not_change_the_weights(seg_data, project):
    a = _train(seg_data, project, "w0", num_workers=0, iterations=3, val_loss_every=100)
    b = _train(seg_data, project, "w2", num_workers=2, iterations=3, val_loss_every=100)
    _assert_same_weights(a, b)


def test_validation_loss_interval_does_not_change_the_weights(seg_data, project):
    a = _train(seg_data, project, "v1", iterations=3, val_loss_every=1)
    b = _train(seg_data, project, "v100", iterations=3, val_loss_every=100)
    _assert_same_weights(a, b)


def test_resumed_segmenter_ends_with_the_uninterrupted_weights(seg_data, project, capsys):
    # Checkpoints, logs and validation losses every 3 iterations: the run "killed" after 3 resumes there
    # and its logs continue where the uninterrupted run's do.
    every = dict(iterations=6, checkpoint_every=3, log_every=3, val_loss_every=3)
    full = _train(seg_data, project, "full", **every)
    _train(seg_data, project, "res", stop_after=3, **every)
    capsys.readouterr()
    resumed = _train(seg_data, project, "res", **every)
    assert "resuming from" in capsys.readouterr().out
    _assert_same_weights(full, resumed)
    for log in ("train/loss.tsv", "train/loss_ce.tsv", "val/loss_ce.tsv"):  # the Fig.-4 curves survive the resume
        curves = [(project / run / "work/live/plots/metrics" / log).read_text() for run in ("full", "res")]
        assert curves[0] == curves[1] and len(curves[0].splitlines()) > 2, log
    other = _train(seg_data, project, "res", lr=0.05, **every)  # another run: starts afresh
    assert any(not torch.equal(full[k], other[k]) for k in full)


def test_a_kill_between_two_checkpoint_files_resumes_from_the_newest(seg_data, project, capsys):
    """MMEngine deletes the older checkpoint (max_keep_ckpts 1) before it saves the newer one, and names the
    newer one in last_checkpoint only after, so a kill in between leaves last_checkpoint naming a deleted
    file (seen once in the end-to-end SIGKILL test). The resume takes the newest checkpoint on disk if it
    loads whole, else the run starts afresh; either way it ends with the uninterrupted run's weights."""
    every = dict(iterations=9, checkpoint_every=3, log_every=3, val_loss_every=3)
    full = _train(seg_data, project, "full", **every)
    _train(seg_data, project, "res", stop_after=6, **every)
    work = project / "res" / "work"
    assert (work / "iter_6.pth").exists() and not (work / "iter_3.pth").exists()
    (work / "last_checkpoint").write_text(str(work / "iter_3.pth"))  # the state a kill in between leaves
    capsys.readouterr()
    resumed = _train(seg_data, project, "res", **every)
    assert f"resuming from {work / 'iter_6.pth'}" in capsys.readouterr().out
    _assert_same_weights(full, resumed)
    # killed while the newer checkpoint was being written: it is cut short, so the run starts afresh
    shutil.rmtree(work)
    _train(seg_data, project, "res", stop_after=6, **every)
    (work / "iter_6.pth").write_bytes((work / "iter_6.pth").read_bytes()[:1000])
    (work / "last_checkpoint").write_text(str(work / "iter_3.pth"))
    capsys.readouterr()
    again = _train(seg_data, project, "res", **every)
    assert "resuming from" not in capsys.readouterr().out
    _assert_same_weights(full, again)


def test_prediction_that_misses_its_label_size_is_an_error(seg_data, project, tmp_path):
    from stylenorm.evaluation import evaluate_sets
    from stylenorm.protocols.mixed import Mixed
    protocol = Mixed()
    sets = protocol.test_sets("identity", 0)

    def short(image_path):  # a prediction one column narrower than the image
        h, w = np.asarray(Image.open(image_path)).shape[:2]
        return np.zeros((h, w - 1), dtype=np.uint8)

    with pytest.raises(ValueError, match=r"cityscapes/images/.*\.png: prediction is \d+x\d+ but its label .* is \d+x\d+"):
        evaluate_sets(short, sets, tmp_path)
    results = evaluate_sets(short, sets, tmp_path, resize_predictions=True, pooled=protocol.pooled)  # upsample: none allows it
    assert set(results["mIoU"]) == {"cityscapes", "gta5_normalized", "pooled", "average"}


def test_per_image_sums_equal_the_confusion_matrix(seg_data, tmp_path):
    from stylenorm.evaluation import evaluate_sets, intersection_union
    from stylenorm.protocols.mixed import Mixed
    rng = np.random.default_rng(0)

    def noisy(image_path):
        h, w = np.asarray(Image.open(image_path)).shape[:2]
        return rng.integers(0, 19, (h, w)).astype(np.uint8)

    evaluate_sets(noisy, Mixed().test_sets("identity", 0), tmp_path)
    for name in ("cityscapes", "gta5_normalized"):
        with np.load(tmp_path / f"per_image_{name}.npz") as z:
            inter, union = intersection_union(np.load(tmp_path / f"confusion_{name}.npy"))
            np.testing.assert_array_equal(z["intersection"].sum(0), inter)
            np.testing.assert_array_equal(z["union"].sum(0), union)


def _seg_ddp_worker(rank, world, port, root, params):
    os.chdir(root)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    # MMEngine's `pytorch` launcher calls torch.cuda.set_device; on CPU we initialise the group
    # ourselves and the Runner then skips its own initialisation.
    dist.init_process_group("gloo", rank=rank, world_size=world)
    from mmengine.runner import Runner

    from stylenorm.segmentation import build_config
    from stylenorm.protocols.mixed import Mixed
    seg = dataclasses.replace(params.seg, iterations=3, val_loss_every=100)
    cfg = build_config(seg, train_sources=Mixed().train_sources("identity", 0, "train"), val_sources=Mixed().train_sources("identity", 0, "val"),
                       seed=0, device="cpu", num_workers=0, work_dir=root / "ddp_work", live_dir=root / "ddp_live")
    runner = Runner.from_cfg(cfg)
    runner.train()
    torch.save(runner.model.module.state_dict(), root / f"seg_rank{rank}.pt")
    dist.destroy_process_group()


def test_ddp_two_cpu_processes_train_identical_segmenters(seg_data, project):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_seg_ddp_worker, args=(2, port, project, seg_data), nprocs=2, join=True)
    w0, w1 = (torch.load(project / f"seg_rank{r}.pt") for r in (0, 1))
    weights = [k for k in w0 if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    for k in weights:  # gradients are averaged, so parameters agree (BN running statistics are per rank)
        torch.testing.assert_close(w0[k], w1[k], rtol=0, atol=0, msg=k)
