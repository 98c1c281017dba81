# Benchmark candidate (benchmarks/bench_seg_candidates.py, issue 18): the output-stride-8 CPU DeepLabv3+
# (deeplabv3plus_r18-d8_..._64x128) trained on whole scenes at seg.img_scale, flip only, as the nocrop
# config (RandomResize of ratio 1, so build_config writes seg.img_scale into it; seg.crop_size must hold
# the resized scene). Not the default.
_base_ = ['./deeplabv3plus_r18-d8_1xb16-cpu_stylenorm-64x128.py']
img_scale = (128, 64)  # (w, h)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=img_scale, ratio_range=(1.0, 1.0), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
