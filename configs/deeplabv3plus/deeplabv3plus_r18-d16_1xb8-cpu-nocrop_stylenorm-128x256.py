# Benchmark candidate (benchmarks/bench_seg_candidates.py, issue 18): the CPU DeepLabv3+ config trained on
# whole scenes at seg.img_scale (no random rescale, no crop, no photometric distortion; a horizontal flip
# only), as scripts/domain_gap.py's small FCN is. The resize is a RandomResize of ratio 1 so that
# build_config writes seg.img_scale into it; seg.crop_size must hold the resized scene ([h, w] of
# img_scale's [w, h]). Not the default.
_base_ = ['./deeplabv3plus_r18-d16_1xb8-cpu_stylenorm-128x256.py']
img_scale = (256, 128)  # (w, h)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=img_scale, ratio_range=(1.0, 1.0), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
