# This project's unified two-domain data: Cityscapes + GTA5 (raw or translated) train lists,
# each domain's test list for evaluation. Both domains pass through the same transforms.
# `sources` entries name a domain, a split and where its images live; labels always come
# from data/unified/<domain>/labels (train ids, 255 ignore). stages/train_seg.py fills them in.
dataset_type = 'StyleNormDataset'
crop_size = (512, 1024)  # (h, w)
img_scale = (2048, 1024)  # (w, h) the random resize is relative to
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),  # after Resize: scored against the full-size ground truth
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DrawSampler'),  # endless, seeded draws (stylenorm.segmentation); build_config sets the seed
    dataset=dict(
        type=dataset_type,
        sources=[
            dict(domain='cityscapes', split='train', images='data/sampled/cityscapes/images'),
            dict(domain='gta5', split='train', images='data/sampled/gta5/images'),
        ],
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        sources=[dict(domain='cityscapes', split='test', images='data/sampled/cityscapes/images')],
        pipeline=test_pipeline,
        test_mode=True))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
