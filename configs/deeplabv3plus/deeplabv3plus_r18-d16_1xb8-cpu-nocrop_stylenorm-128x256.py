# Benchmark candidate (benchmarks/bench_seg_candidates.py, issue 18): the CPU DeepLabv3+ config trained on
# whole scenes resized to 256x128 (no random rescale, no crop, no photometric distortion; a
# horizontal flip only), as scripts/domain_gap.py's small FCN is. Not the default.
_base_ = ['./deeplabv3plus_r18-d16_1xb8-cpu_stylenorm-128x256.py']
img_scale = (256, 128)  # (w, h); build_config writes seg.img_scale into RandomResize and the test Resize only: keep them equal
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
