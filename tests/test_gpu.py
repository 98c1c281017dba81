"""What only a GPU shows, and the GPU check's own scripts.

Tests marked ``gpu`` need a CUDA device: they are deselected by default (pyproject's addopts) and
skipped without one; ``scripts/gpu/check.sh`` runs them on a GPU machine (``pytest -m gpu``):
device placement of every model and batch, bf16 autocast against fp32, SyncBN built under DDP,
translators and a segmenter resumed on the GPU, and the tiny profile's ``dvc repro`` there. The unmarked tests check the
check itself on CPU: its argument parsing, the wheels it carries, and the report it renders.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = torch.device("cuda")


def _on_cuda(module: torch.nn.Module) -> bool:
    tensors = list(module.parameters()) + list(module.buffers())
    return bool(tensors) and all(t.device.type == "cuda" for t in tensors)


def _seg_config(params, root: Path, name: str, **seg_changes):
    from stylenorm.protocols.mixed import Mixed
    from stylenorm.segmentation import build_config
    seg = dataclasses.replace(params.seg, **seg_changes)
    return build_config(seg, train_sources=Mixed().train_sources("identity", 0, "train"),
                        val_sources=Mixed().train_sources("identity", 0, "val"), seed=0, device="cuda", num_workers=0,
                        work_dir=root / name / "work", live_dir=root / name / "work" / "live")


@pytest.fixture
def gpu_data(project, params):
    from tests.test_segmentation import _data_stages
    _data_stages(params)
    return params


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("name", ["unit", "cyclegan"])
def test_translators_train_and_keep_everything_on_the_gpu(name, params):
    from stylenorm.normalizers.cyclegan.model import CycleGANModel
    from stylenorm.normalizers.unit.model import UNITModel
    model_cls = {"unit": UNITModel, "cyclegan": CycleGANModel}[name]
    cfg = params.normalizer(name).fit
    model = model_cls(cfg, CUDA, seed=0)
    real = [torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size) * 2 - 1 for _ in "AB"]  # CPU, as a loader gives them
    model.set_input(*real)
    model.optimize_parameters()
    assert model.real_A.device.type == model.real_B.device.type == "cuda"
    assert _on_cuda(model.netG) and _on_cuda(model.netD)
    for opt in (model.optimizer_G, model.optimizer_D):
        states = [t for s in opt.state.values() for t in s.values() if torch.is_tensor(t) and t.dim() > 0]
        assert states and all(t.device.type == "cuda" for t in states)
    assert all(torch.isfinite(v).all() for v in model.losses.values())


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("name", ["unit", "cyclegan"])
def test_translator_fit_resumes_on_the_gpu(name, params, project, capsys):
    """A fit stopped after a checkpoint resumes on the GPU: the checkpoint is loaded onto the GPU, and the
    random-generator states inside it (the latent noise, the image pools' draws) must be set back as the
    CPU bytes torch wants. It ends where an uninterrupted run ends, up to the GPU's own run-to-run spread."""
    from stylenorm.normalizers.cyclegan.model import CycleGANModel
    from stylenorm.translators.train import train_translator
    from stylenorm.normalizers.unit.model import UNITModel
    from tests.test_translator import _train_paths
    model_cls = {"unit": UNITModel, "cyclegan": CycleGANModel}[name]
    cfg = dataclasses.replace(params.normalizer(name).fit, iterations=8, checkpoint_every=3)
    paths_A, paths_B = _train_paths(project)
    common = dict(name=name, paths_A=paths_A, paths_B=paths_B, seed=0, device="cuda", progress=False)

    def fit(run: str, **kw):
        return train_translator(model_cls, cfg, model_path=project / run / "model.pt", ckpt_dir=project / run / "ckpt",
                                live_dir=project / run / "live", **common, **kw)
    full, twin = fit("full"), fit("twin")
    fit("res", stop_after=5)  # stopped at step 5; the last checkpoint is step 3's
    capsys.readouterr()
    resumed = fit("res")
    assert "at step 3/8" in capsys.readouterr().out  # it did resume, not retrain from step 0
    assert (project / "res" / "model.pt").exists() and _on_cuda(resumed.netG)
    ref = full.netG.state_dict()

    def gap(model) -> float:
        return max(float((v.float() - ref[k].float()).abs().max()) for k, v in model.netG.state_dict().items())
    print(f"{name}: max |weight difference| from an uninterrupted run: twin {gap(twin):.3g}, resumed {gap(resumed):.3g}")
    assert gap(resumed) <= max(4 * gap(twin), 1e-6)


@pytest.mark.gpu
@needs_cuda
def test_segmenter_batches_and_weights_live_on_the_gpu_and_evaluate_there(gpu_data, project):
    from mmengine.runner import Runner
    from PIL import Image

    from stylenorm import paths
    from stylenorm.segmentation import load_segmenter, predict, train_segmenter
    cfg = _seg_config(gpu_data, project, "place", iterations=2, val_loss_every=2)
    path = train_segmenter(cfg, project / "place" / "model")
    model = load_segmenter(path.parent, "cuda")
    assert _on_cuda(model)
    image = paths.split_image_paths("cityscapes", "test")[0]
    pred = predict(model, image)
    assert pred.shape == tuple(reversed(Image.open(image).size))
    runner = Runner.from_cfg(_seg_config(gpu_data, project, "batch", iterations=1))
    batch = next(iter(runner.train_dataloader))
    data = runner.model.data_preprocessor(batch, True)
    assert data["inputs"].device.type == "cuda" and data["data_samples"][0].gt_sem_seg.data.device.type == "cuda"
    assert _on_cuda(runner.model)


@pytest.mark.gpu
@needs_cuda
def test_bf16_autocast_runs_in_bf16_and_tracks_fp32(gpu_data, project, params):
    from mmengine.runner import Runner

    from stylenorm.normalizers.unit.model import UNITModel
    # the segmenter: the pipeline's AutocastOptimWrapper puts the convolutions in bf16 on the GPU,
    # and the loss of one batch stays within 3% of fp32's on the same weights
    losses, dtypes, init = {}, {}, {}
    for precision in ("fp32", "bf16"):
        runner = Runner.from_cfg(_seg_config(gpu_data, project, f"ac_{precision}", iterations=1, precision=precision))
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        init[precision] = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
        seen = []
        conv = next(m for m in runner.model.modules() if isinstance(m, torch.nn.Conv2d))
        handle = conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
        batch = next(iter(runner.train_dataloader))
        torch.manual_seed(0)
        with torch.no_grad(), runner.optim_wrapper.optim_context(runner.model):
            data = runner.model.data_preprocessor(batch, True)
            out = runner.model(**data, mode="loss")
        handle.remove()
        losses[precision] = float(out["decode.loss_ce"])
        dtypes[precision] = seen[0]
    assert all(torch.equal(init["fp32"][k], v) for k, v in init["bf16"].items())  # one seeded initialisation
    assert dtypes == {"fp32": torch.float32, "bf16": torch.bfloat16}
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.03)
    # UNIT: three steps from the same initialisation and inputs, fp32 against bf16
    cfg = params.normalizer("unit").fit
    g = torch.Generator().manual_seed(0)
    real = [torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1 for _ in "AB"]
    runs = {}
    for precision in ("fp32", "bf16"):
        model = UNITModel(dataclasses.replace(cfg, precision=precision), CUDA, seed=0)
        for _ in range(3):
            model.set_input(*real)
            model.optimize_parameters()
        runs[precision] = {k: float(v) for k, v in model.losses.items()}, model.out["fake_B"].dtype
    print("segmenter loss_ce", losses, "UNIT losses", {p: r[0] for p, r in runs.items()})
    assert runs["bf16"][1] == torch.bfloat16 and runs["fp32"][1] == torch.float32
    for key in ("loss_rec_A", "loss_rec_B", "loss_G"):
        assert runs["bf16"][0][key] == pytest.approx(runs["fp32"][0][key], rel=0.1), key


def _syncbn_worker(rank, port, root, params, result):
    os.chdir(root)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK="0", LOCAL_RANK="0")
    from mmengine.model import MMDistributedDataParallel
    from mmengine.runner import Runner
    os.environ["WORLD_SIZE"] = "2"  # build_config as a rank of a multi-GPU run builds it ...
    cfg = _seg_config(params, root, "ddp", iterations=2, val_loss_every=2, checkpoint_every=2)
    os.environ["WORLD_SIZE"] = "1"  # ... then run it as a group of one on the one GPU (nccl)
    runner = Runner.from_cfg(cfg)
    runner.train()
    modules = list(runner.model.modules())
    Path(result).write_text(json.dumps(dict(
        launcher=cfg.launcher, sync_bn=cfg.get("sync_bn"), ddp=isinstance(runner.model, MMDistributedDataParallel),
        backend=torch.distributed.get_backend(), on_cuda=_on_cuda(runner.model),
        syncbn=sum(isinstance(m, torch.nn.SyncBatchNorm) for m in modules),
        plain_bn=sum(type(m) is torch.nn.BatchNorm2d for m in modules))))
    torch.distributed.destroy_process_group()


@pytest.mark.gpu
@needs_cuda
def test_syncbn_is_built_under_ddp_on_the_gpu(gpu_data, project, tmp_path):
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = tmp_path / "ddp.json"
    mp.spawn(_syncbn_worker, args=(port, project, gpu_data, str(result)), nprocs=1, join=True)
    got = json.loads(result.read_text())
    assert got["launcher"] == "pytorch" and got["sync_bn"] == "torch" and got["ddp"] and got["backend"] == "nccl"
    assert got["on_cuda"] and got["syncbn"] > 0 and got["plain_bn"] == 0, got


@pytest.mark.gpu
@needs_cuda
def test_segmenter_resumes_on_the_gpu(gpu_data, project, capsys):
    """A cell stopped halfway and resumed on the GPU, against the same cell trained twice without a stop:
    the resumed weights differ from the uninterrupted ones by no more than two uninterrupted GPU runs
    differ from each other (bit for bit when the GPU's kernels are deterministic)."""
    from stylenorm.segmentation import train_segmenter
    runs = {}
    for name, stop in (("full", None), ("twin", None), ("resumed", gpu_data.seg.iterations // 2)):
        if stop:
            train_segmenter(_seg_config(gpu_data, project, name), project / name / "model", stop_after=stop)
            capsys.readouterr()
        path = train_segmenter(_seg_config(gpu_data, project, name), project / name / "model")
        if stop:
            assert "resuming from" in capsys.readouterr().out  # it did resume, not retrain from iteration 0
        runs[name] = torch.load(path, weights_only=False)["state_dict"]
    full = runs["full"]
    # trainable weights only: BN running statistics amplify the GPU's run-to-run noise (an H200 run of
    # ad78405 measured max |difference| 23 between two uninterrupted runs by that measure)
    keys = [k for k in full if full[k].is_floating_point() and not k.endswith(("running_mean", "running_var"))]
    norm = sum(float(full[k].float().pow(2).sum()) for k in keys) ** 0.5

    def gap(a: dict) -> float:  # relative L2 distance to the uninterrupted run
        return sum(float((a[k].float() - full[k].float()).pow(2).sum()) for k in keys) ** 0.5 / norm
    twin, resumed = gap(runs["twin"]), gap(runs["resumed"])
    print(f"segmenter: relative L2 distance of the weights from an uninterrupted run: twin {twin:.3g}, resumed {resumed:.3g}")
    assert resumed <= max(4 * twin, 1e-6), (twin, resumed)


@pytest.mark.gpu
@needs_cuda
def test_tiny_repro_on_the_gpu(tmp_path):
    """`dvc repro` of the tiny profile with ``base.device: cuda``: every stage runs on the GPU machine and
    every cell's metrics come out (the translator ran on cuda)."""
    from stylenorm import paths
    from tests.conftest import copy_project
    from tests.conftest import dvc, edit_params, run
    from tests.test_pipeline import GRID
    root = copy_project(tmp_path / "repo")
    edit_params(root, lambda p: p["base"].update(device="cuda"))
    (root / ".dvc").mkdir()
    for name in ("config", ".gitignore"):
        (root / ".dvc" / name).write_text((REPO / ".dvc" / name).read_text())
    if shutil.which("git"):
        run(["git", "init", "-q"], root)
        run(["git", "add", "-A"], root)
        run(["git", "commit", "-qm", "tiny project"], root)
    else:  # a bare GPU image may lack git: DVC runs without an SCM then
        with open(root / ".dvc" / "config", "a") as f:
            f.write("\n[core]\n    no_scm = true\n")
    dvc("repro", cwd=root)
    for name, seed in GRID:
        metrics = json.loads((root / paths.eval_metrics_path("mixed", name, seed)).read_text())
        assert 0 < metrics["mIoU"]["cityscapes"] <= 1, (name, seed)
    normalized = json.loads((root / "metrics" / "normalize" / "unit-seed0-gta5.json").read_text())
    assert normalized["device"].startswith("cuda"), normalized


# --------------------------------------------------------------------------- the check itself, on CPU
def _bench_gpu():
    """benchmarks/bench_gpu.py as a module (benchmarks/ is a folder of scripts, not a package)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import bench_gpu
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return bench_gpu


def test_check_script_refuses_bad_arguments_before_doing_anything(tmp_path):
    script = REPO / "scripts" / "gpu" / "check.sh"
    env = dict(os.environ, OUT=str(tmp_path / "out"))
    for args, message in ((["--pairs", "many"], "--pairs takes a whole number"), (["--skip", "tests,cake"], "unknown section 'cake'"),
                          (["--frobnicate"], "unknown argument")):
        proc = subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
        assert not (tmp_path / "out").exists()  # refused before writing anything
    helped = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "pytest -m gpu" in helped.stdout and "--pairs" in helped.stdout


def test_bench_gpu_refuses_bad_arguments():
    bench_gpu = _bench_gpu()
    assert bench_gpu.parse_args(["--json", "x"]).sections == list(bench_gpu.SECTIONS)
    for argv in (["--sections", "seg,warp", "--json", "x"], ["--iters", "5", "--warmup", "4", "--json", "x"], []):
        with pytest.raises(SystemExit):
            bench_gpu.parse_args(argv)


def test_carried_wheels_fit_one_device_call_with_the_working_tree():
    """scripts/gpu/wheels.txt (what wheels.sh fetches) + the tracked files must travel in one call (64 MiB),
    and every carried pin is the lock's: a lock bump without refreshing the list fails here."""
    listed = [line.split("\t") for line in (REPO / "scripts" / "gpu" / "wheels.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    carried = sum(int(size) for _, size, _ in listed)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True).stdout.split("\0")
    tree = sum((REPO / f).stat().st_size for f in tracked if f and (REPO / f).is_file())
    # room for a prebuilt mmcv wheel too (check.sh uses .gpu/mmcv-torch<version>/ when present): 31.0 MiB for
    # CPython 3.12 and torch 2.11, as built for the H200 runs
    mmcv_wheel = 32 * 2**20
    assert carried + tree + mmcv_wheel <= 64 * 2**20, f"{carried / 2**20:.1f} MiB carried + {tree / 2**20:.1f} MiB tree"
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[name.lower().replace("_", "-").replace(".", "-")] = version
    assert any(path.startswith("mmcv-") and path.endswith(".tar.gz") for path, _, _ in listed)
    for path, _, _ in listed:
        stem = Path(path).name
        name, version = stem.split("-")[:2] if stem.endswith(".whl") else stem.removesuffix(".tar.gz").rsplit("-", 1)
        key = name.lower().replace("_", "-").replace(".", "-")
        assert lock.get(key) == version, f"{path}: requirements.lock pins {key}=={lock.get(key)}"


def test_rendered_report_names_the_card_and_estimates_the_grid():
    bench_gpu = _bench_gpu()
    fig = dict(device="Card X", torch="2.11", cuda="13.0", commit="abc", date="2026-01-01", command="cmd",
               study=dict(normalizers=["identity", "unit"], seeds=[0, 1, 2]), test_images_per_cell=400, images_to_normalize=2000,
               seg=dict(config="c.py", crop=[512, 1024], batch=2, channels_last=True, iterations=40000,
                        fp32=dict(pipeline_s_per_it=0.36, stock_s_per_it=0.35, ratio=0.36 / 0.35),
                        bf16=dict(pipeline_s_per_it=0.18, stock_s_per_it=0.18, ratio=1.0)),
               translators={"unit fp32": dict(s_per_step=0.36, crop=512, batch=1, params=1, iterations=1_000_000),
                            "unit bf16": dict(s_per_step=0.18, crop=512, batch=1, params=1, iterations=1_000_000),
                            "unit translate": dict(images_per_s=20.0, size=[1914, 1052], new_size=512)},
               evaluate=dict(image_size=[2048, 1024], images=20, fp32=dict(images_per_s=4.0), bf16=dict(images_per_s=8.0)))
    rows = {r["precision"]: r for r in bench_gpu.estimate(fig)}
    # fp32: fit 1e6 * 0.36 s = 100 h; normalize 2000 / 20 = 100 s; a cell 40000 * 0.36 = 4 h + 400 / 4 = 100 s
    assert rows["fp32"]["unit_fit_h"] == pytest.approx(100.0)
    assert rows["fp32"]["one_gpu_h"] == pytest.approx(100 + 100 / 3600 + 6 * (4 + 100 / 3600))
    assert rows["fp32"]["eight_gpus_h"] == pytest.approx(100 + 100 / 3600 + 4 + 100 / 3600)
    text = bench_gpu.render(fig)
    assert "Card X" in text and "`abc`" in text and "| fp32 | 0.3600 | 2.78 | 0.3500 | 1.029 |" in text
    # a run cut short by its deadline: the finished runs are shown, the grid is not estimated
    fig["seg"] = dict(fig["seg"], runs=[dict(kind="stock", precision="fp32", round=0, median_s_per_it=0.111,
                                             timed_iterations=8, wall_s=107.0)])
    del fig["seg"]["fp32"], fig["seg"]["bf16"]
    text = bench_gpu.render(fig)
    assert bench_gpu.estimate(fig) == [] and "| fp32 | not finished |" in text and "stock fp32 0.1110 s/it (107 s)" in text


def test_bench_gpu_runs_every_section_on_cpu(gpu_data, project, tmp_path):
    """The device run is one go of a few minutes: every section's code path runs here first, at the tiny
    profile's sizes, and writes the figures the docs render."""
    bench_gpu = _bench_gpu()
    out = tmp_path / "gpu.json"
    bench_gpu.main(["--device", "cpu", "--iters", "3", "--warmup", "1", "--rounds", "1", "--steps", "1", "--eval-images", "2",
                    "--matmul-n", "64", "--commit", "abc", "--json", str(out), "--write-md", str(tmp_path / "gpu.md")])
    fig = json.loads(out.read_text())
    assert set(bench_gpu.SECTIONS) <= set(fig)
    assert fig["seg"]["fp32"]["timed_iterations"] == 2 and fig["seg"]["bf16"]["ratio"] > 0 and len(fig["seg"]["runs"]) == 4
    assert {"unit fp32", "unit bf16", "cyclegan fp32", "cyclegan bf16", "unit translate"} <= set(fig["translators"])
    assert fig["evaluate"]["images"] == 2 and fig["evaluate"]["fp32"]["images_per_s"] > 0
    assert (tmp_path / "gpu.md").read_text() == bench_gpu.render(fig) and len(bench_gpu.estimate(fig)) == 2
